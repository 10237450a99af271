"""FiLM: feature-wise linear modulation of features by a conditioning input.

Perez et al. (2018), "FiLM: Visual Reasoning with a General Conditioning
Layer": the conditioning vector predicts a per-feature scale and shift,
`out = features * (1 + gamma(c)) + beta(c)`. BC-Z conditions its image tower
on the task embedding this way; a critic conditions its state embedding on
the action. Against concatenating [features, conditioning] before an MLP,
the product `features * gamma(c)` is a first-order interaction: its gradient
with respect to the features depends on the conditioning from the first
step, where a ReLU MLP on the concatenation has to discover that interaction
itself (a critic then first fits Q of the action alone and plateaus there).
"""

from typing import Optional

import gin
import tensorflow as tf
import tf_keras


@gin.configurable
class FiLM(tf_keras.layers.Layer):
  """Modulates (batch, ..., C) features with a (batch, K) conditioning vector.

  gamma and beta come from one dense layer on the conditioning, initialised
  to zero so that the layer starts as the identity: `features * (1 + gamma)
  + beta`. For features with spatial dimensions (batch, H, W, C) the
  modulation is broadcast over them.

  Example:
    >>> film = FiLM()
    >>> film(tf.ones((2, 8)), tf.ones((2, 3))).shape
    TensorShape([2, 8])
    >>> film(tf.ones((2, 4, 4, 8)), tf.ones((2, 3))).shape
    TensorShape([2, 4, 4, 8])

  Args:
    kernel_initializer: Initializer of the dense layer's kernel; 'zeros'
      (default) starts as the identity, a random initializer lets the
      conditioning act from the first step.
    **kwargs: Standard `tf_keras.layers.Layer` arguments.

  Raises:
    ValueError: (when called) if features and conditioning have different
      batch sizes or the conditioning is not (batch, K).
  """

  def __init__(self, kernel_initializer: str = 'zeros', **kwargs):
    super().__init__(**kwargs)
    self._kernel_initializer = kernel_initializer
    self._projection: Optional[tf_keras.layers.Dense] = None

  def build(self, features_shape, conditioning_shape=None):
    channels = tf.TensorShape(features_shape)[-1]
    if channels is None:
      raise ValueError(
          f'FiLM needs a known last (channel) dimension, got features of '
          f'shape {features_shape}.')
    self._projection = tf_keras.layers.Dense(
        2 * channels, kernel_initializer=self._kernel_initializer,
        name='gamma_beta')
    super().build(features_shape)

  def call(self, features: tf.Tensor, conditioning: tf.Tensor) -> tf.Tensor:
    if conditioning.shape.rank != 2:
      raise ValueError(
          f'FiLM conditioning must be (batch, K), got shape '
          f'{conditioning.shape}.')
    gamma, beta = tf.split(
        self._projection(tf.cast(conditioning, features.dtype)), 2, axis=-1)
    # (batch, C) -> (batch, 1, ..., 1, C) to broadcast over spatial axes.
    broadcast_shape = tf.concat(
        [tf.shape(gamma)[:1],
         tf.ones([features.shape.rank - 2], tf.int32), [-1]], axis=0)
    gamma = tf.reshape(gamma, broadcast_shape)
    beta = tf.reshape(beta, broadcast_shape)
    return features * (1.0 + gamma) + beta

  def get_config(self):
    return dict(super().get_config(),
                kernel_initializer=self._kernel_initializer)
