"""Real exports of quadratic critics and a linear regression model."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from t2r import models
from t2r import specs
from t2r.export import default_export_generator
from t2r.policies import cem_export_generator
from t2r.predictors.exported_savedmodel_predictor import ExportedSavedModelPredictor

NUM_SAMPLES = 64
LOW, HIGH = np.array([-1.0, -1.0], np.float32), np.array([1.0, 1.0], np.float32)


class QuadraticCritic(models.CriticModel):
  """Q(state, action) = -|action - state.target|^2 (maximum at the target)."""

  def get_state_specification(self):
    return specs.TensorSpecStruct(
        target=specs.ExtendedTensorSpec((2,), tf.float32, name='target'))

  def get_action_specification(self):
    return specs.TensorSpecStruct(
        move=specs.ExtendedTensorSpec((2,), tf.float32, name='move'))

  def move(self, features):
    """The 2-D action the quadratic scores."""
    return features.action.move

  def q_func(self, features, mode, config=None, params=None):
    return -tf.reduce_sum(
        tf.square(self.move(features) - features.state.target), axis=-1)


class SplitQuadraticCritic(QuadraticCritic):
  """The same critic with a state tower and a Q head (tower-once CEM)."""

  def state_embedding_fn(self, features, mode):
    return features.state.target

  def q_from_state_embedding_fn(self, embedding, features, mode):
    return -tf.reduce_sum(tf.square(features.action.move - embedding), -1)


class TopLevelActionCritic(QuadraticCritic):
  """The quadratic critic with its action at the top-level feature 'action'."""

  def get_action_specification(self):
    return specs.ExtendedTensorSpec((2,), tf.float32, name='action')

  def move(self, features):
    return features.action


class TwoActionCritic(QuadraticCritic):
  """Actions 'action/move' (optimized by CEM) and 'action/gripper' (given).

  Q = -|move - target|^2 - gripper^2: the maximum over `move` is at the
  target whatever the gripper.
  """

  def get_action_specification(self):
    spec = super().get_action_specification()
    spec.gripper = specs.ExtendedTensorSpec((1,), tf.float32, name='gripper')
    return spec

  def q_func(self, features, mode, config=None, params=None):
    return super().q_func(features, mode) - tf.reduce_sum(
        tf.square(features.action.gripper), axis=-1)


class LinearPolicyModel(models.RegressionModel):
  """action = Dense(pose): a regression policy network."""

  def __init__(self, **kwargs):
    super().__init__(**kwargs)
    self.dense = tf_keras.layers.Dense(2)

  def get_feature_specification(self, mode):
    return specs.TensorSpecStruct(
        state=specs.ExtendedTensorSpec((3,), tf.float32, name='pose'))

  def get_label_specification(self, mode):
    return specs.TensorSpecStruct(
        action=specs.ExtendedTensorSpec((2,), tf.float32, name='action'))

  def a_func(self, features, mode, config=None, params=None):
    return {'inference_output': 10.0 * self.dense(features.state)}


def _predictor(path):
  predictor = ExportedSavedModelPredictor(path, timeout=0)
  assert predictor.restore()
  return predictor


@pytest.fixture(scope='session')
def critic_predictors(tmp_path_factory):
  """Predictors of real critic exports with the in-graph CEM.

  'tiled': the critic repeats the state; 'split': tower-once critic;
  'top_level': action at the feature 'action'; these export with the default
  bounds [-1, 1]. 'two_actions': CEM over 'action/move' (`action_path`), the
  critic taking one action per state (the caller repeats the state).
  """
  root = tmp_path_factory.mktemp('critic')
  generator = cem_export_generator.CEMExportGenerator(
      num_samples=NUM_SAMPLES, export_tf_example_signature=False)
  two_action_generator = cem_export_generator.CEMExportGenerator(
      num_samples=NUM_SAMPLES, export_tf_example_signature=False,
      action_path='action/move')
  return {
      'tiled': _predictor(generator.export(
          QuadraticCritic(action_batch_size=NUM_SAMPLES), str(root / 'a'), 3)),
      'split': _predictor(generator.export(
          SplitQuadraticCritic(action_batch_size=NUM_SAMPLES),
          str(root / 'b'), 4)),
      'top_level': _predictor(generator.export(
          TopLevelActionCritic(action_batch_size=NUM_SAMPLES),
          str(root / 'c'), 5)),
      'two_actions': _predictor(two_action_generator.export(
          TwoActionCritic(), str(root / 'd'), 6)),
  }


@pytest.fixture(scope='session')
def regression_predictor(tmp_path_factory):
  tf_keras.utils.set_random_seed(0)
  model = LinearPolicyModel()
  model.build_from_specs()
  root = tmp_path_factory.mktemp('regression')
  return _predictor(default_export_generator.DefaultExportGenerator(
      export_tf_example_signature=False).export(model, str(root), 7))
