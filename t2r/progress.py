"""One progress display per long stage: a live bar, or log lines in a file.

Collection, training and evaluation take minutes; a user watching a job
wants to see each stage move, how fast, and when it ends. `ProgressBar`
shows a rich progress bar with rate and ETA when stdout is a terminal and
otherwise (a log file, CI, a pipe) prints one plain line every
`log_every_secs`, plus one at the end, so that logs stay readable.

Example:
  >>> with ProgressBar('collect train', total=4000, unit='episodes') as bar:
  ...   for episode in range(4000):
  ...     ...
  ...     bar.update(episode + 1, reward=-0.6)
"""

import sys
import time
from typing import Any, Optional, TextIO

from rich import console as rich_console
from rich import progress as rich_progress


def _format_fields(fields: dict) -> str:
  """'loss 0.0123, q 0.5' from {'loss': 0.0123, 'q': 0.5}."""
  parts = []
  for name, value in fields.items():
    if isinstance(value, float):
      parts.append(f'{name} {value:.4g}')
    else:
      parts.append(f'{name} {value}')
  return ', '.join(parts)


def _format_seconds(seconds: float) -> str:
  if seconds < 60:
    return f'{seconds:.0f} s'
  return f'{int(seconds // 60)} min {int(seconds % 60):02d} s'


class ProgressBar:
  """A progress display for one stage of `total` units.

  Args:
    description: What the stage does, e.g. 'train regression'.
    total: Units at which the stage is done.
    unit: The unit's name, plural ('steps', 'episodes').
    initial: Units already done (e.g. the step a resumed job starts at);
      the rate counts only units done after it.
    log_every_secs: Interval of the plain lines when not on a terminal.
    stream: Where to write; None: stdout.
    live: Force the live bar (True) or plain lines (False); None: live
      exactly when `stream` is a terminal.

  Raises:
    ValueError: If `total` is not a positive int, or `initial` is not in
      [0, total].
  """

  def __init__(self,
               description: str,
               total: int,
               unit: str = 'steps',
               initial: int = 0,
               log_every_secs: float = 10.0,
               stream: Optional[TextIO] = None,
               live: Optional[bool] = None):
    if isinstance(total, bool) or not isinstance(total, int) or total < 1:
      raise ValueError(f'ProgressBar total must be a positive int, got '
                       f'{total!r} for {description!r}.')
    if not 0 <= initial <= total:
      raise ValueError(f'ProgressBar initial must be in [0, {total}], got '
                       f'{initial!r} for {description!r}.')
    self._description = description
    self._total = total
    self._unit = unit
    self._initial = initial
    self._completed = initial
    self._fields = {}
    self._log_every_secs = log_every_secs
    self._stream = stream or sys.stdout
    self._start = time.perf_counter()
    self._last_line = self._start
    self._last_written = None
    console = rich_console.Console(file=self._stream)
    self._live = console.is_terminal if live is None else live
    self._progress = None
    if self._live:
      self._progress = rich_progress.Progress(
          rich_progress.TextColumn('[bold]{task.description}'),
          rich_progress.BarColumn(),
          rich_progress.MofNCompleteColumn(),
          rich_progress.TextColumn(f'{unit} ·'),
          rich_progress.TextColumn('{task.fields[rate]}'),
          rich_progress.TextColumn('· ETA'),
          rich_progress.TimeRemainingColumn(),
          rich_progress.TextColumn('{task.fields[info]}'),
          console=console, transient=False)
      self._task = self._progress.add_task(
          description, total=total, completed=initial, rate='-', info='')
      self._progress.start()
    self._closed = False

  @property
  def rate(self) -> float:
    """Units per second since the start (0 before any unit)."""
    elapsed = time.perf_counter() - self._start
    done = self._completed - self._initial
    return done / elapsed if elapsed > 0 and done > 0 else 0.0

  def _eta_seconds(self) -> Optional[float]:
    rate = self.rate
    return (self._total - self._completed) / rate if rate else None

  def update(self, completed: int, **fields: Any):
    """Moves the display to `completed` units and shows `fields`.

    Args:
      completed: Units done so far (absolute, not an increment); clipped to
        `total`.
      **fields: Values shown after the bar, e.g. loss=0.01.
    """
    self._completed = min(int(completed), self._total)
    self._fields.update(fields)
    if self._progress is not None:
      self._progress.update(
          self._task, completed=self._completed,
          rate=f'{self.rate:.1f}/s', info=_format_fields(self._fields))
      return
    now = time.perf_counter()
    if now - self._last_line >= self._log_every_secs:
      self._last_line = now
      self._write_line()

  def _write_line(self):
    eta = self._eta_seconds()
    percent = 100.0 * self._completed / self._total
    line = (f'[{self._description}] {self._completed}/{self._total} '
            f'{self._unit} ({percent:.0f}%), {self.rate:.1f} {self._unit}/s')
    if eta is not None and self._completed < self._total:
      line += f', ETA {_format_seconds(eta)}'
    if self._fields:
      line += f', {_format_fields(self._fields)}'
    print(line, file=self._stream, flush=True)
    self._last_written = self._completed

  def close(self):
    """Ends the display: the bar stays on screen; or one final line."""
    if self._closed:
      return
    self._closed = True
    if self._progress is not None:
      self._progress.stop()
    elif self._last_written != self._completed:
      self._write_line()

  def __enter__(self) -> 'ProgressBar':
    return self

  def __exit__(self, *exc_info):
    self.close()
