"""The cross-entropy method (CEM): maximize a black-box score over a box.

QT-Opt chooses actions by CEM over its critic: sample candidate actions from
a Gaussian, keep the best (the elites), refit the Gaussian to them, repeat.

There are two implementations of the one algorithm: `cross_entropy_method`
here (numpy, any score function) and the in-graph `cem_action` signature of
`t2r.policies.cem_export_generator.CEMExportGenerator`. Both take their
arguments through the checks below, start from `initial_distribution`, and
draw candidates as clip(mean + std * N(0, 1) noise, low, high): given the
same noise they select the same elites and choose the same action.
"""

from typing import Any, Callable, Optional, Tuple

import numpy as np

from t2r import specs

ScoreFn = Callable[[np.ndarray], np.ndarray]
Bounds = Tuple[np.ndarray, np.ndarray]  # (low, high), one entry per dimension.

# The input of the exported in-graph CEM (`CEMExportGenerator`) holding one
# int64 seed per state: its sampling is a function of the state and the seed.
CEM_SEED_INPUT = 'cem_seed'


def check_action_bounds(action_low: Any, action_high: Any) -> Bounds:
  """Returns the bounds as float32 arrays; raises ValueError if invalid."""
  low = np.asarray(action_low, np.float32).reshape(-1)
  high = np.asarray(action_high, np.float32).reshape(-1)
  if low.shape != high.shape or not low.size:
    raise ValueError(
        f'action_low {low.tolist()} and action_high {high.tolist()} must be '
        'non-empty and have one entry per action dimension.')
  if not (np.all(np.isfinite(low)) and np.all(np.isfinite(high)) and
          np.all(low < high)):
    raise ValueError(
        f'Action bounds must be finite with action_low < action_high in '
        f'every dimension, got low {low.tolist()}, high {high.tolist()}.')
  return low, high


def check_optional_action_bounds(action_low: Any,
                                 action_high: Any) -> Optional[Bounds]:
  """Checks bounds that may be left to default from the critic's action spec.

  Args:
    action_low: Lower bound per action dimension, or None.
    action_high: Upper bound per action dimension, or None.

  Returns:
    None when both are None (use `critic_action_bounds` once the action
    spec is known), else `check_action_bounds(action_low, action_high)`.

  Raises:
    ValueError: If only one bound is given, or the bounds are invalid.
  """
  if action_low is None and action_high is None:
    return None
  if action_low is None or action_high is None:
    raise ValueError(
        f'Got action_low={action_low!r} and action_high={action_high!r}; '
        'pass both (one entry per action dimension) or neither (for [-1, 1] '
        'in every dimension of the critic action).')
  return check_action_bounds(action_low, action_high)


def critic_action_bounds(bounds: Optional[Bounds], action_spec: Any,
                         action_path: str, who: str) -> Bounds:
  """The CEM bounds for a critic action: the given ones or [-1, 1] each.

  Example:
    >>> layout = specs.split_state_action(critic_feature_spec)
    >>> low, high = critic_action_bounds(None, layout.action_spec,
    ...                                  layout.action_path, 'CEMPolicy')

  Args:
    bounds: The result of `check_optional_action_bounds`.
    action_spec: The spec of the critic's action feature.
    action_path: Its feature path, named in error messages.
    who: The caller, named in error messages.

  Returns:
    (low, high) float32 arrays, one entry per action dimension.

  Raises:
    ValueError: If the bounds do not fit the action spec, or the default
      bounds cannot be known (the action is not a vector of known size).
  """
  if bounds is None:
    return specs.default_action_bounds(action_spec, action_path, who)
  specs.check_action_size(action_spec, bounds[0].size, action_path, who)
  return bounds


def check_cem_sizes(iterations: int, num_samples: int, num_elites: int):
  """Raises ValueError unless 1 <= num_elites <= num_samples, iterations >= 1."""
  for name, value in (('iterations', iterations), ('num_samples', num_samples),
                      ('num_elites', num_elites)):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
      raise ValueError(f'CEM {name} must be a positive int, got {value!r}.')
  if num_elites > num_samples:
    raise ValueError(f'CEM keeps num_elites={num_elites} of num_samples='
                     f'{num_samples} candidates; num_elites must not exceed '
                     'num_samples.')


def initial_distribution(low: np.ndarray,
                         high: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
  """(mean, std) of the first population: the box center, half its width."""
  return (low + high) / 2, (high - low) / 2


def cross_entropy_method(score_fn: ScoreFn,
                         action_low: Any,
                         action_high: Any,
                         iterations: int = 3,
                         num_samples: int = 64,
                         num_elites: int = 10,
                         rng: Optional[np.random.Generator] = None
                        ) -> Tuple[np.ndarray, float]:
  """Returns the best sampled action and its score.

  The first population is centered in the box with a standard deviation of
  half its width (`initial_distribution`); each round draws
  clip(mean + std * noise, low, high) with `noise` from
  `rng.standard_normal((num_samples, action_size))`.

  Example:
    >>> target = np.array([0.3, -0.2])
    >>> action, score = cross_entropy_method(
    ...     lambda a: -np.sum((a - target) ** 2, axis=1), [-1, -1], [1, 1])

  Args:
    score_fn: Maps (num_samples, action_size) float32 candidates to
      (num_samples,) scores (higher is better).
    action_low: Lower bound per action dimension.
    action_high: Upper bound per action dimension.
    iterations: Sampling rounds.
    num_samples: Candidates per round.
    num_elites: Best candidates the next round's Gaussian is fitted to.
    rng: The numpy generator to sample with (anything with that
      `standard_normal` method, e.g. to replay the in-graph CEM's noise).

  Returns:
    (action of shape (action_size,), its score).

  Raises:
    ValueError: For invalid bounds or sizes, or scores of the wrong shape.
  """
  low, high = check_action_bounds(action_low, action_high)
  check_cem_sizes(iterations, num_samples, num_elites)
  rng = rng or np.random.default_rng()
  mean, std = initial_distribution(low, high)
  best_action, best_score = None, -np.inf
  for _ in range(iterations):
    noise = rng.standard_normal((num_samples, low.size))
    samples = np.clip(mean + std * noise, low, high).astype(np.float32)
    scores = np.asarray(score_fn(samples), np.float64).reshape(-1)
    if scores.shape != (num_samples,):
      raise ValueError(
          f'The CEM score function returned {scores.size} scores for '
          f'{num_samples} candidate actions; it must return one per action.')
    order = np.argsort(scores)
    if scores[order[-1]] > best_score:
      best_action, best_score = samples[order[-1]], float(scores[order[-1]])
    elites = samples[order[-num_elites:]]
    mean, std = elites.mean(axis=0), elites.std(axis=0)
  return best_action, best_score
