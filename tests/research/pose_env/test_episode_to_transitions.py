"""Converting pose-env episodes into transitions laid out by the specs."""

import numpy as np
import pytest

from research.pose_env.episode_to_transitions import episode_to_transitions
from research.pose_env.pose_env import PoseEnv
from research.pose_env.pose_env_specs import get_pose_env_specs
from t2r import specs


@pytest.fixture(scope='module')
def episode():
  env = PoseEnv()
  try:
    obs, _ = env.reset(seed=0)
    action = np.array([0.1, -0.2])
    new_obs, reward, terminated, _, info = env.step(action)
  finally:
    env.close()
  return [(obs, action, reward, new_obs, terminated, info)]


def test_one_transition_per_step(episode):
  assert len(episode_to_transitions(episode)) == 1
  assert len(episode_to_transitions(episode * 3)) == 3


def test_transitions_match_the_record_specs(episode):
  [transition] = episode_to_transitions(episode)
  flat = specs.validate_and_flatten(get_pose_env_specs(), transition)
  assert flat.keys() == get_pose_env_specs().keys()


def test_values_come_from_the_step(episode):
  obs, action, reward, _, _, info = episode[0]
  [transition] = episode_to_transitions(episode)
  np.testing.assert_array_equal(transition.features['state/image'], obs)
  np.testing.assert_allclose(transition.features.action, action)
  np.testing.assert_allclose(transition.labels.reward, [reward])
  np.testing.assert_array_equal(transition.labels.target_pose,
                                info['target_pose'])


def test_step_with_wrong_arity_is_a_value_error(episode):
  with pytest.raises(ValueError, match='expected 6'):
    episode_to_transitions([episode[0][:5]])


def test_step_without_target_pose_is_a_value_error(episode):
  obs, action, reward, new_obs, done, _ = episode[0]
  with pytest.raises(ValueError, match="no 'target_pose'"):
    episode_to_transitions([(obs, action, reward, new_obs, done, {})])
