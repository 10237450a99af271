"""Regenerates `t2r/proto/t2r_pb2.py` from `proto/t2r.proto` with grpcio-tools.

Users never need this: the generated module is committed. Run it after
editing the .proto (needs the `dev` extra):

  python -m t2r.proto.regenerate
"""

import os
import shutil
import subprocess
import sys
import tempfile

_REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
PROTO_DIR = os.path.join(_REPO_ROOT, 'proto')
GENERATED_MODULE = os.path.join(_REPO_ROOT, 't2r', 'proto', 't2r_pb2.py')


def generate(output_dir: str) -> str:
  """Compiles proto/t2r.proto into `output_dir` and returns the module path.

  Raises:
    RuntimeError: If protoc reports an error.
  """
  # protoc runs in its own process: its bundled protobuf C++ runtime crashes
  # when loaded into a process that already holds TensorFlow's.
  result = subprocess.run([
      sys.executable, '-m', 'grpc_tools.protoc', f'-I{PROTO_DIR}',
      f'--python_out={output_dir}',
      os.path.join(PROTO_DIR, 't2r.proto')
  ], capture_output=True, text=True, check=False)
  if result.returncode != 0:
    raise RuntimeError(
        f'protoc failed with status {result.returncode} on '
        f'{os.path.join(PROTO_DIR, "t2r.proto")}: {result.stderr.strip()} '
        '(is grpcio-tools installed? `pip install -e ".[dev]"`)')
  return os.path.join(output_dir, 't2r_pb2.py')


def main():
  with tempfile.TemporaryDirectory() as tmp:
    shutil.copyfile(generate(tmp), GENERATED_MODULE)
  print(f'Wrote {GENERATED_MODULE}')


if __name__ == '__main__':
  sys.exit(main())
