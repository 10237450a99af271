"""How every research result is reported: over seeds, mean ± sd and worst.

A learning result that one seed reaches and another misses is not a result.
Each research pipeline runs its job once per seed and reports, per metric,
the mean, the sample standard deviation, the worst seed and whether every
seed met the target. `summarize` computes that; `markdown_table` writes the
rows the project READMEs hold.

Example:
  >>> summary = summarize('cem critic', [0.039, 0.042, 0.039],
  ...                     lower_is_better=True, target=0.06)
  >>> summary.format()
  '0.0400 ± 0.0017 (worst 0.0420, 3/3 seeds meet 0.06)'
"""

import dataclasses
import math
from typing import Dict, Optional, Sequence

import numpy as np
from PIL import Image
from PIL import ImageDraw


@dataclasses.dataclass(frozen=True)
class SeedSummary:
  """One metric over seeds.

  Attributes:
    name: What was measured (e.g. the policy).
    values: One value per seed, in seed order.
    seeds: The seeds.
    lower_is_better: Whether the worst seed is the largest value.
    target: The value every seed should reach (None: no target).
  """
  name: str
  values: Sequence[float]
  seeds: Sequence[int]
  lower_is_better: bool
  target: Optional[float] = None

  @property
  def mean(self) -> float:
    return float(np.mean(self.values))

  @property
  def sd(self) -> float:
    """The sample standard deviation (0 for a single seed)."""
    if len(self.values) < 2:
      return 0.0
    return float(np.std(self.values, ddof=1))

  @property
  def worst(self) -> float:
    return float(max(self.values) if self.lower_is_better else
                 min(self.values))

  @property
  def worst_seed(self) -> int:
    index = int(np.argmax(self.values) if self.lower_is_better else
                np.argmin(self.values))
    return self.seeds[index]

  @property
  def num_meeting_target(self) -> Optional[int]:
    """Seeds that reach the target; None without a target."""
    if self.target is None:
      return None
    if self.lower_is_better:
      return sum(value < self.target for value in self.values)
    return sum(value > self.target for value in self.values)

  @property
  def every_seed_meets_target(self) -> Optional[bool]:
    met = self.num_meeting_target
    return None if met is None else met == len(self.values)

  def format(self, digits: int = 4) -> str:
    """'mean ± sd (worst w[, k/n seeds meet target])'."""
    text = (f'{self.mean:.{digits}f} ± {self.sd:.{digits}f} '
            f'(worst {self.worst:.{digits}f}')
    if self.target is not None:
      text += (f', {self.num_meeting_target}/{len(self.values)} seeds meet '
               f'{self.target:g}')
    return text + ')'

  def to_json(self) -> Dict[str, object]:
    return {'name': self.name, 'seeds': list(self.seeds),
            'values': [float(v) for v in self.values], 'mean': self.mean,
            'sd': self.sd, 'worst': self.worst, 'worst_seed': self.worst_seed,
            'target': self.target,
            'every_seed_meets_target': self.every_seed_meets_target}


def summarize(name: str, values: Sequence[float],
              seeds: Optional[Sequence[int]] = None,
              lower_is_better: bool = True,
              target: Optional[float] = None) -> SeedSummary:
  """Summarizes one metric over seeds.

  Args:
    name: What was measured.
    values: One finite value per seed.
    seeds: The seeds of the values; None: 0, 1, ...
    lower_is_better: True for errors and distances, False for success rates.
    target: The value every seed should beat (strictly).

  Returns:
    A `SeedSummary`.

  Raises:
    ValueError: If `values` is empty, holds a non-finite value, or `seeds`
      differs from it in length.
  """
  values = [float(value) for value in values]
  if not values:
    raise ValueError(f'summarize({name!r}) needs at least one value.')
  bad = [value for value in values if not math.isfinite(value)]
  if bad:
    raise ValueError(f'summarize({name!r}) got non-finite values {bad}; a '
                     'diverged seed must be fixed, not averaged.')
  seeds = list(range(len(values))) if seeds is None else list(seeds)
  if len(seeds) != len(values):
    raise ValueError(f'summarize({name!r}) got {len(values)} values but '
                     f'{len(seeds)} seeds {seeds}.')
  return SeedSummary(name, values, seeds, lower_is_better, target)


def markdown_table(summaries: Sequence[SeedSummary], metric: str,
                   digits: int = 4) -> str:
  """A README table: one row per summary.

  Args:
    summaries: The rows.
    metric: The metric's column heading, e.g. 'mean distance (m)'.
    digits: Decimals shown.

  Returns:
    The table in GitHub markdown.
  """
  lines = [f'| | {metric}: mean ± sd | worst (seed) | per seed | target |',
           '| --- | --- | --- | --- | --- |']
  for summary in summaries:
    per_seed = ', '.join(f'{value:.{digits}f}' for value in summary.values)
    target = '-' if summary.target is None else (
        f'< {summary.target:g}: {summary.num_meeting_target}/'
        f'{len(summary.values)}' if summary.lower_is_better else
        f'> {summary.target:g}: {summary.num_meeting_target}/'
        f'{len(summary.values)}')
    lines.append(f'| {summary.name} | {summary.mean:.{digits}f} ± '
                 f'{summary.sd:.{digits}f} | {summary.worst:.{digits}f} '
                 f'({summary.worst_seed}) | {per_seed} | {target} |')
  return '\n'.join(lines)


_ROW_HEIGHT = 44
_LABEL_WIDTH = 150
_PLOT_WIDTH = 560
_MARGIN = 16


def draw_summaries(summaries: Sequence[SeedSummary],
                   metric: str) -> Image.Image:
  """A dot plot: one row per summary, one dot per seed, mean and target.

  Each row shows the seeds' values as dots on a shared axis from 0, the mean
  as a vertical bar and the target (if any) as a red tick, so a seed that
  misses is visible at a glance.

  Example:
    >>> draw_summaries(summaries, 'mean distance (m)').save('/tmp/seeds.png')

  Args:
    summaries: The rows.
    metric: The axis label.

  Returns:
    An RGB PIL image.
  """
  top = 2 * _MARGIN + 14
  height = top + _ROW_HEIGHT * len(summaries) + 2 * _MARGIN
  width = _LABEL_WIDTH + _PLOT_WIDTH + 2 * _MARGIN
  image = Image.new('RGB', (width, height), 'white')
  draw = ImageDraw.Draw(image)
  largest = max([max(s.values) for s in summaries] +
                [s.target for s in summaries if s.target is not None])
  scale = _PLOT_WIDTH / (1.1 * largest if largest > 0 else 1.0)
  x0 = _LABEL_WIDTH + _MARGIN
  draw.text((_MARGIN, _MARGIN),
            f'{metric} over seeds (dots: seeds, bar: mean, red: target)',
            fill='black')
  for row, summary in enumerate(summaries):
    y = top + row * _ROW_HEIGHT + _ROW_HEIGHT // 2
    draw.text((_MARGIN, y - 6), summary.name, fill='black')
    draw.line([(x0, y), (x0 + _PLOT_WIDTH, y)], fill=(200, 200, 200))
    if summary.target is not None:
      tx = x0 + summary.target * scale
      draw.line([(tx, y - 14), (tx, y + 14)], fill=(214, 39, 40), width=2)
    mx = x0 + summary.mean * scale
    draw.line([(mx, y - 10), (mx, y + 10)], fill='black', width=3)
    for value in summary.values:
      vx = x0 + value * scale
      draw.ellipse([(vx - 4, y - 4), (vx + 4, y + 4)], outline=(31, 119, 180),
                   width=2)
  axis_y = top + _ROW_HEIGHT * len(summaries) + 4
  draw.line([(x0, axis_y), (x0 + _PLOT_WIDTH, axis_y)], fill='black')
  for fraction in (0.0, 0.25, 0.5, 0.75, 1.0):
    value = fraction * _PLOT_WIDTH / scale
    tick = x0 + fraction * _PLOT_WIDTH
    draw.line([(tick, axis_y), (tick, axis_y + 4)], fill='black')
    draw.text((tick - 12, axis_y + 6), f'{value:.3g}', fill='black')
  return image
