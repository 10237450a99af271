"""Shared toy models and data for the t2r.models tests."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from t2r import models
from t2r import specs

STATE_SIZE = 8
ACTION_SIZE = 2


class LinearModel(models.T2RModel):
  """action = Dense(state); the smallest complete T2RModel."""

  def __init__(self, **kwargs):
    super().__init__(**kwargs)
    self.dense = tf_keras.layers.Dense(ACTION_SIZE)

  def get_feature_specification(self, mode):
    return specs.TensorSpecStruct(
        state=specs.ExtendedTensorSpec((STATE_SIZE,), tf.float32, name='s'))

  def get_label_specification(self, mode):
    return specs.TensorSpecStruct(
        action=specs.ExtendedTensorSpec((ACTION_SIZE,), tf.float32, name='a'))

  def inference_network_fn(self, features, labels, mode, config=None,
                           params=None):
    return {'action': self.dense(features.state)}

  def model_train_fn(self, features, labels, inference_outputs, mode,
                     config=None, params=None):
    return tf.reduce_mean(
        tf.square(tf.cast(inference_outputs['action'], tf.float32) -
                  labels.action))


def make_linear_data(num_examples=200, seed=0):
  """(features, labels) numpy structs of a noiseless linear problem."""
  rng = np.random.default_rng(seed)
  states = rng.normal(size=(num_examples, STATE_SIZE)).astype(np.float32)
  weights = rng.normal(size=(STATE_SIZE, ACTION_SIZE)).astype(np.float32)
  return (specs.TensorSpecStruct(state=states),
          specs.TensorSpecStruct(action=states @ weights))


def make_dataset(features, labels, batch_size=20):
  return tf.data.Dataset.from_tensor_slices((features, labels)).batch(
      batch_size)


@pytest.fixture
def linear_model_cls():
  """The LinearModel class (subclass it to vary one method)."""
  return LinearModel


@pytest.fixture
def linear_data():
  """(features, labels) numpy structs: 200 examples of a linear map."""
  return make_linear_data()


@pytest.fixture
def linear_dataset(linear_data):
  """`linear_data` as a dataset of 10 batches of 20."""
  return make_dataset(*linear_data)


@pytest.fixture
def fast_adam():
  """create_optimizer_fn(**adam_kwargs): Adam with a learning rate of 0.05."""

  def factory(**kwargs):
    kwargs.setdefault('learning_rate', 0.05)
    return lambda: models.create_adam_optimizer(**kwargs)

  return factory
