"""quiet_tensorflow_logs: TensorFlow's chatter is filtered, nothing else is."""

import re
import subprocess
import sys
import textwrap

import pytest

from t2r import quiet_logs

_CPP_LINE = re.compile(r'^[IWE]\d{4} ', re.MULTILINE)

# Writes a fake absl C++ info line and a cuInit error straight to fd 2 (as
# TensorFlow's C++ code does), then a line of its own, then fails.
_PROGRAM = textwrap.dedent("""
    import os, sys
    from t2r import quiet_logs
    print('filtered', quiet_logs.quiet_tensorflow_logs(), flush=True)
    os.write(2, b'I1201 12:00:00.123456    42 port.cc:153] chatter\\n')
    os.write(2, b'W0000 00:00:1796188317.674671 42 local_rendezvous.cc:412] '
                b'aborting\\n\\t [[{{node continuation}}]]\\n')
    os.write(2, b'E0000 00:00:1796160952.424966 6681 cuda_platform.cc:52] '
                b'failed call to cuInit: INTERNAL\\n')
    os.write(2, b'E0000 00:00:1796324633.828516 10492 util.cc:131] oneDNN '
                b'supports DT_BOOL only on platforms with AVX-512. Falling '
                b'back to the default Eigen-based implementation if '
                b'present.\\n')
    os.write(2, b'E1201 12:00:00.123456    42 real.cc:1] a real error\\n')
    os.write(2, b'\\tan indented line of its own\\n')
    print('job line', file=sys.stderr, flush=True)
    raise ValueError('boom')
""")


def _run(program, *args, env=None):
  return subprocess.run([sys.executable, '-c', program, *args],
                        capture_output=True, text=True, timeout=120, env=env,
                        check=False)


def test_cpp_chatter_is_dropped_and_everything_else_kept():
  result = _run(_PROGRAM)
  assert result.returncode == 1
  assert 'filtered True' in result.stdout
  assert 'chatter' not in result.stderr
  assert 'continuation' not in result.stderr
  assert 'an indented line of its own' in result.stderr
  assert 'cuInit' not in result.stderr
  assert 'DT_BOOL' not in result.stderr
  assert 'a real error' in result.stderr
  assert 'job line' in result.stderr
  assert 'ValueError: boom' in result.stderr


@pytest.mark.parametrize('flag', ['--verbosity=0', '-v', '--v=1'])
def test_a_verbosity_flag_keeps_every_line(flag):
  result = _run(_PROGRAM, flag)
  assert 'filtered False' in result.stdout
  assert 'chatter' in result.stderr and 'cuInit' in result.stderr


def test_tensorflow_import_and_ops_print_no_cpp_lines():
  result = _run(textwrap.dedent("""
      from t2r import quiet_logs
      quiet_logs.quiet_tensorflow_logs()
      import tensorflow as tf
      print(int(tf.constant(1) + 1))
  """))
  assert result.returncode == 0, result.stderr
  assert result.stdout.strip() == '2'
  assert not _CPP_LINE.search(result.stderr), result.stderr


@pytest.mark.parametrize('argv,expected', [
    (['job'], False),
    (['job', '--verbosity', '1'], True),
    (['job', '--verbosity=-1'], True),
    (['job', '-v', '0'], True),
    (['job', '--gin_bindings=v=1'], False),
    (['job', '--v'], True),
])
def test_verbose_requested(argv, expected):
  assert quiet_logs.verbose_requested(argv) is expected


def test_tensorflow_python_warnings_are_dropped_and_own_warnings_kept():
  result = _run(textwrap.dedent("""
      from t2r import quiet_logs
      quiet_logs.quiet_tensorflow_logs()
      from absl import logging
      from tensorflow.core.function.polymorphism import function_type
      function_type.sanitize_arg_name('state/image')
      logging.warning('own warning')
  """))
  assert result.returncode == 0, result.stderr
  assert 'Sanitizing' not in result.stderr
  assert 'own warning' in result.stderr
