"""Schedules: a number (an exploration probability, a noise scale) per step.

A schedule is any callable `global_step -> float`; collectors call it with
the global step of the weights their policy uses, so exploration decays as
the trainer progresses, whichever collector process runs it. Steps below 0
(no trained weights yet, e.g. the random bootstrap) count as step 0.

Example:
  >>> schedule = PiecewiseSchedule(boundaries=[1000, 5000],
  ...                              values=[1.0, 0.3, 0.1])
  >>> schedule(0), schedule(1000), schedule(10 ** 6)
  (1.0, 0.3, 0.1)
  >>> LinearSchedule(initial=0.5, final=0.1, decay_steps=100)(50)
  0.3
"""

from typing import Sequence

import gin


def _check_number(name: str, value) -> float:
  if isinstance(value, bool) or not isinstance(value, (int, float)):
    raise TypeError(f'{name} must be a number, got {value!r} '
                    f'({type(value).__name__}).')
  return float(value)


@gin.configurable
class ConstantSchedule:
  """The same value at every step.

  Args:
    value: The value.
  """

  def __init__(self, value: float):
    self._value = _check_number('ConstantSchedule value', value)

  def __call__(self, global_step: int) -> float:
    del global_step
    return self._value

  def __repr__(self) -> str:
    return f'ConstantSchedule({self._value})'


@gin.configurable
class LinearSchedule:
  """From `initial` at step 0 to `final` at `decay_steps`, then constant.

  Args:
    initial: The value at step 0.
    final: The value from `decay_steps` on.
    decay_steps: Steps of the interpolation (>= 1).

  Raises:
    ValueError: If `decay_steps` is not a positive int.
  """

  def __init__(self, initial: float, final: float, decay_steps: int):
    self._initial = _check_number('LinearSchedule initial', initial)
    self._final = _check_number('LinearSchedule final', final)
    if isinstance(decay_steps, bool) or not isinstance(
        decay_steps, int) or decay_steps < 1:
      raise ValueError(
          f'LinearSchedule decay_steps must be a positive int, got '
          f'{decay_steps!r}.')
    self._decay_steps = decay_steps

  def __call__(self, global_step: int) -> float:
    fraction = min(max(global_step, 0) / self._decay_steps, 1.0)
    return self._initial + fraction * (self._final - self._initial)

  def __repr__(self) -> str:
    return (f'LinearSchedule({self._initial} -> {self._final} over '
            f'{self._decay_steps} steps)')


@gin.configurable
class PiecewiseSchedule:
  """`values[i]` from `boundaries[i - 1]` (inclusive) to `boundaries[i]`.

  Args:
    boundaries: Increasing global steps where the value changes.
    values: One more value than boundaries: `values[0]` before the first
      boundary, `values[-1]` from the last one on.

  Raises:
    ValueError: If the boundaries do not increase or the lengths do not fit.
  """

  def __init__(self, boundaries: Sequence[int], values: Sequence[float]):
    boundaries, values = list(boundaries), list(values)
    if len(values) != len(boundaries) + 1:
      raise ValueError(
          f'PiecewiseSchedule needs one more value than boundaries; got '
          f'{len(boundaries)} boundaries {boundaries} and {len(values)} '
          f'values {values}.')
    if boundaries != sorted(set(boundaries)):
      raise ValueError(
          f'PiecewiseSchedule boundaries must increase strictly, got '
          f'{boundaries}.')
    self._boundaries = boundaries
    self._values = [_check_number('PiecewiseSchedule value', v)
                    for v in values]

  def __call__(self, global_step: int) -> float:
    index = sum(1 for boundary in self._boundaries if global_step >= boundary)
    return self._values[index]

  def __repr__(self) -> str:
    return f'PiecewiseSchedule({self._boundaries}, {self._values})'
