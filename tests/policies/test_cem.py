"""cross_entropy_method: finds the maximum of a known function in bounds.

It and the in-graph CEM of `CEMExportGenerator` are one algorithm: given the
same noise they choose the same action.
"""

import numpy as np
import pytest
import tensorflow as tf

from t2r import specs
from t2r.policies import cem


def _quadratic(target):
  return lambda actions: -np.sum((actions - target)**2, axis=1)


def test_finds_the_maximum_of_a_quadratic():
  target = np.array([0.3, -0.6], np.float32)
  action, score = cem.cross_entropy_method(
      _quadratic(target), [-1, -1], [1, 1], rng=np.random.default_rng(0))
  np.testing.assert_allclose(action, target, atol=0.1)
  assert score == pytest.approx(_quadratic(target)(action[None])[0])


def test_maximum_outside_the_box_gives_an_action_on_the_boundary():
  action, _ = cem.cross_entropy_method(
      _quadratic(np.array([3.0, 0.0])), [-1, -1], [1, 1],
      rng=np.random.default_rng(0))
  assert np.all(action >= -1) and np.all(action <= 1)
  assert action[0] == pytest.approx(1.0)


@pytest.mark.parametrize('low,high,message', [
    ([0, 0], [1], 'one entry per action dimension'),
    ([1.0], [0.0], 'action_low < action_high'),
    ([-np.inf], [1.0], 'finite'),
])
def test_invalid_bounds_are_rejected(low, high, message):
  with pytest.raises(ValueError, match=message):
    cem.cross_entropy_method(_quadratic(0.0), low, high)


@pytest.mark.parametrize('sizes,message', [
    ((3, 8, 10), 'must not exceed num_samples'),
    ((0, 64, 10), 'iterations must be a positive int'),
])
def test_invalid_sizes_are_rejected(sizes, message):
  with pytest.raises(ValueError, match=message):
    cem.check_cem_sizes(*sizes)


def test_score_function_must_return_one_score_per_candidate():
  with pytest.raises(ValueError, match='one per action'):
    cem.cross_entropy_method(lambda a: np.zeros(3), [-1], [1])


class _InGraphNoise:
  """Replays the noise of the in-graph CEM for one example seed.

  `cem_action` draws iteration i's standard normal noise with
  `tf.random.stateless_normal(seed=[example seed, i])`; `cross_entropy_method`
  draws it with `rng.standard_normal`, once per iteration.
  """

  def __init__(self, seed):
    self._seed, self._iteration = seed, 0

  def standard_normal(self, shape):
    noise = tf.random.stateless_normal(shape, seed=[self._seed,
                                                    self._iteration])
    self._iteration += 1
    return noise.numpy()


@pytest.mark.parametrize('critic', ['tiled', 'split'])
@pytest.mark.parametrize('seed', [0, 5])
def test_numpy_and_in_graph_cem_choose_the_same_action_from_the_same_noise(
    critic_predictors, critic, seed):
  target = np.array([0.4, -0.3], np.float32)
  in_graph = critic_predictors[critic].predict(
      {'state/target': target, 'cem_seed': np.array([seed], np.int64)},
      signature_name='cem_action')

  def critic_q(actions):  # What the exported critic computes, in float32.
    return -np.sum(np.square(actions - target), axis=1, dtype=np.float32)

  action, q = cem.cross_entropy_method(critic_q, [-1, -1], [1, 1],
                                       rng=_InGraphNoise(seed))
  np.testing.assert_allclose(action, in_graph['action'][0], atol=1e-6)
  assert q == pytest.approx(float(in_graph['q'][0]), abs=1e-6)


def test_default_bounds_are_minus_one_to_one_per_action_dimension():
  spec = specs.ExtendedTensorSpec((3,), tf.float32, name='move')
  low, high = cem.critic_action_bounds(None, spec, 'action/move', 'CEMPolicy')
  np.testing.assert_array_equal(low, [-1, -1, -1])
  np.testing.assert_array_equal(high, [1, 1, 1])


def test_explicit_bounds_must_fit_the_action_spec():
  spec = specs.ExtendedTensorSpec((3,), tf.float32, name='move')
  bounds = cem.check_optional_action_bounds([-1, -1], [1, 1])
  with pytest.raises(ValueError,
                     match=r"'action/move' has shape \(3,\) but the CEMPolicy "
                     'action bounds have 2 entries'):
    cem.critic_action_bounds(bounds, spec, 'action/move', 'CEMPolicy')


@pytest.mark.parametrize('low,high,expected', [
    (None, None, None),
    ([0], [1], ([0.0], [1.0])),
])
def test_optional_bounds_default_only_when_both_are_none(low, high, expected):
  bounds = cem.check_optional_action_bounds(low, high)
  if expected is None:
    assert bounds is None
  else:
    np.testing.assert_array_equal(bounds, expected)


@pytest.mark.parametrize('low,high', [(None, [1.0]), ([-1.0], None)])
def test_only_one_optional_bound_is_rejected(low, high):
  with pytest.raises(ValueError, match='pass both .* or neither'):
    cem.check_optional_action_bounds(low, high)
