"""The cross-entropy method (CEM): maximize a black-box score over a box.

QT-Opt chooses actions by CEM over its critic: sample candidate actions from
a Gaussian, keep the best (the elites), refit the Gaussian to them, repeat.
"""

from typing import Callable, Optional, Tuple

import numpy as np

ScoreFn = Callable[[np.ndarray], np.ndarray]

# The input of the exported in-graph CEM (`CEMExportGenerator`) holding one
# int64 seed per state: its sampling is a function of the state and the seed.
CEM_SEED_INPUT = 'cem_seed'


def check_action_bounds(action_low, action_high) -> Tuple[np.ndarray,
                                                          np.ndarray]:
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


def cross_entropy_method(score_fn: ScoreFn,
                         action_low,
                         action_high,
                         iterations: int = 3,
                         num_samples: int = 64,
                         num_elites: int = 10,
                         rng: Optional[np.random.Generator] = None
                        ) -> Tuple[np.ndarray, float]:
  """Returns the best sampled action and its score.

  The first population is centered in the box with a standard deviation of
  half its width; samples are clipped to the bounds.

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
    rng: The numpy generator to sample with.

  Returns:
    (action of shape (action_size,), its score).

  Raises:
    ValueError: For invalid bounds or sizes, or scores of the wrong shape.
  """
  low, high = check_action_bounds(action_low, action_high)
  check_cem_sizes(iterations, num_samples, num_elites)
  rng = rng or np.random.default_rng()
  mean, std = (low + high) / 2, (high - low) / 2
  best_action, best_score = None, -np.inf
  for _ in range(iterations):
    samples = np.clip(
        rng.normal(mean, std, size=(num_samples, low.size)), low,
        high).astype(np.float32)
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
