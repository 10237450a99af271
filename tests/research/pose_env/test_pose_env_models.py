"""Pose-env models: specs tied to the records, shapes, learning, CEM tiling."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from research.pose_env import collection
from research.pose_env import pose_env_models
from research.pose_env.pose_env import PoseEnv
from research.pose_env.pose_env_specs import get_pose_env_specs
from research.pose_env.random_policy import PoseEnvRandomPolicy
from t2r import models
from t2r import specs
from t2r.data import parsing
from t2r.modes import ModeKeys

_MODEL_CLASSES = [pose_env_models.PoseEnvRegressionModel,
                  pose_env_models.PoseEnvContinuousMCModel]
_NUM_EPISODES = 8


@pytest.fixture(autouse=True)
def _seed():
  """Same initial weights on every run."""
  tf_keras.utils.set_random_seed(0)


@pytest.fixture(scope='module')
def episodes():
  """(images uint8, actions, rewards, target poses) of a few episodes."""
  env = PoseEnv()
  try:
    steps = [collection.run_episode(env, PoseEnvRandomPolicy(seed=0), seed=i)
             [0] for i in range(_NUM_EPISODES)]
  finally:
    env.close()
  return (np.stack([s[0] for s in steps]),
          np.stack([s[1] for s in steps]).astype(np.float32),
          np.array([s[2] for s in steps], np.float32),
          np.stack([s[5]['target_pose'] for s in steps]))


@pytest.fixture(scope='module')
def records(tmp_path_factory):
  """Paths of TFRecords that `collect_episodes` wrote."""
  env = PoseEnv()
  try:
    stats = collection.collect_episodes(
        env, PoseEnvRandomPolicy(seed=0), num_episodes=4,
        output_dir=str(tmp_path_factory.mktemp('records')), seed=0)
  finally:
    env.close()
  return stats.paths


def _adam(learning_rate=3e-3):
  return lambda: models.create_adam_optimizer(learning_rate=learning_rate)


def _regression_features(images):
  return specs.TensorSpecStruct(
      {'state/image': images.astype(np.float32) / 255.0})


def _critic_features(images, actions):
  return specs.TensorSpecStruct({
      'state/image': images.astype(np.float32) / 255.0,
      'action/pose': actions})


def test_regression_specs_are_the_record_specs_as_the_model_sees_them():
  record_spec = get_pose_env_specs()
  model = pose_env_models.PoseEnvRegressionModel()
  image = model.get_feature_specification(ModeKeys.TRAIN)['state/image']
  assert (image.shape, image.dtype, image.name, image.data_format) == (
      (64, 64, 3), tf.float32, 'state/image', None)
  assert model.get_label_specification(ModeKeys.TRAIN)['target_pose'] == (
      record_spec['labels/target_pose'])


def test_critic_specs_are_the_record_specs_as_the_model_sees_them():
  record_spec = get_pose_env_specs()
  critic = pose_env_models.PoseEnvContinuousMCModel()
  feature_spec = critic.get_feature_specification(ModeKeys.TRAIN)
  assert feature_spec.keys() == ['state/image', 'action/pose']
  assert feature_spec['action/pose'] == record_spec['features/action']
  assert feature_spec['state/image'].name == 'state/image'
  label = critic.get_label_specification(ModeKeys.TRAIN)['reward']
  assert (label.name, label.shape) == ('reward', ())


@pytest.mark.parametrize('model_cls', _MODEL_CLASSES)
def test_preprocessor_reads_the_recorded_jpeg_image(model_cls):
  recorded = get_pose_env_specs()['features/state/image']
  model = model_cls()
  for mode in (ModeKeys.TRAIN, ModeKeys.PREDICT):
    in_image = model.preprocessor.get_in_feature_specification(mode)[
        'state/image']
    assert in_image == recorded


@pytest.mark.parametrize('model_cls', _MODEL_CLASSES)
def test_collected_records_parse_and_preprocess_into_the_model_specs(
    model_cls, records):
  model = model_cls()
  preprocessor = model.preprocessor
  in_features = preprocessor.get_in_feature_specification(ModeKeys.TRAIN)
  in_labels = preprocessor.get_in_label_specification(ModeKeys.TRAIN)
  serialized = [r.numpy() for r in tf.data.TFRecordDataset(records)]
  features, labels = parsing.create_parse_tf_example_fn(
      in_features, in_labels)(serialized)
  specs.validate_and_flatten(in_features, features, ignore_batch=True)
  specs.validate_and_flatten(in_labels, labels, ignore_batch=True)
  features, labels = preprocessor.preprocess(features, labels, ModeKeys.TRAIN)
  specs.validate_and_flatten(model.get_feature_specification(ModeKeys.TRAIN),
                             features, ignore_batch=True)
  images = features['state/image'].numpy()
  assert images.shape == (4, 64, 64, 3)
  assert 0.0 <= images.min() and images.max() <= 1.0


def test_regression_predicts_one_pose_per_image(episodes):
  images = episodes[0]
  outputs = pose_env_models.PoseEnvRegressionModel()(
      _regression_features(images[:3]))
  assert outputs['inference_output'].shape == (3, 2)


def test_regression_loss_falls_on_a_tiny_batch(episodes):
  images, _, _, targets = episodes
  model = pose_env_models.PoseEnvRegressionModel(create_optimizer_fn=_adam())
  model.compile()
  dataset = tf.data.Dataset.from_tensors(
      (_regression_features(images),
       specs.TensorSpecStruct(target_pose=targets))).repeat(40)
  before = model.evaluate(dataset.take(1), verbose=0, return_dict=True)
  model.fit(dataset, verbose=0)
  after = model.evaluate(dataset.take(1), verbose=0, return_dict=True)
  assert after['loss'] < before['loss']
  assert after['mean_distance'] < before['mean_distance']


@pytest.mark.parametrize('success_distance,action_conditioning',
                         [(None, 'film'), (0.3, 'film'), (None, 'concat')])
def test_critic_loss_falls_on_a_tiny_batch(episodes, success_distance,
                                           action_conditioning):
  images, actions, rewards, _ = episodes
  critic = pose_env_models.PoseEnvContinuousMCModel(
      success_distance=success_distance,
      action_conditioning=action_conditioning, create_optimizer_fn=_adam())
  critic.compile()
  dataset = tf.data.Dataset.from_tensors(
      (_critic_features(images, actions),
       specs.TensorSpecStruct(reward=rewards))).repeat(40)
  before = critic.evaluate(dataset.take(1), verbose=0)
  critic.fit(dataset, verbose=0)
  assert critic.evaluate(dataset.take(1), verbose=0) < before


def test_success_critic_predicts_probabilities(episodes):
  images, actions, _, _ = episodes
  critic = pose_env_models.PoseEnvContinuousMCModel(success_distance=0.1)
  q = critic(_critic_features(images, actions))['q_predicted'].numpy()
  assert q.shape == (_NUM_EPISODES,)
  assert np.all((q > 0) & (q < 1))


def test_critic_scores_every_candidate_action_of_every_state(episodes):
  images, _, _, _ = episodes
  num_states, num_actions = 3, 5
  candidates = np.random.default_rng(0).uniform(
      [-0.7, -0.4], [0.7, 0.4], (num_states * num_actions, 2)).astype(
          np.float32)
  critic = pose_env_models.PoseEnvContinuousMCModel(
      action_batch_size=num_actions)
  q = critic(_critic_features(images[:num_states], candidates))[
      'q_predicted'].numpy()
  assert q.shape == (num_states * num_actions,)
  for state in range(num_states):
    rows = slice(state * num_actions, (state + 1) * num_actions)
    one_state = critic(_critic_features(images[state:state + 1],
                                        candidates[rows]))['q_predicted']
    np.testing.assert_allclose(q[rows], one_state.numpy(), rtol=1e-5,
                               atol=1e-6)


def test_critic_split_for_in_graph_cem_matches_q(episodes):
  images, actions, _, _ = episodes
  critic = pose_env_models.PoseEnvContinuousMCModel()
  features = _critic_features(images[:4], actions[:4])
  embedding = critic.state_embedding_fn(features, ModeKeys.PREDICT)
  q = critic.q_from_state_embedding_fn(embedding, features, ModeKeys.PREDICT)
  np.testing.assert_allclose(
      np.squeeze(q.numpy(), -1), critic(features)['q_predicted'].numpy(),
      rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('kwargs,match', [
    ({'success_distance': 0.0}, 'success_distance'),
    ({'action_conditioning': 'add'}, 'action_conditioning'),
    ({'loss_type': 'mse'}, 'loss_type'),
    ({'target_label_key': 'target_pose'}, 'target_label_key'),
])
def test_critic_rejects_arguments_it_sets_itself(kwargs, match):
  with pytest.raises(ValueError, match=match):
    pose_env_models.PoseEnvContinuousMCModel(**kwargs)


def test_tower_needs_one_entry_per_layer():
  with pytest.raises(ValueError, match='one filters, kernel_sizes and strides'):
    pose_env_models.PoseEnvKeypointTower(filters=(8, 8), kernel_sizes=(3,),
                                         strides=(1, 1))


def test_tower_outputs_two_coordinates_per_channel():
  tower = pose_env_models.PoseEnvKeypointTower(
      filters=(4, 6), kernel_sizes=(3, 3), strides=(2, 1))
  keypoints = tower(tf.zeros((2, 64, 64, 3))).numpy()
  assert keypoints.shape == (2, 12)
  assert np.all(np.abs(keypoints) <= 1.0)
