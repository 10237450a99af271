"""Optimizer factories: Adam by default, SGD/momentum, schedules, EMA."""

import gin
import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from t2r import models


def test_default_optimizer_is_adam_with_learning_rate_1e4(linear_model_cls):
  optimizer = linear_model_cls().create_optimizer()
  assert isinstance(optimizer, tf_keras.optimizers.Adam)
  assert optimizer.learning_rate.numpy() == pytest.approx(1e-4)
  assert not optimizer.use_ema


def test_momentum_optimizer_is_sgd_with_momentum():
  optimizer = models.create_momentum_optimizer(learning_rate=0.1)
  assert isinstance(optimizer, tf_keras.optimizers.SGD)
  assert optimizer.momentum == pytest.approx(0.9)
  assert optimizer.learning_rate.numpy() == pytest.approx(0.1)


def test_sgd_without_momentum_is_plain_gradient_descent():
  optimizer = models.create_sgd_optimizer(learning_rate=0.5)
  variable = tf.Variable([1.0, 2.0])
  optimizer.apply_gradients([(tf.constant([1.0, -1.0]), variable)])
  np.testing.assert_allclose(variable.numpy(), [0.5, 2.5])


def test_sgd_rejects_momentum_outside_unit_interval():
  with pytest.raises(ValueError, match=r'momentum=1.5.*\[0, 1\)'):
    models.create_sgd_optimizer(momentum=1.5)


def test_learning_rate_schedule_is_followed_and_logged(linear_model_cls,
                                                       linear_dataset):
  schedule = tf_keras.optimizers.schedules.PiecewiseConstantDecay(
      boundaries=[5], values=[0.1, 0.01])
  model = linear_model_cls(
      create_optimizer_fn=lambda: models.create_sgd_optimizer(schedule))
  model.compile()
  history = model.fit(linear_dataset, epochs=2, verbose=0)
  # The last step of each epoch is step 9 and 19 (0-based): past boundary 5.
  assert history.history['learning_rate'] == [
      pytest.approx(0.01), pytest.approx(0.01)]
  model.fit(linear_dataset.take(1), epochs=1, verbose=0)
  assert model.global_step.numpy() == 21


def test_gin_configures_the_optimizer_and_its_schedule(linear_model_cls):
  with gin.unlock_config():
    gin.parse_config("""
        T2RModel.create_optimizer_fn = @create_sgd_optimizer
        create_sgd_optimizer.momentum = 0.5
        create_sgd_optimizer.learning_rate = @t2r.ExponentialDecay()
        t2r.ExponentialDecay.initial_learning_rate = 0.2
        t2r.ExponentialDecay.decay_steps = 10
        t2r.ExponentialDecay.decay_rate = 0.5
    """)
  try:
    optimizer = linear_model_cls().create_optimizer()
  finally:
    gin.clear_config()
  assert isinstance(optimizer, tf_keras.optimizers.SGD)
  assert optimizer.momentum == pytest.approx(0.5)
  schedule = optimizer.get_config()['learning_rate']
  assert schedule['class_name'] == 'ExponentialDecay'
  assert schedule['config']['initial_learning_rate'] == pytest.approx(0.2)
  assert schedule['config']['decay_steps'] == 10


class _KernelSum:
  """Mixin: model_eval_fn reports the sum of the Dense kernel it ran with."""

  def model_eval_fn(self, features, labels, inference_outputs, mode,
                    config=None, params=None):
    return {'kernel_sum': tf.reduce_sum(self.dense.kernel)}


def _kernels_while_training(model, dataset, steps):
  """Trains `steps` batches; returns the kernel before and after each."""
  model.build_from_specs()
  kernels = [model.dense.kernel.numpy()]
  for features, labels in dataset.take(steps):
    model.train_on_batch(features, labels)
    kernels.append(model.dense.kernel.numpy())
  return kernels


def _moving_average(kernels, momentum):
  average = kernels[0]
  for kernel in kernels[1:]:
    average = momentum * average + (1 - momentum) * kernel
  return average


def test_evaluate_uses_the_moving_average_weights(linear_model_cls,
                                                  linear_dataset, fast_adam):
  model = type('EmaModel', (_KernelSum, linear_model_cls), {})(
      create_optimizer_fn=fast_adam(use_ema=True, ema_momentum=0.9))
  model.compile()
  kernels = _kernels_while_training(model, linear_dataset, 5)
  average = _moving_average(kernels, 0.9)
  assert not np.allclose(kernels[-1], average)

  result = model.evaluate(linear_dataset, verbose=0, return_dict=True)

  assert result['kernel_sum'] == pytest.approx(average.sum(), rel=1e-5)
  np.testing.assert_array_equal(model.dense.kernel.numpy(), kernels[-1])
  with model.moving_average_weights() as swapped:
    assert swapped
    np.testing.assert_allclose(model.dense.kernel.numpy(), average, rtol=1e-5)


def test_without_ema_evaluate_uses_the_trained_weights(linear_model_cls,
                                                       linear_dataset,
                                                       fast_adam):
  model = type('PlainModel', (_KernelSum, linear_model_cls), {})(
      create_optimizer_fn=fast_adam())
  model.compile()
  kernels = _kernels_while_training(model, linear_dataset, 3)
  result = model.evaluate(linear_dataset, verbose=0, return_dict=True)
  assert result['kernel_sum'] == pytest.approx(kernels[-1].sum(), rel=1e-5)
  with model.moving_average_weights() as swapped:
    assert not swapped


def test_fit_ends_with_the_moving_average_weights(linear_model_cls,
                                                  linear_dataset, fast_adam):
  model = linear_model_cls(
      create_optimizer_fn=fast_adam(use_ema=True, ema_momentum=0.9))
  model.compile()
  model.build_from_specs()
  kernels = [model.dense.kernel.numpy()]
  record = tf_keras.callbacks.LambdaCallback(
      on_train_batch_end=lambda *_: kernels.append(model.dense.kernel.numpy()))
  model.fit(linear_dataset, epochs=1, verbose=0, callbacks=[record])
  np.testing.assert_allclose(model.dense.kernel.numpy(),
                             _moving_average(kernels, 0.9), rtol=1e-5)
