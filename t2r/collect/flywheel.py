"""The flywheel launcher: K collectors, one trainer, one evaluator, one line.

`run_flywheel` starts every role of `t2r.collect.flywheel_roles` as its own
process (`python -m t2r.bin.run_flywheel --role=...` with the same gin
configs), each logging to `root_dir/logs/<name>.log`, and refreshes one
status line from their status files: episodes collected, replay files,
trainer step and steps/s, newest export, last evaluation. It returns when
every process has finished (the trainer at its max steps, the collectors
and the evaluator once they acted with that export), with a summary table
and a picture of the evaluation curve (`root_dir/flywheel.png`).

Faults: a process that fails stops the others and the launcher raises
`FlywheelError` naming it and its log's last line; Ctrl-C (or SIGTERM)
stops every process cleanly, the collectors completing their open files.
A collector killed outright loses only its open file, which no reader ever
sees (it keeps its temporary name). Running the same command again resumes:
the trainer from its newest checkpoint, the collectors with the newest
export, the replay as it was.
"""

import dataclasses
import os
import re
import signal
import subprocess
import sys
import time
from typing import Dict, List, Sequence

import gin
import tensorflow as tf

from t2r.collect import flywheel_report
from t2r.collect import replay_files
from t2r.collect import status_files
from t2r.predictors import export_dirs

_STOP_GRACE_SECS = 20.0


class FlywheelError(RuntimeError):
  """A flywheel process failed; the message is one line."""


@dataclasses.dataclass
class _Process:
  name: str
  popen: subprocess.Popen
  log_path: str


def _set_parent_death_signal():
  """Children get SIGTERM if the launcher dies (Linux), so none outlive it."""
  try:
    import ctypes  # pylint: disable=g-import-not-at-top
    ctypes.CDLL('libc.so.6', use_errno=True).prctl(1, signal.SIGTERM)
  except (OSError, AttributeError):
    pass


_ERROR_LINE = re.compile(r'^[A-Za-z_.]*(Error|Exception|Interrupt)\b.*:')


def last_error_line(path: str) -> str:
  """The log's last 'SomeError: ...' line (else its last line)."""
  try:
    with open(path, 'rb') as f:
      f.seek(max(os.path.getsize(path) - 16384, 0))
      lines = [line.strip() for line in f.read().decode(
          'utf-8', 'replace').splitlines() if line.strip()]
  except OSError:
    return '(no log)'
  errors = [line for line in lines if _ERROR_LINE.match(line)]
  return (errors or lines or ['(empty log)'])[-1]


def role_command(role: str, index: int, gin_configs: Sequence[str],
                 gin_bindings: Sequence[str]) -> List[str]:
  """The command line of one flywheel process."""
  return ([sys.executable, '-m', 't2r.bin.run_flywheel', f'--role={role}',
           f'--index={index}'] +
          [f'--gin_configs={config}' for config in gin_configs] +
          [f'--gin_bindings={binding}' for binding in gin_bindings])


def status_line(root_dir: str, elapsed_secs: float) -> str:
  """One line: what every process of the flywheel has done so far."""
  statuses = status_files.read_statuses(root_dir)
  collectors = [s for name, s in statuses.items()
                if name.startswith('collector-')]
  episodes = sum(s.get('episodes', 0) for s in collectors)
  files = len(tf.io.gfile.glob(replay_files.replay_pattern(root_dir,
                                                           'collect')))
  trainer = statuses.get('trainer', {})
  newest = export_dirs.latest_export(os.path.join(root_dir, 'model',
                                                  'export'))
  history = statuses.get('evaluator', {}).get('history', [])
  parts = [f'flywheel {int(elapsed_secs) // 60}:{int(elapsed_secs) % 60:02d}',
           f'episodes {episodes}', f'replay files {files}',
           f"trainer step {trainer.get('global_step', 0)} "
           f"({trainer.get('steps_per_second', 0.0):.1f} steps/s)",
           f'export {newest[0] if newest else "none"}']
  if history:
    parts.append(f"eval success {history[-1]['success_rate']:.2f} "
                 f"@ step {history[-1]['global_step']}")
  return ' | '.join(parts)


class _StatusDisplay:
  """Refreshes the status line in place on a terminal, else logs it."""

  def __init__(self, stream=None, log_every_secs: float = 10.0):
    self._stream = stream or sys.stdout
    self._tty = self._stream.isatty()
    self._log_every_secs = log_every_secs
    self._last_log = -float('inf')
    self._width = 0

  def show(self, line: str, final: bool = False):
    if self._tty:
      padding = ' ' * max(self._width - len(line), 0)
      self._stream.write('\r' + line + padding + ('\n' if final else ''))
      self._width = len(line)
      self._stream.flush()
    elif final or time.monotonic() - self._last_log >= self._log_every_secs:
      self._stream.write(line + '\n')
      self._stream.flush()
      self._last_log = time.monotonic()


def _stop(processes: Sequence[_Process], grace_secs: float):
  """SIGTERM every live process, then SIGKILL what remains after grace."""
  for process in processes:
    if process.popen.poll() is None:
      process.popen.send_signal(signal.SIGTERM)
  deadline = time.monotonic() + grace_secs
  for process in processes:
    remaining = max(deadline - time.monotonic(), 0.1)
    try:
      process.popen.wait(timeout=remaining)
    except subprocess.TimeoutExpired:
      process.popen.kill()
      process.popen.wait()


@gin.configurable
def run_flywheel(root_dir: str = gin.REQUIRED,
                 gin_configs: Sequence[str] = (),
                 gin_bindings: Sequence[str] = (),
                 num_collectors: int = 2,
                 run_evaluator: bool = True,
                 refresh_secs: float = 1.0,
                 stream=None) -> Dict[str, object]:
  """Runs the whole flywheel on this machine until the trainer is done.

  Example:
    t2r-flywheel --gin_configs=research/pose_env/configs/flywheel.gin

  Args:
    root_dir: The shared directory (see `flywheel_roles`).
    gin_configs: The config files every process parses.
    gin_bindings: Extra bindings for every process.
    num_collectors: Collector processes (each may step several envs).
    run_evaluator: Also run the evaluator process.
    refresh_secs: Status line refresh period.
    stream: Where the status line and summary go (default stdout).

  Returns:
    {'history': evaluator history, 'figure': PNG path or None,
     'table': the summary table}.

  Raises:
    FlywheelError: If a process fails (the others are stopped).
    KeyboardInterrupt: On Ctrl-C, after stopping every process.
    ValueError: If `num_collectors` is not a positive int.
  """
  if isinstance(num_collectors, bool) or not isinstance(
      num_collectors, int) or num_collectors < 1:
    raise ValueError(f'run_flywheel num_collectors must be a positive int, '
                     f'got {num_collectors!r}.')
  stream = stream or sys.stdout
  log_dir = os.path.join(root_dir, 'logs')
  tf.io.gfile.makedirs(log_dir)
  roles = [('trainer', 'trainer', 0)]
  roles += [(f'collector-{i}', 'collector', i) for i in range(num_collectors)]
  if run_evaluator:
    roles.append(('evaluator', 'evaluator', 0))
  processes: List[_Process] = []
  display = _StatusDisplay(stream)
  start = time.monotonic()
  try:
    for name, role, index in roles:
      log_path = os.path.join(log_dir, f'{name}.log')
      with open(log_path, 'ab') as log:
        popen = subprocess.Popen(
            role_command(role, index, gin_configs, gin_bindings),
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            preexec_fn=_set_parent_death_signal)
      processes.append(_Process(name, popen, log_path))
    running = list(processes)
    while running:
      time.sleep(refresh_secs)
      display.show(status_line(root_dir, time.monotonic() - start))
      for process in list(running):
        code = process.popen.poll()
        if code is None:
          continue
        running.remove(process)
        if code != 0:
          _stop(running, _STOP_GRACE_SECS)
          display.show(status_line(root_dir, time.monotonic() - start),
                       final=True)
          raise FlywheelError(
              f'flywheel: the {process.name} exited with status {code}; '
              f'{last_error_line(process.log_path)} (log: {process.log_path})')
  except BaseException:
    _stop(processes, _STOP_GRACE_SECS)
    raise
  display.show(status_line(root_dir, time.monotonic() - start), final=True)
  return flywheel_report.report(root_dir, stream)

