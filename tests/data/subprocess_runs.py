"""Runs test code in a fresh Python process.

A segfault or a hang there fails the test (with the child's output) instead
of killing or blocking pytest.
"""

import os
import subprocess
import sys
import textwrap

_HERE = os.path.dirname(os.path.abspath(__file__))
_ROOT = os.path.dirname(os.path.dirname(_HERE))


def run_python(code: str, timeout_secs: float = 120,
               returncode: int = 0) -> subprocess.CompletedProcess:
  """Runs `code` (this directory importable); returns the finished process.

  Raises:
    AssertionError: If the process does not exit with `returncode` within
      `timeout_secs` (a crash shows as a negative code, the signal).
  """
  environ = dict(os.environ, CUDA_VISIBLE_DEVICES='', TF_CPP_MIN_LOG_LEVEL='2')
  environ['PYTHONPATH'] = os.pathsep.join(
      p for p in (_ROOT, _HERE, environ.get('PYTHONPATH')) if p)
  try:
    result = subprocess.run(
        [sys.executable, '-c', textwrap.dedent(code)], capture_output=True,
        text=True, timeout=timeout_secs, env=environ, check=False)
  except subprocess.TimeoutExpired as e:
    raise AssertionError(
        f'The child process did not exit within {timeout_secs}s (it hangs). '
        f'Output:\n{e.stdout}\n{e.stderr}') from e
  assert result.returncode == returncode, (
      f'The child process exited with code {result.returncode} (negative: '
      f'killed by that signal, -11 a segfault). Output:\n{result.stdout}\n'
      f'{result.stderr[-5000:]}')
  return result
