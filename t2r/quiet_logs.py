"""Quiet TensorFlow's log chatter in t2r's command-line jobs.

A healthy CPU run of TensorFlow 2.21 prints dozens of C++ log lines that
look alarming or say nothing to a user: `E0000 ... failed call to cuInit`
on every machine without a GPU, `E0000 ... oneDNN supports DT_BOOL only on
platforms with AVX-512` (a fallback notice, not an error; also DT_INT64),
`I0000 ... Sharding callback duration` on
every checkpoint, oneDNN notices at import, and Python warnings such as the
renaming of `state/image` to `state_image` in every export signature (and
pybullet's build-date banner). The
C++ lines come from absl's C++ logging before `absl::InitializeLog()`;
TensorFlow 2.21 no longer honours `TF_CPP_MIN_LOG_LEVEL` for them and offers
no API to silence them, so `quiet_tensorflow_logs` filters file descriptor 2
through a small child process that drops exactly those lines (the child
outlives a crash of the job, so nothing else written to stderr is lost).

Entry points call it before TensorFlow is imported. It does nothing when the
user asks for logs with an absl `--verbosity` / `-v` flag on the command
line (`--verbosity=-1` shows everything and keeps absl's default level).

Example (the first lines of an entry module):
  if __name__ == '__main__':
    from t2r import quiet_logs
    quiet_logs.quiet_tensorflow_logs()
"""

import atexit
import logging
import os
import re
import subprocess
import sys
from typing import Optional, Sequence

# absl C++ log lines: severity letter, MMDD, time, thread id, file:line].
_CPP_LOG_LINE = r"[IW]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [^ \]]+:\d+\] "
# Error-level C++ lines that every healthy CPU-only run prints.
_BENIGN_CPP_ERRORS = (r'E\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [^ \]]+:\d+\] '
                      r'(?:failed call to cuInit|oneDNN supports DT_[A-Z0-9]+ '
                      r'only on platforms with AVX-512)')
_ABSL_BANNER = (r'WARNING: All log messages before absl::InitializeLog\(\) '
                r'is called are written to STDERR')
# The second line of TensorFlow's CPU-instructions notice.
_CPU_FEATURE_NOTICE = r'To enable the following instructions: .* rebuild Tens'
# pybullet's C code prints its build date at import.
_PYBULLET_BANNER = r'pybullet build time: '
DROPPED_LINE = re.compile(
    f'^(?:{_CPP_LOG_LINE}|{_BENIGN_CPP_ERRORS}|{_ABSL_BANNER}$|'
    f'{_CPU_FEATURE_NOTICE}|{_PYBULLET_BANNER})'.encode())

# The child process: copies stdin to stdout line by line, minus DROPPED_LINE
# and the tab-indented continuation lines of a dropped C++ log line (e.g. the
# '\t [[{{node ...}}]]' line under a rendezvous warning).
_FILTER_PROGRAM = f"""
import re, sys
dropped = re.compile({DROPPED_LINE.pattern!r})
out = sys.stdout.buffer
dropping = False
for line in sys.stdin.buffer:
  dropping = bool(dropped.match(line)) or (dropping and
                                           line.startswith(b'\\t'))
  if not dropping:
    out.write(line)
    out.flush()
"""

# Python loggers whose records below ERROR are dropped: TensorFlow's own and
# records that TensorFlow or Keras code logs through absl.
_QUIET_PACKAGES = re.compile(r'[\\/](tensorflow|tf_keras|keras)[\\/]')
_LOGGING_MODULES = re.compile(r'[\\/](logging|absl[\\/]logging)[\\/]')
_VERBOSITY_FLAG = re.compile(r'^(--verbosity|--v|-v)(=.*)?$')

_filter_process: Optional[subprocess.Popen] = None
_original_stderr: Optional[int] = None


def verbose_requested(argv: Sequence[str]) -> bool:
  """Whether the user asked for TensorFlow's logs.

  Args:
    argv: The command line (`sys.argv`).

  Returns:
    True for an absl verbosity flag (`--verbosity`, `-v`, `--v`) in argv.
  """
  return any(_VERBOSITY_FLAG.match(arg) for arg in argv[1:])


def _logging_caller() -> str:
  """The file of the innermost frame outside Python's and absl's logging.

  A record's `pathname` is not enough: absl logs called before absl's
  handler is installed name absl's own module as their caller.
  """
  frame = sys._getframe(1)  # pylint: disable=protected-access
  while frame is not None and (
      frame.f_code.co_filename in (__file__, logging.__file__) or
      _LOGGING_MODULES.search(frame.f_code.co_filename)):
    frame = frame.f_back
  return frame.f_code.co_filename if frame is not None else ''


class _LibraryChatterFilter(logging.Filter):
  """Drops records below ERROR that TensorFlow or Keras code logged."""

  def filter(self, record: logging.LogRecord) -> bool:
    return (record.levelno >= logging.ERROR or
            not _QUIET_PACKAGES.search(_logging_caller()))


def quiet_tensorflow_logs(argv: Optional[Sequence[str]] = None) -> bool:
  """Filters TensorFlow's C++ and Python log chatter out of this process.

  Call it first thing in a program, before TensorFlow is imported: the C++
  filter catches what TensorFlow prints at import. Errors, tracebacks and
  everything the job itself writes pass unchanged. Calling it twice is a
  no-op.

  Args:
    argv: The command line; None: `sys.argv`.

  Returns:
    True if the logs are now filtered, False if the user asked for them
    (see `verbose_requested`) or they were filtered already.
  """
  global _filter_process, _original_stderr
  if _filter_process is not None or verbose_requested(
      sys.argv if argv is None else argv):
    return False
  sys.stderr.flush()
  _original_stderr = os.dup(2)
  _filter_process = subprocess.Popen(
      [sys.executable, '-c', _FILTER_PROGRAM], stdin=subprocess.PIPE,
      stdout=_original_stderr, close_fds=True)
  os.dup2(_filter_process.stdin.fileno(), 2)
  atexit.register(_stop_filter)
  logging.getLogger('tensorflow').setLevel(logging.ERROR)
  logging.getLogger('absl').addFilter(_LibraryChatterFilter())
  return True


def _stop_filter():
  """At exit: gives fd 2 back, so that the filter drains and ends."""
  if _filter_process is None:
    return
  sys.stderr.flush()
  os.dup2(_original_stderr, 2)
  _filter_process.stdin.close()
  try:
    _filter_process.wait(timeout=5)
  except subprocess.TimeoutExpired:
    # A child process of the job still holds the pipe; the filter ends with
    # it.
    pass
