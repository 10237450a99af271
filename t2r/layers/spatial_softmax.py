"""Spatial softmax: feature maps to expected image coordinates per channel.

Levine et al. (2016), "End-to-End Training of Deep Visuomotor Policies": each
channel of a conv feature map becomes a probability distribution over pixel
positions; its expected (x, y) is a keypoint. Pose and grasping networks use
these keypoints instead of flattening the feature map, which keeps the head
small and translation-aware.
"""

from typing import Optional

import gin
import tensorflow as tf
import tf_keras


@gin.configurable
class SpatialSoftmax(tf_keras.layers.Layer):
  """Turns (batch, H, W, C) features into (batch, 2 * C) expected coordinates.

  The output holds, per channel, the expected x then the expected y of the
  softmax over positions, both in [-1, 1] (image left/top = -1). The softmax
  temperature is learned unless `trainable_temperature=False`.

  Example:
    >>> keypoints = SpatialSoftmax()(tf.zeros((2, 16, 16, 8)))
    >>> keypoints.shape
    TensorShape([2, 16])

  Args:
    initial_temperature: Softmax temperature at initialization.
    trainable_temperature: Learn the temperature with the network.
    **kwargs: Standard `tf_keras.layers.Layer` arguments.
  """

  def __init__(self,
               initial_temperature: float = 1.0,
               trainable_temperature: bool = True,
               **kwargs):
    super().__init__(**kwargs)
    if initial_temperature <= 0:
      raise ValueError('SpatialSoftmax initial_temperature must be > 0, got '
                       f'{initial_temperature}.')
    self._initial_temperature = float(initial_temperature)
    self._trainable_temperature = bool(trainable_temperature)
    self.temperature: Optional[tf.Variable] = None

  def build(self, input_shape):
    input_shape = tf.TensorShape(input_shape)
    if input_shape.rank != 4 or None in input_shape[1:]:
      raise ValueError(
          'SpatialSoftmax expects (batch, height, width, channels) features '
          f'with known height, width and channels, got {input_shape}.')
    self.temperature = self.add_weight(
        name='temperature',
        shape=(),
        initializer=tf_keras.initializers.Constant(self._initial_temperature),
        trainable=self._trainable_temperature)
    super().build(input_shape)

  def call(self, features: tf.Tensor) -> tf.Tensor:
    height, width, channels = features.shape[1:]
    # (batch, C, H * W): one distribution over positions per channel.
    logits = tf.reshape(
        tf.transpose(features, [0, 3, 1, 2]), [-1, channels, height * width])
    probabilities = tf.nn.softmax(
        logits / tf.cast(self.temperature, logits.dtype), axis=-1)
    ys, xs = tf.meshgrid(
        tf.linspace(-1.0, 1.0, height), tf.linspace(-1.0, 1.0, width),
        indexing='ij')
    positions = tf.cast(
        tf.stack([tf.reshape(xs, [-1]), tf.reshape(ys, [-1])], axis=-1),
        probabilities.dtype)
    expected = tf.einsum('bcp,pk->bck', probabilities, positions)
    return tf.reshape(expected, [-1, 2 * channels])

  def compute_output_shape(self, input_shape):
    input_shape = tf.TensorShape(input_shape)
    return tf.TensorShape([input_shape[0], 2 * input_shape[-1]])

  def get_config(self):
    config = super().get_config()
    config.update(initial_temperature=self._initial_temperature,
                  trainable_temperature=self._trainable_temperature)
    return config
