"""Toy base models and task families for the t2r.meta_learning tests."""

from typing import Tuple

import numpy as np
import tensorflow as tf
import tf_keras

from t2r import models
from t2r import specs


class _XYModel(models.RegressionModel):
  """Feature 'x' (1,), label 'y' (1,)."""

  def get_feature_specification(self, mode):
    return specs.TensorSpecStruct(
        x=specs.ExtendedTensorSpec((1,), tf.float32, name='x'))

  def get_label_specification(self, mode):
    return specs.TensorSpecStruct(
        y=specs.ExtendedTensorSpec((1,), tf.float32, name='y'))



class ScalarLinearModel(_XYModel):
  """y = w * x with a single weight: one inner step has a closed form."""

  def __init__(self, initial_weight: float = 0.5, **kwargs):
    super().__init__(**kwargs)
    self.dense = tf_keras.layers.Dense(
        1, use_bias=False,
        kernel_initializer=tf_keras.initializers.Constant(initial_weight))

  def a_func(self, features, mode, config=None, params=None):
    return {'inference_output': self.dense(features.x)}


class MlpModel(_XYModel):
  """y = MLP(x): a small ReLU network for the task-family tests."""

  def __init__(self, hidden_size: int = 32, **kwargs):
    super().__init__(**kwargs)
    self.hidden = tf_keras.layers.Dense(hidden_size, activation='relu',
                                        name='hidden')
    self.out = tf_keras.layers.Dense(1, name='out')

  def a_func(self, features, mode, config=None, params=None):
    return {'inference_output': self.out(self.hidden(features.x))}


def linear_tasks(rng: np.random.Generator, num_tasks: int, num_samples: int
                ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
  """x, y = a * x + b and (a, b) of `num_tasks` random linear functions.

  Returns:
    x, y of shape (num_tasks, num_samples, 1) float32 and the (num_tasks, 2)
    task parameters.
  """
  params = np.stack([rng.uniform(-2.0, 2.0, num_tasks),
                     rng.uniform(-1.0, 1.0, num_tasks)], axis=1)
  x = rng.uniform(-1.0, 1.0, (num_tasks, num_samples, 1))
  y = params[:, :1, None] * x + params[:, 1:, None]
  return x.astype(np.float32), y.astype(np.float32), params


def meta_batch(x: np.ndarray, y: np.ndarray, k: int
              ) -> Tuple[specs.TensorSpecStruct, specs.TensorSpecStruct]:
  """The meta (features, labels) of tasks: the first k samples condition."""
  features = specs.TensorSpecStruct({
      'condition/features/x': x[:, :k],
      'condition/labels/y': y[:, :k],
      'inference/features/x': x[:, k:],
  })
  labels = specs.TensorSpecStruct({'meta_labels/y': y[:, k:]})
  return features, labels


def linear_task_dataset(seed: int, num_tasks: int, k: int, n: int
                       ) -> tf.data.Dataset:
  """An endless dataset of meta batches of random linear functions."""
  rng = np.random.default_rng(seed)

  def batches():
    while True:
      x, y, _ = linear_tasks(rng, num_tasks, k + n)
      yield meta_batch(x, y, k)

  signature = (
      specs.TensorSpecStruct({
          'condition/features/x': tf.TensorSpec((num_tasks, k, 1)),
          'condition/labels/y': tf.TensorSpec((num_tasks, k, 1)),
          'inference/features/x': tf.TensorSpec((num_tasks, n, 1)),
      }),
      specs.TensorSpecStruct({'meta_labels/y': tf.TensorSpec((num_tasks, n,
                                                              1))}),
  )
  return tf.data.Dataset.from_generator(batches, output_signature=signature)
