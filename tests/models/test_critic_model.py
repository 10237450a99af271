"""CriticModel: Q(state, action), its losses and CEM action tiling."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from t2r import models
from t2r import specs
from t2r.modes import ModeKeys


class Critic(models.CriticModel):

  def __init__(self, **kwargs):
    super().__init__(**kwargs)
    self.q = tf_keras.layers.Dense(1)

  def get_state_specification(self):
    return specs.TensorSpecStruct(
        pose=specs.ExtendedTensorSpec((3,), tf.float32, name='pose'))

  def get_action_specification(self):
    return specs.TensorSpecStruct(
        move=specs.ExtendedTensorSpec((2,), tf.float32, name='move'))

  def q_func(self, features, mode, config=None, params=None):
    return self.q(
        tf.concat([features.state.pose, features.action.move], axis=-1))


class TopLevelActionCritic(Critic):
  """The critic with its action at the top-level feature 'action'."""

  def get_action_specification(self):
    return specs.ExtendedTensorSpec((2,), tf.float32, name='move')

  def q_func(self, features, mode, config=None, params=None):
    return self.q(tf.concat([features.state.pose, features.action], axis=-1))


class TwoActionCritic(Critic):
  """The critic with two action features, both one row per candidate."""

  def get_action_specification(self):
    spec = super().get_action_specification()
    spec.gripper = specs.ExtendedTensorSpec((1,), tf.float32, name='gripper')
    return spec

  def q_func(self, features, mode, config=None, params=None):
    return self.q(tf.concat([features.state.pose, features.action.move,
                             features.action.gripper], axis=-1))


def _dataset(loss_type):
  rng = np.random.default_rng(0)
  poses = rng.normal(size=(200, 3)).astype(np.float32)
  moves = rng.normal(size=(200, 2)).astype(np.float32)
  if loss_type == 'mse':
    reward = poses @ [0.5, -1.0, 0.2] + moves @ [1.0, 2.0]
  else:
    reward = (moves.sum(axis=1) > 0).astype(np.float32)
  features = specs.TensorSpecStruct()
  features['state/pose'] = poses
  features['action/move'] = moves
  labels = specs.TensorSpecStruct(reward=reward.astype(np.float32))
  return tf.data.Dataset.from_tensor_slices((features, labels)).batch(20)


def _features(num_states, num_actions):
  features = specs.TensorSpecStruct()
  features['state/pose'] = np.arange(
      num_states * 3, dtype=np.float32).reshape(num_states, 3)
  features['action/move'] = np.linspace(
      -1, 1, num_actions * 2, dtype=np.float32).reshape(num_actions, 2)
  return features


def test_specs_are_state_and_action_features_and_a_reward_label():
  critic = Critic()
  assert critic.get_feature_specification(ModeKeys.TRAIN).keys() == [
      'state/pose', 'action/move']
  label_spec = critic.get_label_specification(ModeKeys.TRAIN)
  assert label_spec.keys() == ['reward']
  assert label_spec.reward.shape == ()


@pytest.mark.parametrize('loss_type', ['mse', 'sigmoid_cross_entropy'])
def test_learns_q_values(loss_type, fast_adam):
  critic = Critic(loss_type=loss_type, create_optimizer_fn=fast_adam())
  critic.compile()
  dataset = _dataset(loss_type)
  initial = critic.evaluate(dataset, verbose=0)
  critic.fit(dataset, epochs=5, verbose=0)
  assert critic.evaluate(dataset, verbose=0) < initial / 2


def test_sigmoid_cross_entropy_predicts_probabilities():
  tf_keras.utils.set_random_seed(0)  # Unseeded, a large logit rounds to 1.
  critic = Critic(loss_type='sigmoid_cross_entropy')
  q = critic(_features(4, 4))['q_predicted'].numpy()
  assert q.shape == (4,)
  assert np.all((q > 0) & (q < 1))


def test_predict_scores_action_batch_size_actions_per_state():
  critic = Critic(action_batch_size=4)
  features = _features(num_states=2, num_actions=8)
  q = critic(features)['q_predicted'].numpy()
  repeated = specs.TensorSpecStruct()
  repeated['state/pose'] = np.repeat(features['state/pose'], 4, axis=0)
  repeated['action/move'] = features['action/move']
  expected = critic.inference_network_fn(repeated, None,
                                         ModeKeys.EVAL)['q_predicted']
  assert q.shape == (8,)
  np.testing.assert_allclose(q, expected, rtol=1e-6)
  # Row i * 4 + j scores state i with action j.
  single = specs.TensorSpecStruct()
  single['state/pose'] = features['state/pose'][1:2]
  single['action/move'] = features['action/move'][4:8]
  np.testing.assert_allclose(critic(single)['q_predicted'], q[4:8], rtol=1e-6)


@pytest.mark.parametrize('critic_cls,action_paths', [
    (TopLevelActionCritic, ['action']),
    (TwoActionCritic, ['action/move', 'action/gripper']),
])
def test_every_action_feature_is_one_row_per_candidate(critic_cls,
                                                       action_paths):
  critic = critic_cls(action_batch_size=4)
  spec = critic.get_feature_specification(ModeKeys.PREDICT)
  assert spec.keys() == ['state/pose'] + action_paths
  features = specs.make_random_numpy(spec, batch_size=8, seed=0)
  features['state/pose'] = features['state/pose'][:2]
  q = critic(features)['q_predicted'].numpy()
  repeated = specs.TensorSpecStruct(features)
  repeated['state/pose'] = np.repeat(features['state/pose'], 4, axis=0)
  np.testing.assert_allclose(
      q, critic.inference_network_fn(repeated, None,
                                     ModeKeys.EVAL)['q_predicted'],
      rtol=1e-6)


def test_tiling_works_with_unknown_batch_sizes():
  critic = Critic(action_batch_size=3)
  signature = specs.make_input_signature(
      critic.get_feature_specification(ModeKeys.PREDICT))
  serve = tf.function(critic.__call__, input_signature=[signature])
  assert serve(_features(2, 6))['q_predicted'].shape == (6,)
  assert serve(_features(1, 3))['q_predicted'].shape == (3,)
  with pytest.raises(tf.errors.InvalidArgumentError,
                     match='needs 3 actions per state'):
    serve(_features(2, 5))


def test_wrong_number_of_actions_fails_clearly():
  critic = Critic(action_batch_size=4)
  with pytest.raises(ValueError,
                     match='needs 4 actions per state.*Got 2 states and 6'):
    critic(_features(num_states=2, num_actions=6))


@pytest.mark.parametrize('kwargs, message', [
    ({'loss_type': 'huber'}, "loss_type='huber'"),
    ({'action_batch_size': 0}, 'positive int'),
])
def test_invalid_arguments_fail_clearly(kwargs, message):
  with pytest.raises(ValueError, match=message):
    Critic(**kwargs)


def test_q_func_must_return_one_value_per_example():

  class Wide(Critic):

    def q_func(self, features, mode, config=None, params=None):
      return tf.concat([features.state.pose, features.action.move], axis=-1)

  with pytest.raises(ValueError, match=r'shape \(4, 5\).*one Q value'):
    Wide()(_features(4, 4))
