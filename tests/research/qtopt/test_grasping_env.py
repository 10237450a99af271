"""The grasping envs: spaces, determinism, the grasp, bad configs."""

import gymnasium
import numpy as np
import pytest

import research.qtopt
from research.qtopt import baselines
from research.qtopt import grasping_env


@pytest.fixture(scope='module')
def multi_step():
  env = grasping_env.KukaGraspMultiStepEnv(object_split='test')
  yield env
  env.close()


@pytest.fixture(scope='module')
def small_multi_step():
  """A cheaper episode (fewer objects and substeps) for mechanics tests."""
  env = grasping_env.KukaGraspMultiStepEnv(
      object_split='test', num_objects=2, settle_substeps=40,
      action_repeat=30, close_substeps=100, lift_substeps=100)
  yield env
  env.close()


@pytest.fixture(scope='module')
def grasp_point():
  env = grasping_env.KukaGraspPointEnv(object_split='test',
                                       render_mode='rgb_array')
  yield env
  env.close()


def _run(env, policy, seed):
  """Runs one episode; returns its images, rewards and last info."""
  policy.reset()
  obs, info = env.reset(seed=seed)
  images, rewards, done = [obs['image']], [], False
  while not done:
    action, _ = policy.sample_action(obs, 0.0)
    obs, reward, done, truncated, info = env.step(action)
    assert not truncated
    images.append(obs['image'])
    rewards.append(reward)
  return np.stack(images), rewards, info


def test_observation_and_action_spaces(multi_step, grasp_point):
  for env in (multi_step, grasp_point):
    space = env.observation_space
    assert sorted(space.spaces) == ['gripper_pose', 'image', 'time_to_go']
    assert space['image'].shape == (64, 64, 3)
    assert space['image'].dtype == np.uint8
    assert space['gripper_pose'].shape == (4,)
    assert space['time_to_go'].shape == (1,)
  assert multi_step.action_space.shape == (4,)
  np.testing.assert_array_equal(multi_step.action_space.low, -1.0)
  np.testing.assert_array_equal(multi_step.action_space.high, 1.0)
  assert grasp_point.action_space.shape == (3,)
  np.testing.assert_allclose(grasp_point.action_space.low,
                             [0.4, -0.15, -np.pi / 2], rtol=1e-6)


def test_registered_ids_build_the_envs():
  for env_id, env_class in (
      (research.qtopt.MULTI_STEP_ENV_ID, grasping_env.KukaGraspMultiStepEnv),
      (research.qtopt.GRASP_POINT_ENV_ID, grasping_env.KukaGraspPointEnv)):
    env = gymnasium.make(env_id, image_size=(24, 32), num_objects=1)
    try:
      assert isinstance(env.unwrapped, env_class)
      assert env.observation_space['image'].shape == (24, 32, 3)
    finally:
      env.close()


def test_multi_step_episode_observations_and_info(small_multi_step):
  multi_step = small_multi_step
  obs, info = multi_step.reset(seed=0)
  assert multi_step.observation_space.contains(obs)
  assert info['object_positions'].shape == (2, 3)
  assert not info['success'] and info['step'] == 0
  time_to_go = [float(obs['time_to_go'][0])]
  for step in range(8):
    obs, reward, terminated, _, info = multi_step.step([0.0, 0.0, -1.0, 0.0])
    time_to_go.append(float(obs['time_to_go'][0]))
    assert terminated == (step == 7)
    assert reward == (float(info['success']) if terminated else 0.0)
  np.testing.assert_allclose(time_to_go, np.linspace(1.0, 0.0, 9))
  assert obs['gripper_pose'][2] > 0.3  # Lifted.
  with pytest.raises(RuntimeError, match='reset'):
    multi_step.step([0.0, 0.0, 0.0, 0.0])


def test_same_seed_gives_the_same_images_and_rewards(small_multi_step):
  multi_step = small_multi_step
  policy = baselines.RandomDescendingPolicy(multi_step.action_space, seed=3)
  first = _run(multi_step, policy, seed=5)
  policy = baselines.RandomDescendingPolicy(multi_step.action_space, seed=3)
  second = _run(multi_step, policy, seed=5)
  np.testing.assert_array_equal(first[0], second[0])
  assert first[1] == second[1]
  np.testing.assert_array_equal(first[2]['object_positions'],
                                second[2]['object_positions'])
  other, _ = multi_step.reset(seed=6)
  assert not np.array_equal(other['image'], first[0][0])


@pytest.mark.parametrize('seed', [0, 1])
def test_privileged_expert_grasps_at_a_grasp_point(grasp_point, seed):
  _, rewards, info = _run(grasp_point,
                          baselines.PrivilegedExpertPolicy([grasp_point]), seed)
  assert rewards == [1.0] and info['success'] and info['num_lifted'] >= 1
  assert info['object_positions'][:, 2].max() > 0.2
  rendered = grasp_point.render()
  assert rendered.shape == (64, 64, 3) and rendered.dtype == np.uint8


def test_privileged_expert_grasps_in_eight_steps(multi_step):
  _, rewards, info = _run(multi_step,
                          baselines.PrivilegedExpertPolicy(multi_step), 0)
  assert rewards == [0.0] * 7 + [1.0] and info['success']


def test_randomized_env_changes_images_not_objects(multi_step):
  env = grasping_env.KukaGraspMultiStepEnv(object_split='test',
                                           randomization='shifted')
  try:
    obs, info = env.reset(seed=2)
  finally:
    env.close()
  plain_obs, plain_info = multi_step.reset(seed=2)
  np.testing.assert_array_equal(info['object_positions'],
                                plain_info['object_positions'])
  assert np.abs(obs['image'].astype(int) - plain_obs['image']).mean() > 5


def test_terminate_action_grasps_early():
  env = grasping_env.KukaGraspMultiStepEnv(object_split='test', num_objects=1,
                                           settle_substeps=20,
                                           terminate_action=True)
  try:
    assert env.action_space.shape == (5,)
    env.reset(seed=0)
    _, _, terminated, _, _ = env.step([0.0, 0.0, -1.0, 0.0, -1.0])
    assert not terminated
    _, _, terminated, _, info = env.step([0.0, 0.0, -1.0, 0.0, 1.0])
    assert terminated and info['step'] == 2
  finally:
    env.close()


@pytest.mark.parametrize('action', [[0.0, 0.0, 0.0], [0.0, np.nan, 0.0, 0.0],
                                    'down'])
def test_bad_action_is_a_value_error(multi_step, action):
  multi_step.reset(seed=0)
  with pytest.raises(ValueError, match='expects 4'):
    multi_step.step(action)


@pytest.mark.parametrize('env_class, kwargs, match', [
    (grasping_env.KukaGraspMultiStepEnv, {'image_size': 0}, 'image_size'),
    (grasping_env.KukaGraspMultiStepEnv, {'object_split': 'val'},
     'object_split'),
    (grasping_env.KukaGraspMultiStepEnv, {'max_steps': 0}, 'max_steps'),
    (grasping_env.KukaGraspMultiStepEnv, {'translation_scale': -0.1},
     'translation_scale'),
    (grasping_env.KukaGraspMultiStepEnv,
     {'workspace_low': (0.5, 0.0, 0.0), 'workspace_high': (0.4, 0.1, 0.1)},
     'workspace'),
    (grasping_env.KukaGraspMultiStepEnv, {'randomization': 'real'},
     'randomization'),
    (grasping_env.KukaGraspMultiStepEnv, {'render_mode': 'human'},
     'render_mode'),
    (grasping_env.KukaGraspMultiStepEnv, {'close_substeps': 0},
     'close_substeps'),
    (grasping_env.KukaGraspPointEnv, {'grasp_height': 0.3}, 'grasp_height'),
    (grasping_env.KukaGraspPointEnv, {'action_low': (0.4, 0.0)},
     'action_low'),
])
def test_bad_config_is_a_value_error(env_class, kwargs, match):
  with pytest.raises(ValueError, match=match):
    env_class(**kwargs)


def test_reset_options_are_a_value_error(grasp_point):
  with pytest.raises(ValueError, match='options'):
    grasp_point.reset(seed=0, options={'new_task': True})
