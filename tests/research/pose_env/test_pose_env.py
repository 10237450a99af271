"""The duck pose env: gymnasium API, determinism, rewards, visibility."""

import gymnasium
from gymnasium.utils import env_checker
import numpy as np
import pybullet
import pytest

from research.pose_env import pose_env
from research.pose_env.pose_env import PoseEnv


@pytest.fixture
def env():
  environment = PoseEnv(render_mode='rgb_array')
  yield environment
  environment.close()


def test_passes_gymnasium_env_checker():
  environment = gymnasium.make(pose_env.ENV_ID, render_mode='rgb_array')
  try:
    env_checker.check_env(environment.unwrapped, skip_render_check=False)
  finally:
    environment.close()


def test_is_a_gymnasium_env_with_image_observations(env):
  assert isinstance(env, gymnasium.Env)
  assert env.observation_space == gymnasium.spaces.Box(0, 255, (64, 64, 3),
                                                       np.uint8)


def test_reset_returns_an_image_in_the_observation_space(env):
  image, _ = env.reset(seed=0)
  assert image.dtype == np.uint8 and image.shape == (64, 64, 3)
  assert env.observation_space.contains(image)


@pytest.mark.parametrize('image_size, shape', [(32, (32, 32, 3)),
                                               ((48, 40), (48, 40, 3))])
def test_image_size_sets_the_observation_shape(image_size, shape):
  environment = PoseEnv(image_size=image_size)
  try:
    image, _ = environment.reset(seed=0)
  finally:
    environment.close()
  assert image.shape == shape
  assert environment.observation_space.shape == shape


def test_action_space_is_the_duck_range_without_drift(env):
  np.testing.assert_allclose(env.action_space.low, [-0.7, -0.4])
  np.testing.assert_allclose(env.action_space.high, [0.7, 0.4])
  assert env.action_space.dtype == np.float32


def test_action_space_widens_by_the_drift_range():
  environment = PoseEnv(hidden_drift=True, drift_range=0.2)
  environment.close()
  np.testing.assert_allclose(environment.action_space.low, [-0.9, -0.6])
  np.testing.assert_allclose(environment.action_space.high, [0.9, 0.6])


def test_duck_pose_lies_on_the_table_and_target_in_action_space(env):
  env.reset(seed=3)
  for _ in range(20):
    _, info = env.reset()
    x, y, yaw = info['duck_pose']
    assert pose_env.DUCK_X_RANGE[0] <= x <= pose_env.DUCK_X_RANGE[1]
    assert pose_env.DUCK_Y_RANGE[0] <= y <= pose_env.DUCK_Y_RANGE[1]
    assert -np.pi <= yaw <= np.pi
    assert env.action_space.contains(info['target_pose'])


def test_same_seed_gives_identical_images_and_poses():
  first, second = PoseEnv(), PoseEnv()
  try:
    results = [[env.reset(seed=7)] + [env.reset() for _ in range(2)]
               for env in (first, second)]
  finally:
    first.close()
    second.close()
  for (image_a, info_a), (image_b, info_b) in zip(*results):
    assert image_a.tobytes() == image_b.tobytes()
    np.testing.assert_array_equal(info_a['target_pose'], info_b['target_pose'])
    assert info_a['camera_yaw'] == info_b['camera_yaw']


def test_different_seeds_give_different_images_and_poses(env):
  image_a, info_a = env.reset(seed=1)
  image_b, info_b = env.reset(seed=2)
  assert image_a.tobytes() != image_b.tobytes()
  assert not np.array_equal(info_a['target_pose'], info_b['target_pose'])


def test_reward_is_minus_the_distance_to_the_target(env):
  _, info = env.reset(seed=0)
  action = info['target_pose'] + np.array([0.3, -0.4], np.float32)
  _, reward, _, _, _ = env.step(action)
  assert reward == pytest.approx(-0.5, abs=1e-6)


def test_exact_guess_gets_zero_reward(env):
  _, info = env.reset(seed=0)
  _, reward, _, _, _ = env.step(info['target_pose'])
  assert reward == 0.0


def test_episode_is_one_step_and_keeps_the_image(env):
  image, _ = env.reset(seed=0)
  new_image, _, terminated, truncated, info = env.step([0.0, 0.0])
  assert terminated and not truncated
  np.testing.assert_array_equal(new_image, image)
  assert 'target_pose' in info


def test_step_after_the_episode_ends_asks_for_reset(env):
  env.reset(seed=0)
  env.step([0.0, 0.0])
  with pytest.raises(RuntimeError, match='call reset'):
    env.step([0.0, 0.0])


@pytest.mark.parametrize('action', [[0.0], [0.0, 0.0, 0.0], [np.nan, 0.0]])
def test_malformed_action_is_a_value_error(env, action):
  env.reset(seed=0)
  with pytest.raises(ValueError, match=r'predicted \(x, y\)'):
    env.step(action)


@pytest.mark.parametrize('seed', range(8))
def test_duck_is_visible_in_every_camera_draw(seed):
  environment = PoseEnv()
  try:
    with_duck, info = environment.reset(seed=seed)
    # The same camera with the duck moved below the floor.
    pybullet.resetBasePositionAndOrientation(
        environment._duck, [0, 0, -5], [0, 0, 0, 1],
        physicsClientId=environment._client)
    without_duck, no_duck_pixels = environment._render()
  finally:
    environment.close()
  assert no_duck_pixels == 0
  assert info['duck_pixels'] >= 10
  assert np.count_nonzero(np.any(with_duck != without_duck, axis=-1)) >= 10


def test_drift_shifts_the_target_but_not_the_image():
  plain = PoseEnv()
  drifting = PoseEnv(hidden_drift=True)
  try:
    image, info = plain.reset(seed=5)
    drift_image, drift_info = drifting.reset(seed=5)
  finally:
    plain.close()
    drifting.close()
  assert drift_image.tobytes() == image.tobytes()
  np.testing.assert_array_equal(drift_info['duck_pose'], info['duck_pose'])
  assert np.any(drift_info['drift'] != 0)
  np.testing.assert_allclose(drift_info['target_pose'],
                             info['target_pose'] + drift_info['drift'],
                             atol=1e-6)


def test_task_keeps_camera_and_drift_for_episodes_per_task():
  environment = PoseEnv(hidden_drift=True, episodes_per_task=3)
  try:
    infos = [environment.reset(seed=0)[1]] + [
        environment.reset()[1] for _ in range(3)]
  finally:
    environment.close()
  assert [info['task_id'] for info in infos] == [0, 0, 0, 1]
  assert len({info['camera_yaw'] for info in infos[:3]}) == 1
  np.testing.assert_array_equal(infos[0]['drift'], infos[2]['drift'])
  assert infos[3]['camera_yaw'] != infos[0]['camera_yaw']
  assert not np.array_equal(infos[0]['duck_pose'], infos[1]['duck_pose'])


def test_new_task_option_starts_a_new_task():
  environment = PoseEnv(episodes_per_task=10)
  try:
    _, first = environment.reset(seed=0)
    _, second = environment.reset(options={'new_task': True})
  finally:
    environment.close()
  assert second['task_id'] == first['task_id'] + 1
  assert second['camera_yaw'] != first['camera_yaw']


def test_unknown_reset_option_is_a_value_error(env):
  with pytest.raises(ValueError, match="'new_task'"):
    env.reset(seed=0, options={'new_camera': True})


def test_render_returns_the_current_image(env):
  image, _ = env.reset(seed=0)
  np.testing.assert_array_equal(env.render(), image)


@pytest.mark.parametrize('kwargs, message', [
    ({'image_size': 0}, 'image_size'),
    ({'camera_pitch_range': (-40.0, -70.0)}, 'camera_pitch_range'),
    ({'camera_pitch_range': (-40.0, 10.0)}, 'camera_pitch_range'),
    ({'camera_distance': 0.0}, 'camera_distance'),
    ({'duck_scale': -1.0}, 'duck_scale'),
    ({'episodes_per_task': 0}, 'episodes_per_task'),
    ({'render_mode': 'human'}, 'render_mode'),
])
def test_invalid_arguments_name_the_argument(kwargs, message):
  with pytest.raises(ValueError, match=message):
    PoseEnv(**kwargs)


def test_several_envs_coexist_and_close_independently():
  first, second = PoseEnv(), PoseEnv()
  first.reset(seed=0)
  first.close()
  image, _ = second.reset(seed=0)
  second.close()
  assert image.shape == (64, 64, 3)


def test_reset_after_close_is_an_error():
  environment = PoseEnv()
  environment.close()
  with pytest.raises(RuntimeError, match='close'):
    environment.reset(seed=0)
