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
