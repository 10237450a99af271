"""Collecting pose-env episodes into TFRecords the t2r parser reads back."""

import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from research.pose_env import collection
from research.pose_env.pose_env import PoseEnv
from research.pose_env.pose_env_specs import get_pose_env_specs
from research.pose_env.random_policy import PoseEnvRandomPolicy
from t2r import specs
from t2r.data import parsing

_REPO_ROOT = os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
        __file__)))))
_NUM_EPISODES = 5


@pytest.fixture(scope='module')
def env():
  environment = PoseEnv()
  yield environment
  environment.close()


def _collect(env, output_dir, seed=0, **kwargs):
  return collection.collect_episodes(
      env, PoseEnvRandomPolicy(seed=seed), num_episodes=_NUM_EPISODES,
      output_dir=str(output_dir), seed=seed, **kwargs)


def _records(paths):
  return [r.numpy() for r in tf.data.TFRecordDataset(paths)]


def _parse(paths):
  record_spec = get_pose_env_specs()
  parse_fn = parsing.create_parse_tf_example_fn(record_spec.features,
                                                record_spec.labels)
  features, labels = parse_fn(_records(paths))
  return ({k: v.numpy() for k, v in features.items()},
          {k: v.numpy() for k, v in labels.items()})


def test_run_episode_records_one_step_with_info(env):
  [step] = collection.run_episode(env, PoseEnvRandomPolicy(seed=0), seed=0)
  obs, action, reward, new_obs, done, info = step
  assert obs.shape == new_obs.shape == (64, 64, 3)
  assert done
  assert reward == pytest.approx(
      -np.linalg.norm(action - info['target_pose']), abs=1e-6)


def test_collect_writes_one_record_per_episode(env, tmp_path):
  stats = _collect(env, tmp_path)
  assert stats.paths == [str(tmp_path / 'pose_env-seed0-5.tfrecord')]
  assert stats.num_episodes == stats.num_transitions == _NUM_EPISODES
  assert len(_records(stats.paths)) == _NUM_EPISODES
  assert sorted(os.listdir(tmp_path)) == ['pose_env-seed0-5.tfrecord']


def test_records_parse_back_into_arrays_matching_the_specs(env, tmp_path):
  features, labels = _parse(_collect(env, tmp_path).paths)
  record_spec = get_pose_env_specs()
  for values, group in ((features, record_spec.features),
                        (labels, record_spec.labels)):
    assert sorted(values) == sorted(group.keys())
    for path, value in values.items():
      assert value.shape == (_NUM_EPISODES,) + tuple(group[path].shape)
      assert value.dtype == group[path].dtype.as_numpy_dtype


def test_records_hold_the_episodes_that_were_run(env, tmp_path):
  stats = _collect(env, tmp_path)
  features, labels = _parse(stats.paths)
  policy = PoseEnvRandomPolicy(seed=0)
  episodes = [collection.run_episode(env, policy, seed=0 if i == 0 else None)
              for i in range(_NUM_EPISODES)]
  images = np.stack([episode[0][0] for episode in episodes])
  actions = np.stack([episode[0][1] for episode in episodes])
  rewards = np.array([[episode[0][2]] for episode in episodes], np.float32)
  targets = np.stack([episode[0][5]['target_pose'] for episode in episodes])
  np.testing.assert_array_equal(features['action'], actions)
  np.testing.assert_array_equal(labels['reward'], rewards)
  np.testing.assert_array_equal(labels['target_pose'], targets)
  # JPEG is lossy: each decoded image is nearest to its own rendering.
  decoded = features['state/image'].astype(np.int32)
  errors = np.abs(decoded[:, None] - images[None].astype(np.int32)).mean(
      axis=(2, 3, 4))
  np.testing.assert_array_equal(errors.argmin(axis=1),
                                np.arange(_NUM_EPISODES))
  assert np.diag(errors).max() < 8.0
  assert stats.mean_reward == pytest.approx(rewards.mean(), abs=1e-6)


def test_reward_parses_as_the_scalar_a_critic_model_declares(env, tmp_path):
  paths = _collect(env, tmp_path).paths
  critic_features = specs.TensorSpecStruct({
      'state/image': get_pose_env_specs().features['state/image'],
      'action/pose': specs.ExtendedTensorSpec((2,), tf.float32, name='action'),
  })
  critic_labels = specs.TensorSpecStruct(
      reward=specs.ExtendedTensorSpec((), tf.float32, name='reward'))
  features, labels = parsing.create_parse_tf_example_fn(
      critic_features, critic_labels)(_records(paths))
  reference_features, reference_labels = _parse(paths)
  np.testing.assert_array_equal(features['action/pose'].numpy(),
                                reference_features['action'])
  np.testing.assert_array_equal(labels['reward'].numpy(),
                                reference_labels['reward'][:, 0])


def test_same_seed_writes_the_same_records(env, tmp_path):
  first = _collect(env, tmp_path / 'a')
  second = _collect(env, tmp_path / 'b')
  assert _records(first.paths) == _records(second.paths)


def test_existing_file_is_a_value_error(env, tmp_path):
  _collect(env, tmp_path)
  with pytest.raises(ValueError, match='already exists'):
    _collect(env, tmp_path)


@pytest.mark.parametrize('num_episodes', [0, -1, 1.5, True])
def test_invalid_episode_counts_are_a_value_error(env, tmp_path,
                                                   num_episodes):
  with pytest.raises(ValueError, match='must be a positive int'):
    collection.collect_episodes(env, PoseEnvRandomPolicy(seed=0),
                                num_episodes=num_episodes,
                                output_dir=str(tmp_path))


def test_progress_lines_report_episodes_and_reward(env, tmp_path, capsys):
  collection.collect_episodes(env, PoseEnvRandomPolicy(seed=0),
                              num_episodes=3, output_dir=str(tmp_path),
                              seed=0)
  last_line = capsys.readouterr().out.splitlines()[-1]
  assert last_line.startswith('[collect pose_env-seed0-3.tfrecord] 3/3 '
                              'episodes (100%)')
  assert 'mean_reward' in last_line


def test_command_line_collects_with_the_gin_config(tmp_path):
  result = subprocess.run(
      [sys.executable, '-m', 'research.pose_env.collect',
       f'--output_dir={tmp_path}', '--num_episodes=3', '--seed=1',
       '--gin_configs=research/pose_env/configs/collect.gin',
       '--gin_bindings=PoseEnv.image_size = 32'],
      cwd=_REPO_ROOT, capture_output=True, text=True, timeout=120,
      env={**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '2'})
  assert result.returncode == 0, result.stderr
  path = tmp_path / 'pose_env-seed1-3.tfrecord'
  record_spec = get_pose_env_specs(32)
  parse_fn = parsing.create_parse_tf_example_fn(record_spec.features,
                                                record_spec.labels)
  features, _ = parse_fn(_records([str(path)]))
  assert features['state/image'].shape == (3, 32, 32, 3)
