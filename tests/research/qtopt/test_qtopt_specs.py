"""Grasping transitions: the record specs, and records that parse back."""

import numpy as np
import pytest
import tensorflow as tf

from research.qtopt import baselines
from research.qtopt import grasping_env
from research.qtopt import qtopt_specs
from t2r import specs
from t2r.data import parsing
from t2r.data import replay_writer

_STATE = ('image', 'gripper_pose', 'time_to_go')


@pytest.fixture(scope='module')
def env():
  environment = grasping_env.KukaGraspMultiStepEnv(
      object_split='test', num_objects=2, settle_substeps=30, max_steps=3,
      action_repeat=30, close_substeps=100, lift_substeps=60)
  yield environment
  environment.close()


@pytest.fixture(scope='module')
def episode(env):
  policy = baselines.RandomDescendingPolicy(env.action_space, seed=0)
  obs, _ = env.reset(seed=0)
  steps, done = [], False
  while not done:
    action, _ = policy.sample_action(obs, 0.0)
    new_obs, reward, done, truncated, info = env.step(action)
    steps.append((obs, action, reward, new_obs, done,
                  dict(info, truncated=truncated)))
    obs = new_obs
  return steps


def test_record_layout_is_the_td_critic_layout():
  record_spec = qtopt_specs.get_qtopt_specs(64, 4)
  assert record_spec.features.keys() == (
      [f'state/{key}' for key in _STATE] + ['action'] +
      [f'next_state/{key}' for key in _STATE])
  assert record_spec.labels.keys() == ['reward', 'done']
  state = qtopt_specs.get_state_specification(64)
  expected_next = specs.next_state_specification(state)
  for key in _STATE:
    assert record_spec.features[f'state/{key}'].name == f'state/{key}'
    assert record_spec.features[f'next_state/{key}'] == expected_next[key]
    assert expected_next[key].name == f'next_state/{key}'
  for key, spec in specs.transition_label_specification().items():
    assert record_spec.labels[key] == spec
  image = record_spec.features['state/image']
  assert image.shape.as_list() == [64, 64, 3] and image.dtype == tf.uint8
  assert image.data_format == 'jpeg'
  assert record_spec.features['action'].shape.as_list() == [4]


def test_specs_follow_the_env():
  env = grasping_env.KukaGraspPointEnv(image_size=(48, 40), num_objects=1)
  try:
    record_spec = qtopt_specs.specs_for_env(env)
  finally:
    env.close()
  assert record_spec.features['state/image'].shape.as_list() == [48, 40, 3]
  assert record_spec.features['action'].shape.as_list() == [3]


@pytest.mark.parametrize('kwargs, match', [
    ({'image_size': -1}, 'image_size'), ({'action_size': 0}, 'action_size'),
    ({'action_size': 2.5}, 'action_size')])
def test_bad_sizes_are_value_errors(kwargs, match):
  with pytest.raises(ValueError, match=match):
    qtopt_specs.get_qtopt_specs(**kwargs)


def test_transitions_match_the_specs(env, episode):
  transitions = qtopt_specs.episode_to_transitions(episode)
  assert len(transitions) == len(episode) == 3
  record_spec = qtopt_specs.specs_for_env(env)
  for features, labels in transitions:
    specs.validate_and_flatten(record_spec.features, features)
    specs.validate_and_flatten(record_spec.labels, labels)
  assert [float(l['done']) for _, l in transitions] == [0.0, 0.0, 1.0]
  np.testing.assert_array_equal(transitions[0][0]['next_state/image'],
                                transitions[1][0]['state/image'])


def _write(path, transitions, record_spec):
  writer = replay_writer.TFRecordReplayWriter(
      feature_spec=record_spec.features, label_spec=record_spec.labels)
  writer.open(path)
  writer.write(transitions)
  writer.close()
  return writer.written_paths


def test_records_parse_back_to_the_episode(env, episode, tmp_path):
  record_spec = qtopt_specs.specs_for_env(env)
  paths = _write(str(tmp_path / 'episode.tfrecord'),
                 qtopt_specs.episode_to_transitions(episode), record_spec)
  records = [r.numpy() for r in tf.data.TFRecordDataset(paths)]
  features, labels = parsing.create_parse_tf_example_fn(
      record_spec.features, record_spec.labels)(records)
  np.testing.assert_array_equal(features['action'].numpy(),
                                np.stack([s[1] for s in episode]))
  np.testing.assert_array_equal(
      features['next_state/gripper_pose'].numpy(),
      np.stack([s[3]['gripper_pose'] for s in episode]))
  np.testing.assert_array_equal(features['state/time_to_go'].numpy()[:, 0],
                                np.float32([1.0, 2 / 3, 1 / 3]))
  np.testing.assert_array_equal(labels['reward'].numpy(),
                                [s[2] for s in episode])
  np.testing.assert_array_equal(labels['done'].numpy(), [0.0, 0.0, 1.0])
  images = np.stack([s[0]['image'] for s in episode]).astype(int)
  assert np.abs(features['state/image'].numpy() - images).mean() < 8.0


def test_bad_steps_are_value_errors(episode):
  with pytest.raises(ValueError, match='expected 6'):
    qtopt_specs.episode_to_transitions([episode[0][:5]])
  obs, action, reward, new_obs, done, info = episode[0]
  with pytest.raises(ValueError, match='gripper_pose'):
    qtopt_specs.episode_to_transitions(
        [({'image': obs['image']}, action, reward, new_obs, done, info)])
