"""T2RModel under tf.distribute.MirroredStrategy and mixed precision."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from t2r import specs


@pytest.fixture
def strategy():
  return tf.distribute.MirroredStrategy(['/cpu:0'])


@pytest.fixture
def mixed_float16():
  tf_keras.mixed_precision.set_global_policy('mixed_float16')
  try:
    yield
  finally:
    tf_keras.mixed_precision.set_global_policy('float32')


def test_fit_under_mirrored_strategy_reduces_the_loss(
    strategy, linear_model_cls, linear_dataset, fast_adam):

  class WithExtras(linear_model_cls):

    def model_train_fn(self, features, labels, inference_outputs, mode,
                       config=None, params=None):
      loss = super().model_train_fn(features, labels, inference_outputs, mode)
      return loss, {'root_loss': tf.sqrt(loss)}

  with strategy.scope():
    model = WithExtras(create_optimizer_fn=fast_adam())
    model.compile()
  initial = model.evaluate(linear_dataset, verbose=0, return_dict=True)
  history = model.fit(linear_dataset, epochs=5, verbose=0).history
  final = model.evaluate(linear_dataset, verbose=0, return_dict=True)
  assert final['loss'] < initial['loss'] / 2
  assert final['root_loss'] < initial['root_loss']
  assert history['root_loss'][-1] < history['root_loss'][0]
  assert isinstance(model.dense.kernel, tf.distribute.DistributedValues)


def test_moving_average_eval_under_mirrored_strategy(strategy,
                                                     linear_model_cls,
                                                     linear_dataset,
                                                     fast_adam):

  class KernelSum(linear_model_cls):

    def model_eval_fn(self, features, labels, inference_outputs, mode,
                      config=None, params=None):
      return {'kernel_sum': tf.reduce_sum(self.dense.kernel)}

  with strategy.scope():
    model = KernelSum(
        create_optimizer_fn=fast_adam(use_ema=True, ema_momentum=0.5))
    model.compile()
  for features, labels in linear_dataset.take(3):
    model.train_on_batch(features, labels)
  raw = model.dense.kernel.numpy()
  with model.moving_average_weights():
    average = model.dense.kernel.numpy()
  result = model.evaluate(linear_dataset, verbose=0, return_dict=True)
  assert result['kernel_sum'] == pytest.approx(average.sum(), rel=1e-5)
  assert abs(average - raw).max() > 1e-4
  assert (model.dense.kernel.numpy() == raw).all()


def test_mixed_float16_computes_in_float16_and_learns(
    mixed_float16, linear_model_cls, linear_data, linear_dataset, fast_adam):
  model = linear_model_cls(create_optimizer_fn=fast_adam())
  model.compile()
  assert isinstance(model.optimizer,
                    tf_keras.mixed_precision.LossScaleOptimizer)
  initial = model.evaluate(linear_dataset, verbose=0)
  history = model.fit(linear_dataset, epochs=5, verbose=0).history
  assert model.evaluate(linear_dataset, verbose=0) < initial / 2
  assert history['learning_rate'][-1] == pytest.approx(0.05)
  features, _ = linear_data
  outputs = model(specs.TensorSpecStruct(state=features.state[:2]))
  assert outputs['action'].dtype == tf.float16
  assert model.dense.kernel.dtype == tf.float32


_TWO_REPLICAS_SCRIPT = '''
import json
import numpy as np
import tensorflow as tf
tf.config.set_logical_device_configuration(
    tf.config.list_physical_devices('CPU')[0],
    [tf.config.LogicalDeviceConfiguration()] * 2)
import tf_keras
from t2r import models, specs

class Linear(models.T2RModel):
  def __init__(self, **kwargs):
    super().__init__(**kwargs)
    self.dense = tf_keras.layers.Dense(2, kernel_initializer='ones')
  def get_feature_specification(self, mode):
    return specs.TensorSpecStruct(
        state=specs.ExtendedTensorSpec((8,), tf.float32, name='s'))
  def get_label_specification(self, mode):
    return specs.TensorSpecStruct(
        action=specs.ExtendedTensorSpec((2,), tf.float32, name='a'))
  def inference_network_fn(self, features, labels, mode, config=None,
                           params=None):
    return {'action': self.dense(features.state)}
  def model_train_fn(self, features, labels, inference_outputs, mode,
                     config=None, params=None):
    return tf.reduce_mean(tf.square(inference_outputs['action'] -
                                    labels.action))

states = np.random.default_rng(0).normal(size=(80, 8)).astype(np.float32)
dataset = tf.data.Dataset.from_tensor_slices(
    (specs.TensorSpecStruct(state=states),
     specs.TensorSpecStruct(action=states[:, :2]))).batch(20)
results = {}
for devices in (['/cpu:0'], ['/cpu:0', '/cpu:1']):
  with tf.distribute.MirroredStrategy(devices).scope():
    model = Linear(
        create_optimizer_fn=lambda: models.create_sgd_optimizer(0.05))
    model.compile()
  logs = model.fit(dataset, epochs=2, verbose=0).history
  results[len(devices)] = {'kernel': model.dense.kernel.numpy().tolist(),
                           'loss': logs['loss'],
                           'learning_rate': logs['learning_rate']}
print(json.dumps(results))
'''


def test_two_replicas_train_exactly_like_one():
  # Logical devices must be set before TensorFlow starts: a fresh process.
  result = subprocess.run([sys.executable, '-c', _TWO_REPLICAS_SCRIPT],
                          capture_output=True, text=True, check=False,
                          env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2'))
  assert result.returncode == 0, result.stderr[-3000:]
  one, two = json.loads(result.stdout.strip().splitlines()[-1]).values()
  np.testing.assert_allclose(two['kernel'], one['kernel'], atol=1e-5)
  np.testing.assert_allclose(two['loss'], one['loss'], rtol=1e-5)
  assert two['learning_rate'] == pytest.approx([0.05, 0.05])
