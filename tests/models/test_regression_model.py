"""RegressionModel: a_func's prediction regressed to a label with MSE."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from t2r import models
from t2r import specs


class PoseRegression(models.RegressionModel):

  def __init__(self, **kwargs):
    super().__init__(**kwargs)
    self.head = tf_keras.layers.Dense(2)

  def get_feature_specification(self, mode):
    return specs.TensorSpecStruct(
        state=specs.ExtendedTensorSpec((8,), tf.float32, name='s'))

  def get_label_specification(self, mode):
    return specs.TensorSpecStruct(
        pose=specs.ExtendedTensorSpec((2,), tf.float32, name='pose'),
        weight=specs.ExtendedTensorSpec((1,), tf.float32, name='w'))

  def a_func(self, features, mode, config=None, params=None):
    return {'inference_output': self.head(features.state)}


def _dataset(linear_data):
  features, labels = linear_data
  labels = specs.TensorSpecStruct(
      pose=labels.action, weight=np.ones((len(labels.action), 1), np.float32))
  return tf.data.Dataset.from_tensor_slices((features, labels)).batch(20)


def test_learns_a_linear_map(linear_data, fast_adam):
  model = PoseRegression(label_key='pose', create_optimizer_fn=fast_adam())
  model.compile()
  dataset = _dataset(linear_data)
  initial = model.evaluate(dataset, verbose=0)
  model.fit(dataset, epochs=5, verbose=0)
  assert model.evaluate(dataset, verbose=0) < initial / 2


def test_loss_is_the_mean_squared_error_by_default(linear_data):
  model = PoseRegression(label_key='pose')
  model.compile()
  features, labels = linear_data
  predicted = model(features)['inference_output'].numpy()
  loss = model.evaluate(_dataset(linear_data), verbose=0)
  assert loss == pytest.approx(
      np.mean((predicted - labels.action)**2), rel=1e-5)


def test_loss_function_is_configurable(linear_data):
  model = PoseRegression(label_key='pose',
                         loss_function=tf_keras.losses.mean_absolute_error)
  model.compile()
  features, labels = linear_data
  predicted = model(features)['inference_output'].numpy()
  loss = model.evaluate(_dataset(linear_data), verbose=0)
  assert loss == pytest.approx(
      np.mean(np.abs(predicted - labels.action)), rel=1e-5)


@pytest.mark.parametrize('label_key, message', [
    (None, r"exactly one label, but it holds \['pose', 'weight'\]"),
    ('target', r"label_key='target' but the labels hold"),
])
def test_label_key_must_name_a_label(linear_data, label_key, message):
  model = PoseRegression(label_key=label_key)
  model.compile()
  with pytest.raises(ValueError, match=message):
    model.evaluate(_dataset(linear_data), verbose=0)


def test_a_func_must_return_inference_output():

  class Wrong(PoseRegression):

    def a_func(self, features, mode, config=None, params=None):
      return self.head(features.state)

  with pytest.raises(TypeError, match="'inference_output'"):
    Wrong()(specs.TensorSpecStruct(state=np.zeros((1, 8), np.float32)))
