"""The uniform random policy used to collect pose-env data."""

import numpy as np
import pytest

from research.pose_env.random_policy import PoseEnvRandomPolicy
from t2r import policies


def _actions(policy, count=200):
  return np.stack([policy.sample_action(None, 0.0)[0] for _ in range(count)])


def test_actions_are_float32_pairs_with_empty_debug():
  action, debug = PoseEnvRandomPolicy(seed=0).sample_action(None, 1.0)
  assert action.shape == (2,) and action.dtype == np.float32
  assert debug == {}


def test_actions_cover_the_duck_range_by_default():
  actions = _actions(PoseEnvRandomPolicy(seed=0))
  assert np.all(actions >= [-0.7, -0.4]) and np.all(actions <= [0.7, 0.4])
  # Uniform draws reach near every edge of the table area.
  np.testing.assert_allclose(actions.min(axis=0), [-0.7, -0.4], atol=0.05)
  np.testing.assert_allclose(actions.max(axis=0), [0.7, 0.4], atol=0.05)


def test_bounds_are_configurable():
  actions = _actions(PoseEnvRandomPolicy(low=(0.1, 0.2), high=(0.3, 0.25),
                                         seed=0))
  assert np.all(actions >= [0.1, 0.2]) and np.all(actions <= [0.3, 0.25])


def test_is_a_t2r_policy_without_a_model():
  policy = PoseEnvRandomPolicy(seed=0)
  assert isinstance(policy, policies.Policy)
  assert policy.predictor is None
  assert not policy.restore()
  assert policy.global_step == -1
  assert policy.SelectAction(None).shape == (2,)


def test_same_seed_gives_same_actions():
  np.testing.assert_array_equal(_actions(PoseEnvRandomPolicy(seed=3)),
                                _actions(PoseEnvRandomPolicy(seed=3)))


def test_reset_keeps_the_random_stream_going():
  policy = PoseEnvRandomPolicy(seed=3)
  first = policy.sample_action(None, 0.0)[0]
  policy.reset()
  assert not np.array_equal(policy.sample_action(None, 0.0)[0], first)


@pytest.mark.parametrize('low, high, message', [
    ((0.5, 0.0), (0.0, 1.0), 'action_low < action_high'),
    ((0.0, 0.0), (1.0, np.inf), 'finite'),
    ((0.0,), (1.0,), '2 entries'),
])
def test_invalid_bounds_are_a_value_error(low, high, message):
  with pytest.raises(ValueError, match=message):
    PoseEnvRandomPolicy(low=low, high=high)
