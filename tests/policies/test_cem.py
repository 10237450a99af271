"""cross_entropy_method: finds the maximum of a known function in bounds."""

import numpy as np
import pytest

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
