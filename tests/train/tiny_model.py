"""A tiny learnable T2R model and its data, shared by the training tests.

Subprocess tests put this directory on PYTHONPATH, so their gin configs can
`import tiny_model`.
"""

import os

import gin
import numpy as np
import tensorflow as tf
import tf_keras

from t2r import models
from t2r import specs
from t2r.data import encoding
from t2r.data import record_input_generator

WEIGHTS = np.array([[1.0], [-2.0], [3.0], [0.5]], np.float32)


@gin.configurable
class LinearModel(models.T2RModel):
  """y = x w + b on 4 features; writes an image summary of its inputs."""

  def __init__(self, **kwargs):
    super().__init__(**kwargs)
    self.dense = tf_keras.layers.Dense(1)

  def get_feature_specification(self, mode):
    return specs.TensorSpecStruct(
        state=specs.ExtendedTensorSpec((4,), tf.float32, name='state'))

  def get_label_specification(self, mode):
    return specs.TensorSpecStruct(
        target=specs.ExtendedTensorSpec((1,), tf.float32, name='target'))

  def inference_network_fn(self, features, labels, mode, config=None,
                           params=None):
    # float32 outputs under mixed precision, as tf-keras recommends.
    return {'prediction': tf.cast(self.dense(features.state), tf.float32)}

  def model_train_fn(self, features, labels, inference_outputs, mode,
                     config=None, params=None):
    return tf.reduce_mean(
        tf.square(inference_outputs['prediction'] - labels.target))

  def add_summaries(self, features, labels, inference_outputs, mode):
    tf.summary.image('state', tf.reshape(features.state, [-1, 2, 2, 1]),
                     max_outputs=1)


@gin.configurable
def linear_batches(batch_size, seed=0, marker=None):
  """Endless (features, labels) batches of y = x WEIGHTS.

  Args:
    batch_size: Examples per batch.
    seed: Seed of the random states.
    marker: If set, the last state entry of every example (tells shards
      apart).

  Yields:
    ({'state': (batch_size, 4)}, {'target': (batch_size, 1)}) float32 arrays.
  """
  rng = np.random.default_rng(seed)
  while True:
    x = rng.normal(size=(batch_size, 4)).astype(np.float32)
    if marker is not None:
      x[:, 3] = marker
    yield {'state': x}, {'target': x @ WEIGHTS}


def write_linear_records(path, num_examples, marker, seed=0):
  """Writes `num_examples` tf.Examples of LinearModel's specs to `path`."""
  model = LinearModel()
  features, labels = next(linear_batches(num_examples, seed, marker))
  with tf.io.TFRecordWriter(path) as writer:
    for i in range(num_examples):
      writer.write(encoding.encode_example(
          model.get_feature_specification('train'),
          {'state': features['state'][i]},
          model.get_label_specification('train'),
          {'target': labels['target'][i]}))


@gin.configurable
class ShardLoggingRecordInputGenerator(
    record_input_generator.DefaultRecordInputGenerator):
  """Records, logging state[:, 3] of every batch per input pipeline.

  Pipeline p appends to `<log_dir>/pipeline_<p>.txt`, so a test can tell
  which records each worker of a distributed job trained on.
  """

  def __init__(self, log_dir, **kwargs):
    super().__init__(**kwargs)
    self._log_dir = log_dir

  def create_dataset(self, mode, params=None, input_context=None):
    dataset = super().create_dataset(mode, params, input_context)
    pipeline = input_context.input_pipeline_id if input_context else 0
    path = os.path.join(self._log_dir, f'pipeline_{pipeline}.txt')

    def log(features, labels):
      printed = tf.print(features.state[:, 3], summarize=-1,
                         output_stream=f'file://{path}')
      with tf.control_dependencies([printed]):
        features.state = tf.identity(features.state)
      return features, labels

    return dataset.map(log)
