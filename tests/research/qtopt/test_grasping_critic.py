"""GraspingCriticModel: QT-Opt's critic on the grasping records, exported.

Training from the collectors' records and serving the 64x64 critic's
exports in fresh processes is tested end to end in
test_grasp_point_flywheel.py.
"""

import numpy as np
import pytest
import tensorflow as tf

from research.qtopt import grasping_critic
from research.qtopt import qtopt_specs
from t2r import policies
from t2r import specs
from t2r.modes import ModeKeys
from t2r.policies import cem_export_generator
from t2r.predictors import exported_savedmodel_predictor

_LOW = (0.4, -0.15, -1.5)
_HIGH = (0.7, 0.15, 1.5)


def _critic(**kwargs):
  arguments = dict(network='small', image_size=64, action_size=3, gamma=0.0,
                   action_low=_LOW, action_high=_HIGH, action_batch_size=16,
                   cem_num_samples=16, cem_num_elites=4)
  arguments.update(kwargs)
  return grasping_critic.GraspingCriticModel(**arguments)


def _transitions(count, seed=0, image_size=64):
  rng = np.random.default_rng(seed)
  transitions = []
  for _ in range(count):
    features, labels = specs.TensorSpecStruct(), specs.TensorSpecStruct()
    for prefix in ('state', 'next_state'):
      features[f'{prefix}/image'] = rng.integers(
          0, 256, (image_size, image_size, 3), np.uint8)
      features[f'{prefix}/gripper_pose'] = rng.normal(size=4).astype(
          np.float32)
      features[f'{prefix}/time_to_go'] = np.ones(1, np.float32)
    features['action'] = rng.uniform(_LOW, _HIGH).astype(np.float32)
    labels['reward'] = np.float32(rng.integers(0, 2))
    labels['done'] = np.float32(1.0)
    transitions.append((features, labels))
  return transitions


def _export_and_serve(critic, export_dir, image_size):
  """Exports `critic` with the in-graph CEM; one greedy action served."""
  path = cem_export_generator.CEMExportGenerator(
      num_samples=16, num_elites=4, cem_iterations=2,
      export_tf_example_signature=False).export(critic, export_dir, 0)
  predictor = exported_savedmodel_predictor.ExportedSavedModelPredictor(
      export_dir)
  assert predictor.restore() and predictor.model_path == path
  policy = policies.CEMPolicy(predictor, exported_cem_signature='cem_action',
                              seed=0)
  obs = {'image': np.zeros(tuple(image_size) + (3,), np.uint8),
         'gripper_pose': np.zeros(4, np.float32),
         'time_to_go': np.ones(1, np.float32)}
  action, _ = policy.sample_action(obs, explore_prob=0.0)
  return np.asarray(action)


def test_the_critic_parses_exactly_what_the_collectors_record():
  critic = _critic()
  parsed = critic.preprocessor.get_in_feature_specification(ModeKeys.TRAIN)
  recorded = qtopt_specs.get_record_feature_specification(64, 3)
  assert parsed.keys() == recorded.keys()
  for path in recorded.keys():
    assert parsed[path].shape == recorded[path].shape, path
    assert parsed[path].dtype == recorded[path].dtype, path
    assert parsed[path].name == recorded[path].name, path
    assert parsed[path].data_format == recorded[path].data_format, path
  assert (critic.preprocessor.get_in_label_specification(
      ModeKeys.TRAIN).keys() ==
          qtopt_specs.get_record_label_specification().keys())


def test_the_q_head_reads_the_action_and_the_gripper_state():
  critic = _critic()
  network = critic.q_network
  features = specs.TensorSpecStruct({
      'state/image': tf.zeros((2, 64, 64, 3)),
      'state/gripper_pose': tf.zeros((2, 4)),
      'state/time_to_go': tf.ones((2, 1)),
      'action': tf.zeros((2, 3))})
  network(features)
  head_input = network.network.head.weights[0]
  assert head_input.shape[0] == 3 + 4 + 1


def test_tower_once_per_state_scores_like_the_whole_network():
  critic = _critic()
  states = specs.TensorSpecStruct({
      'state/image': tf.random.uniform((2, 64, 64, 3), seed=1),
      'state/gripper_pose': tf.random.normal((2, 4), seed=2),
      'state/time_to_go': tf.ones((2, 1))})
  actions = tf.random.uniform((2 * 16, 3), seed=3)
  whole = specs.TensorSpecStruct(
      {path: tf.repeat(value, 16, axis=0) for path, value in states.items()})
  whole['action'] = actions
  expected = critic.q_network(whole, training=False)
  split = specs.TensorSpecStruct(states)
  split['action'] = actions
  embedding = critic.state_embedding_fn(split, ModeKeys.PREDICT)
  scored = critic.q_from_state_embedding_fn(
      tf.repeat(embedding, 16, axis=0), split, ModeKeys.PREDICT)
  np.testing.assert_allclose(scored.numpy(), expected.numpy(), atol=1e-5)


@pytest.mark.parametrize('kwargs, message', [
    ({'network': 'huge'}, "network must be one of"),
    ({'loss_type': 'mse'}, 'log loss'),
    ({'action_size': 0}, 'action_size must be a positive int'),
    ({'network': 'glimpse', 'action_size': 4}, 'projects grasp points'),
    ({'network': 'glimpse', 'source_image_size': (80, 80)},
     'source_image_size must equal image_size'),
])
def test_bad_arguments_are_clear_value_errors(kwargs, message):
  with pytest.raises(ValueError, match=message):
    _critic(**kwargs)


def test_td_targets_bootstrap_through_the_batch_norm_target_network():
  critic = _critic(gamma=0.9, cem_iterations=1)
  critic.compile()
  batch = _transitions(4, seed=1)
  features = specs.TensorSpecStruct({
      path: tf.cast(np.stack([f[path] for f, _ in batch]), tf.float32) / (
          255.0 if path.endswith('image') else 1.0)
      for path in batch[0][0].keys()})
  labels = specs.TensorSpecStruct({
      'reward': tf.zeros(4), 'done': tf.zeros(4)})
  critic.build_from_specs()
  critic.update_target_network()
  targets = critic.bellman_target(features, labels)
  _, next_q = critic.target_max_q(features)
  np.testing.assert_allclose(targets.numpy(), 0.9 * next_q.numpy(),
                             rtol=1e-6)
  assert np.all((next_q.numpy() > 0) & (next_q.numpy() < 1))


def test_the_full_size_critic_exports_and_serves_cem_action(tmp_path):
  critic = grasping_critic.GraspingCriticModel(
      network='full', image_size=472, source_image_size=(512, 640),
      action_size=4, gamma=0.0, action_batch_size=16)
  action = _export_and_serve(critic, str(tmp_path / 'export'), (512, 640))
  assert action.shape == (4,)
  assert np.all(np.abs(action) <= 1.0)


def _model_inputs(transitions):
  """The preprocessor's output for `transitions`: float images in [0, 1]."""
  features = specs.TensorSpecStruct({
      path: tf.cast(np.stack([f[path] for f, _ in transitions]), tf.float32)
      / (255.0 if path.endswith('image') else 1.0)
      for path in transitions[0][0].keys()})
  labels = specs.TensorSpecStruct({
      path: tf.constant(np.stack([l[path] for _, l in transitions]))
      for path in transitions[0][1].keys()})
  return features, labels


def test_the_glimpse_critic_trains_exports_and_serves_cem_action(tmp_path):
  critic = _critic(network='glimpse', gamma=0.9, cem_iterations=1)
  critic.compile()
  dataset = tf.data.Dataset.from_tensors(
      _model_inputs(_transitions(8, seed=2))).repeat()
  critic.build_from_specs()
  initial = critic.q_network.get_weights()
  history = critic.fit(dataset, steps_per_epoch=3, epochs=1, verbose=0)
  assert np.isfinite(history.history['loss'][-1])
  assert any(not np.array_equal(before, after) for before, after in zip(
      initial, critic.q_network.get_weights()))
  action = _export_and_serve(critic, str(tmp_path / 'export'), (64, 64))
  assert action.shape == (3,)
  assert np.all(np.abs(action) <= 1.0)
