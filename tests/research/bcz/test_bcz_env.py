"""The BC-Z env: tasks, determinism, observations and argument checks."""

import numpy as np
import pytest

from research.bcz import bcz_env


@pytest.fixture(scope='module')
def env():
  made = bcz_env.BCZEnv(max_steps=5)
  yield made
  made.close()


def _rollout(env, seed, task):
  obs, _ = env.reset(seed=seed, options={'task': task})
  frames, poses = [obs['image']], [obs['proprioception']]
  for action in ([0.03, 0.0, -0.03, 0, 0, 0.2, 0.0],
                 [0.0, -0.03, -0.03, 0, 0, 0.0, 1.0]):
    obs, _, _, _, _ = env.step(np.array(action, np.float32))
    frames.append(obs['image'])
    poses.append(obs['proprioception'])
  return np.stack(frames), np.stack(poses)


def test_same_seed_same_episode_other_seed_other_layout(env):
  frames, poses = _rollout(env, 7, 'reach the duck')
  _rollout(env, 8, 'reach the duck')
  again_frames, again_poses = _rollout(env, 7, 'reach the duck')
  np.testing.assert_array_equal(frames, again_frames)
  np.testing.assert_array_equal(poses, again_poses)
  other, _ = _rollout(env, 8, 'reach the duck')
  assert not np.array_equal(other[0], frames[0])


def test_layout_depends_on_the_seed_not_the_task(env):
  env.reset(seed=3, options={'task': 'pick up the duck'})
  first = env.privileged_state()['object_positions']
  env.reset(seed=3, options={'task': 'push the blue block to the left'})
  second = env.privileged_state()['object_positions']
  assert sorted(first) == sorted(bcz_env.OBJECT_NAMES)
  for name in first:
    np.testing.assert_array_equal(first[name], second[name])


def test_observation_and_action_follow_the_bcz_layout(env):
  obs, info = env.reset(seed=0, options={'task': 1})
  assert env.observation_space.contains(obs)
  assert obs['image'].shape == (64, 64, 3) and obs['image'].dtype == np.uint8
  assert obs['proprioception'].shape == (7,)
  assert info['task'] == env.tasks[1] and info['task_id'] == 1
  assert env.action_space.shape == (7,)
  # The gripper starts open, pointing down, yaw 0.
  np.testing.assert_allclose(obs['proprioception'][3:], 0.0, atol=1e-3)


def test_time_limit_truncates_without_success(env):
  env.reset(seed=0, options={'task': 'pick up the red block'})
  for _ in range(env.max_steps):
    _, reward, terminated, truncated, info = env.step(np.zeros(7))
  assert truncated and not terminated
  assert reward == 0.0 and info['success'] is False
  with pytest.raises(RuntimeError, match='reset'):
    env.step(np.zeros(7))


def test_objects_stay_apart_and_pushed_objects_have_room():
  rng = np.random.default_rng(0)
  for _ in range(50):
    layout = bcz_env.sample_layout(rng, pushed=('blue block',))
    xy = np.array([pose[:2] for pose in layout.values()])
    distances = np.linalg.norm(xy[:, None] - xy[None], axis=-1)
    assert distances[np.triu_indices(3, 1)].min() >= bcz_env.MIN_SEPARATION
    assert layout['blue block'][1] <= bcz_env.PUSH_MAX_Y


def test_randomization_changes_the_look_but_keeps_object_colours():
  plain = bcz_env.BCZEnv()
  randomized = bcz_env.BCZEnv(randomization='randomized')
  try:
    image, _ = plain.reset(seed=2)
    other, _ = randomized.reset(seed=2)
    assert np.abs(image['image'].astype(int) - other['image']).mean() > 5
    assert randomized.scene.randomization.object_colors is False
    for name, position in plain.privileged_state()[
        'object_positions'].items():
      np.testing.assert_array_equal(
          position, randomized.privileged_state()['object_positions'][name])
  finally:
    plain.close()
    randomized.close()


def test_initial_state_seeds_are_disjoint_across_splits_and_tasks():
  seen = set()
  for split in bcz_env.SEED_STARTS:
    for task_index in range(len(bcz_env.TASKS)):
      seeds = set(bcz_env.initial_state_seeds(split, task_index, 100))
      assert not seeds & seen
      seen |= seeds


@pytest.mark.parametrize('kwargs, match', [
    ({'max_steps': 0}, 'max_steps'),
    ({'substeps': -1}, 'substeps'),
    ({'max_translation': 0.0}, 'max_translation'),
    ({'tasks': ['fly to the moon']}, 'Unknown task'),
    ({'tasks': 'reach the duck'}, 'tasks'),
    ({'task': 'pick up the red block', 'tasks': ['reach the duck']},
     'Unknown task'),
    ({'workspace_low': (1.0, 0.0, 0.0)}, 'workspace_low'),
    ({'render_mode': 'human'}, 'render_mode'),
])
def test_bad_env_arguments_are_value_errors(kwargs, match):
  with pytest.raises(ValueError, match=match):
    bcz_env.BCZEnv(**kwargs)


def test_bad_reset_and_step_arguments_are_value_errors(env):
  with pytest.raises(ValueError, match='Unknown task'):
    env.reset(seed=0, options={'task': 'pick up the cat'})
  with pytest.raises(ValueError, match='options'):
    env.reset(seed=0, options={'colour': 'red'})
  env.reset(seed=0)
  with pytest.raises(ValueError, match='7 finite numbers'):
    env.step(np.zeros(4))
  with pytest.raises(ValueError, match='7 finite numbers'):
    env.step(np.full(7, np.nan))
  with pytest.raises(ValueError, match='split'):
    bcz_env.initial_state_seeds('validation', 0, 3)
  with pytest.raises(ValueError, match='count'):
    bcz_env.initial_state_seeds('train', 0, -1)


@pytest.mark.parametrize('subset, extra', [
    ([], ()),
    (['reach the duck'], ()),
    (['reach the red block', 'reach the duck', 'reach the red block'],
     ('reach the red block',)),
])
def test_a_subset_of_tasks_keeps_the_standard_ids(subset, extra):
  tasks = bcz_env.tasks_with_standard_ids(subset)
  assert tasks == bcz_env.TASKS + extra
  env = bcz_env.BCZEnv(tasks=tasks)
  try:
    assert env.task_table.task_id('reach the duck') == bcz_env.TASKS.index(
        'reach the duck')
  finally:
    env.close()
