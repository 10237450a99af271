"""Running t2r-train in subprocesses for the kill and multi-worker tests."""

import os
import socket
import subprocess
import sys

import tensorflow as tf

_HERE = os.path.dirname(os.path.abspath(__file__))


def write_gin(path, lines):
  """Writes a gin config of `lines` (tiny_model importable) to `path`."""
  with open(path, 'w') as f:
    f.write('\n'.join(['import tiny_model'] + list(lines)) + '\n')
  return str(path)


def start_trainer(gin_file, log_path, **env):
  """Starts `python -m t2r.bin.run_t2r_trainer` on `gin_file`."""
  environ = dict(os.environ, **env)
  environ['PYTHONPATH'] = os.pathsep.join(
      p for p in (_HERE, environ.get('PYTHONPATH')) if p)
  environ['CUDA_VISIBLE_DEVICES'] = ''
  environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
  with open(log_path, 'w') as log:
    return subprocess.Popen(
        [sys.executable, '-m', 't2r.bin.run_t2r_trainer',
         f'--gin_configs={gin_file}'],
        stdout=log, stderr=subprocess.STDOUT, env=environ)


def free_ports(count):
  """`count` distinct free TCP ports on 127.0.0.1."""
  sockets = [socket.socket() for _ in range(count)]
  try:
    for s in sockets:
      s.bind(('127.0.0.1', 0))
    return [s.getsockname()[1] for s in sockets]
  finally:
    for s in sockets:
      s.close()


def checkpoint_step(model_dir):
  """The global step of model_dir's latest checkpoint, or None."""
  latest = tf.train.latest_checkpoint(str(model_dir))
  if latest is None:
    return None
  return int(tf.train.load_variable(
      latest, 'optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE'))
