"""The cross-entropy method (CEM): maximize a black-box score over a box.

QT-Opt chooses actions by CEM over its critic: sample candidate actions from
a Gaussian, keep the best (the elites), refit the Gaussian to them, repeat.
It chooses the acting policy's action (`CEMPolicy`, the exported
`cem_action` signature) and the max over a' of the Bellman target
(`t2r.models.TDCriticModel`).

There are two implementations of the one algorithm, side by side:
`cross_entropy_method` (numpy, one state, any score function) and
`in_graph_cross_entropy_method` (TensorFlow, a batch of states, inside a
traced function). Both take their arguments through the checks below, start
from `initial_distribution`, and draw candidates as
clip(mean + std * N(0, 1) noise, low, high): given the same noise they select
the same elites and choose the same action.

The module sits below both `t2r.models` and `t2r.policies` (it imports only
numpy, TensorFlow and `t2r.specs`) so that the trainer's Bellman target and
the exported policy share it; `t2r.policies.cem` re-exports its names.

Example:
  >>> target = np.array([0.3, -0.2])
  >>> action, score = cross_entropy_method(
  ...     lambda a: -np.sum((a - target) ** 2, axis=1), [-1, -1], [1, 1])
  >>> actions, scores = in_graph_cross_entropy_method(
  ...     lambda a: -tf.reduce_sum((a - target) ** 2, axis=1),
  ...     per_state_noise(tf.constant([0, 1], tf.int64)), action_low=[-1, -1],
  ...     action_high=[1, 1])                  # two states: (2, 2), (2,)
"""

from typing import Any, Callable, Optional, Tuple

import numpy as np
import tensorflow as tf

from t2r import specs

ScoreFn = Callable[[np.ndarray], np.ndarray]
TensorScoreFn = Callable[[tf.Tensor], tf.Tensor]
# (round, num_samples, action_size) -> (batch, num_samples, action_size) noise.
NoiseFn = Callable[[int, int, int], tf.Tensor]
Bounds = Tuple[np.ndarray, np.ndarray]  # (low, high), one entry per dimension.


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


def per_state_noise(seeds: tf.Tensor) -> NoiseFn:
  """CEM noise seeded per state: state i's round r from seed [seeds[i], r].

  The noise of the exported `cem_action` signature: one state's candidates
  depend on its own seed only, whatever else is in the batch, so a robot's
  call can be replayed (`cross_entropy_method` with an rng that draws
  `tf.random.stateless_normal(shape, seed=[seed, r])` in round r chooses the
  same action). It costs one random op per state and round; `batch_noise`
  is one op per round.

  Example:
    >>> noise_fn = per_state_noise(tf.constant([7, 8], tf.int64))
    >>> noise_fn(0, 64, 2).shape                  # round 0, two states
    TensorShape([2, 64, 2])

  Args:
    seeds: An int64 vector with one seed per state.

  Returns:
    A noise function for `in_graph_cross_entropy_method`.
  """
  seeds = tf.convert_to_tensor(seeds, tf.int64)

  def noise_fn(iteration: int, num_samples: int, size: int) -> tf.Tensor:
    return tf.map_fn(
        lambda seed: tf.random.stateless_normal(
            [num_samples, size],
            seed=tf.stack([seed, tf.constant(iteration, tf.int64)])),
        seeds, fn_output_signature=tf.float32)

  return noise_fn


def batch_noise(seed: tf.Tensor, batch_size: tf.Tensor) -> NoiseFn:
  """CEM noise for a whole batch, one stateless random op per round.

  Round r's noise is `tf.random.stateless_normal((batch_size, num_samples,
  size), seed=stateless_fold_in(seed, r))`: a function of the seed, fast
  enough to run inside every train step (`TDCriticModel`'s max over a').

  Example:
    >>> noise_fn = batch_noise(tf.constant([3, 0], tf.int64), 128)

  Args:
    seed: A shape (2,) int64 stateless seed.
    batch_size: The number of states (an int or int32 scalar tensor).

  Returns:
    A noise function for `in_graph_cross_entropy_method`.
  """
  seed = tf.convert_to_tensor(seed, tf.int64)

  def noise_fn(iteration: int, num_samples: int, size: int) -> tf.Tensor:
    return tf.random.stateless_normal(
        tf.stack([batch_size, num_samples, size]),
        seed=tf.random.experimental.stateless_fold_in(seed, iteration))

  return noise_fn


def in_graph_cross_entropy_method(score_fn: TensorScoreFn,
                                  noise_fn: NoiseFn,
                                  action_low: Any,
                                  action_high: Any,
                                  iterations: int = 3,
                                  num_samples: int = 64,
                                  num_elites: int = 10
                                 ) -> Tuple[tf.Tensor, tf.Tensor]:
  """CEM for a batch of states in TensorFlow ops; returns best actions, scores.

  The algorithm of `cross_entropy_method`, one independent search per state,
  each round drawing clip(mean + std * noise, low, high) with
  `noise = noise_fn(round, num_samples, action_size)` of shape (batch,
  num_samples, action_size): `per_state_noise(seeds)` (the exported
  signature's: replayable per state) or `batch_noise(seed, batch_size)` (one
  op per round: the trainer's). The result is a function of the scores and
  the noise. The rounds are unrolled when traced.

  Candidates follow `t2r.specs.critic_layout`: `score_fn` gets a
  (batch * num_samples, action_size) float32 tensor whose row
  i * num_samples + j is candidate j of state i, and returns one score per
  row (any shape with batch * num_samples elements, e.g. (rows,) or
  (rows, 1)). It is called once per round; a closure may cache what does not
  depend on the action (a state embedding) across the calls.

  Example:
    >>> def score_fn(actions):             # Q of every (state, candidate)
    ...   return q_network(tile_state(states, 64), actions)
    >>> actions, q = in_graph_cross_entropy_method(
    ...     score_fn, per_state_noise(seeds), [-1.0], [1.0])  # (B, 1), (B,)

  Args:
    score_fn: Maps candidates to scores (higher is better), as above.
    noise_fn: (round, num_samples, action_size) -> standard normal noise
      (batch, num_samples, action_size); its batch is the number of states.
    action_low: Lower bound per action dimension.
    action_high: Upper bound per action dimension.
    iterations: Sampling rounds.
    num_samples: Candidates per state and round.
    num_elites: Best candidates the next round's Gaussian is fitted to.

  Returns:
    (best actions (batch, action_size) float32, their scores (batch,)
    float32): the best candidate of each state over all rounds.

  Raises:
    ValueError: For invalid bounds or sizes.
  """
  low, high = check_action_bounds(action_low, action_high)
  check_cem_sizes(iterations, num_samples, num_elites)
  initial_mean, initial_std = initial_distribution(low, high)
  size = low.size
  best_action = best_score = None
  for iteration in range(iterations):
    noise = tf.cast(noise_fn(iteration, num_samples, size), tf.float32)
    if iteration == 0:
      batch = tf.shape(noise)[0]
      mean = tf.tile(initial_mean[tf.newaxis], [batch, 1])
      std = tf.tile(initial_std[tf.newaxis], [batch, 1])
      best_action = tf.zeros([batch, size])
      best_score = tf.fill([batch], -np.inf)
    samples = tf.clip_by_value(
        mean[:, tf.newaxis] + std[:, tf.newaxis] * noise, low, high)
    scores = score_fn(tf.reshape(samples, [-1, size]))
    scores = tf.reshape(tf.cast(scores, tf.float32), [batch, num_samples])
    top = tf.math.top_k(scores, k=num_elites)
    elites = tf.gather(samples, top.indices, batch_dims=1)
    mean, variance = tf.nn.moments(elites, axes=[1])
    std = tf.sqrt(variance)
    better = top.values[:, 0] > best_score
    best_action = tf.where(better[:, tf.newaxis], elites[:, 0], best_action)
    best_score = tf.maximum(best_score, top.values[:, 0])
  return best_action, best_score
