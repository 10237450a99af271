"""Spatial softmax: feature maps to expected image coordinates per channel.

Levine et al. (2016), "End-to-End Training of Deep Visuomotor Policies": each
channel of a conv feature map becomes a probability distribution over pixel
positions; its expected (x, y) is a keypoint. Pose and grasping networks use
these keypoints instead of flattening the feature map, which keeps the head
small and translation-aware.

`BuildSpatialSoftmax` is Tensor2Robot's function (keypoints and the softmax
map, optionally with Gumbel-softmax sampling); the `SpatialSoftmax` layer
computes the keypoints with it and learns the temperature.
"""

import numbers
from typing import Optional, Sequence, Tuple, Union

import gin
import numpy as np
import tensorflow as tf
import tf_keras

Seed = Union[None, int, Sequence[int], tf.Tensor]


def _gumbel_noise(shape: tf.Tensor, dtype: tf.DType, seed: Seed) -> tf.Tensor:
  """Standard Gumbel noise, -log(-log(U)) for U uniform in (0, 1)."""
  tiny = np.finfo(np.float32).tiny
  if seed is None:
    uniform = tf.random.uniform(shape, minval=tiny, maxval=1.0)
  else:
    if isinstance(seed, numbers.Integral):
      seed = [int(seed), 0]
    uniform = tf.random.stateless_uniform(shape, seed, minval=tiny,
                                          maxval=1.0)
  return tf.cast(-tf.math.log(-tf.math.log(uniform)), dtype)


@gin.configurable
def BuildSpatialSoftmax(  # pylint: disable=invalid-name
    features: tf.Tensor,
    spatial_gumbel_softmax: bool = False,
    temperature: Union[float, tf.Tensor] = 1.0,
    seed: Seed = None) -> Tuple[tf.Tensor, tf.Tensor]:
  """Returns the expected keypoints and the softmax of a feature map.

  Each channel's softmax over the H x W positions is a distribution whose
  expected (x, y) position is that channel's keypoint, in [-1, 1] (image
  left / top = -1).

  Example:
    >>> points, softmax = BuildSpatialSoftmax(tf.zeros((2, 16, 16, 8)))
    >>> points.shape, softmax.shape
    (TensorShape([2, 16]), TensorShape([2, 16, 16, 8]))

  Args:
    features: (batch, height, width, channels) float features with known
      height, width and channels.
    spatial_gumbel_softmax: Sample the distribution with the Gumbel-softmax
      relaxation (softmax of logits plus Gumbel noise, as T2R's
      RelaxedOneHotCategorical with temperature 1) instead of taking the
      plain softmax: the keypoints become a differentiable sample rather
      than the expectation.
    temperature: The logits are `features / temperature` (a float or a
      scalar tensor, e.g. a learned variable).
    seed: Seed of the Gumbel noise: an int or a shape [2] integer tensor
      gives the same noise on every call; None draws fresh noise from
      TensorFlow's global random state.

  Returns:
    `(expected_feature_points, softmax)`: (batch, 2 * channels) keypoints
    ordered x1, y1, x2, y2, ... (what T2R's code returned; its docstring
    said all x then all y), and the (batch, height, width, channels)
    softmax, each channel summing to 1 over positions.

  Raises:
    ValueError: If `features` is not rank 4 with known spatial dimensions
      and channels.
  """
  features = tf.convert_to_tensor(features)
  if features.shape.rank != 4 or None in features.shape[1:]:
    raise ValueError(
        'BuildSpatialSoftmax expects (batch, height, width, channels) '
        f'features with known height, width and channels, got '
        f'{features.shape}.')
  height, width, channels = features.shape[1:]
  # (batch, C, H * W): one distribution over positions per channel.
  logits = tf.reshape(
      tf.transpose(features, [0, 3, 1, 2]), [-1, channels, height * width])
  logits /= tf.cast(temperature, logits.dtype)
  if spatial_gumbel_softmax:
    logits += _gumbel_noise(tf.shape(logits), logits.dtype, seed)
  probabilities = tf.nn.softmax(logits, axis=-1)
  ys, xs = tf.meshgrid(
      tf.linspace(-1.0, 1.0, height), tf.linspace(-1.0, 1.0, width),
      indexing='ij')
  positions = tf.cast(
      tf.stack([tf.reshape(xs, [-1]), tf.reshape(ys, [-1])], axis=-1),
      probabilities.dtype)
  expected = tf.einsum('bcp,pk->bck', probabilities, positions)
  softmax = tf.transpose(
      tf.reshape(probabilities, [-1, channels, height, width]), [0, 2, 3, 1])
  return tf.reshape(expected, [-1, 2 * channels]), softmax


@gin.configurable
class SpatialSoftmax(tf_keras.layers.Layer):
  """Turns (batch, H, W, C) features into (batch, 2 * C) expected coordinates.

  The output holds, per channel, the expected x then the expected y of the
  softmax over positions, both in [-1, 1] (image left/top = -1): the
  keypoints of `BuildSpatialSoftmax`. The softmax temperature is learned
  unless `trainable_temperature=False`.

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
    # Explicit arguments: a gin binding of BuildSpatialSoftmax does not
    # change the layer (its config says what it computes).
    keypoints, _ = BuildSpatialSoftmax(
        features, spatial_gumbel_softmax=False, temperature=self.temperature)
    return keypoints

  def compute_output_shape(self, input_shape):
    input_shape = tf.TensorShape(input_shape)
    return tf.TensorShape([input_shape[0], 2 * input_shape[-1]])

  def get_config(self):
    config = super().get_config()
    config.update(initial_temperature=self._initial_temperature,
                  trainable_temperature=self._trainable_temperature)
    return config
