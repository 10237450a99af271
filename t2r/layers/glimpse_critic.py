"""A planar grasp critic that looks where it grasps: Q(glimpse, action).

`PlaneGlimpseCritic` scores an action whose first entries are a pose
(x, y, yaw) on a plane seen by a calibrated camera: a `PlaneGlimpse` cuts
the top-down patch around the pose, in the gripper's frame, out of the image;
a small conv tower reads the patch and a vector branch reads the whole head
input (action, proprioception), and FC layers join them into one logit.
Every grasp is scored by the same patch weights wherever it lies, so what a
grasp on one object teaches transfers to all positions; the vector branch
keeps what depends on the place (the tray's walls, reach).

It has the split of `Grasping44` that `CEMExportGenerator` and the Bellman
target's CEM use: `state_embedding` is the image itself (one row per state;
the critic has no per-state computation to share), and
`q_from_state_embedding` takes one image row per candidate action.

Example:
  >>> import pybullet
  >>> view = pybullet.computeViewMatrixFromYawPitchRoll(
  ...     (0.23, 0.2, 0.54), 1.0, 245.0, -56.0, 0.0, 2)
  >>> projection = pybullet.computeProjectionMatrixFOV(20.0, 1.0, 0.01, 10.0)
  >>> critic = PlaneGlimpseCritic(view, projection)
  >>> critic(tf.zeros((4, 64, 64, 3)), tf.zeros((4, 8))).shape
  TensorShape([4, 1])
"""

import math
import numbers
from typing import Sequence

import gin
import tensorflow as tf
import tf_keras

from t2r.layers import plane_glimpse

_WHO = 'PlaneGlimpseCritic'


def random_flips(patches: tf.Tensor) -> tf.Tensor:
  """Flips each (rows, h, w, c) patch up-down and left-right, each with p 1/2.

  The four results are a parallel-jaw grasp's symmetries in the gripper's
  frame: mirrored across the closing axis, across the fingers' plane, or
  both (a turn by 180 degrees) it is the same grasp.
  """
  rows = tf.shape(patches)[0]
  up_down = tf.random.uniform([rows, 1, 1, 1]) < 0.5
  left_right = tf.random.uniform([rows, 1, 1, 1]) < 0.5
  patches = tf.where(up_down, tf.reverse(patches, [1]), patches)
  return tf.where(left_right, tf.reverse(patches, [2]), patches)


def _sizes(name: str, values: Sequence[int]) -> tuple:
  values = tuple(values)
  if any(isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1
         for v in values):
    raise ValueError(f'{_WHO} {name} must be positive ints, got {values!r}.')
  return tuple(int(v) for v in values)


@gin.configurable
class PlaneGlimpseCritic(tf_keras.layers.Layer):
  """(image, [x, y, yaw, ...]) -> Q logit from the glimpse at (x, y, yaw).

  Patch tower: pairs of 3x3 'same' convolutions (`conv_filters`, ReLU), a
  2x2 max pool after every second one, then flatten and FC
  `patch_fc_size`. Vector branch: FC `vector_fc_size` on the head input.
  Joint: `fc_sizes` FCs (ReLU) on both, then one logit.

  Args:
    view_matrix: 16 floats, the camera's OpenGL view matrix.
    projection_matrix: 16 floats, its OpenGL projection matrix.
    plane_z: Height of the grasp plane, metres (about the objects' middle).
    glimpse_side: The patch's side on the plane, metres.
    glimpse_size: The patch's side in pixels (about the image's resolution
      on the plane over the side).
    conv_filters: Filters of the patch convolutions.
    patch_fc_size: Width of the patch tower's FC layer.
    vector_fc_size: Width of the vector branch's FC layer.
    fc_sizes: Hidden FC layers after the join.
    l2_regularization: tf-keras L2 factor on the kernels.
    flip_augmentation: In training, flip each patch up-down and left-right
      at random (`random_flips`): the grasp's symmetries, four patches per
      recorded grasp.
    **kwargs: Standard `tf_keras.layers.Layer` arguments.

  Call arguments:
    images: (rows, height, width, 3) float images of that camera, one per
      action row.
    head_inputs: (rows, k >= 3) floats; the first three are x, y, yaw.
    training: Whether to apply `flip_augmentation`.

  Returns:
    (rows, 1) logits.

  Raises:
    ValueError: For bad sizes or matrices (see `PlaneGlimpse`), a negative
      L2 factor; when called, for images and inputs of different row
      counts.
  """

  def __init__(self,
               view_matrix: Sequence[float],
               projection_matrix: Sequence[float],
               plane_z: float = -0.16,
               glimpse_side: float = 0.16,
               glimpse_size: int = 16,
               conv_filters: Sequence[int] = (32, 32, 64, 64),
               patch_fc_size: int = 64,
               vector_fc_size: int = 32,
               fc_sizes: Sequence[int] = (64,),
               l2_regularization: float = 0.0,
               flip_augmentation: bool = False,
               **kwargs):
    super().__init__(**kwargs)
    if (isinstance(l2_regularization, bool) or
        not isinstance(l2_regularization, numbers.Real) or
        not math.isfinite(l2_regularization) or l2_regularization < 0):
      raise ValueError(f'{_WHO} l2_regularization must be >= 0, got '
                       f'{l2_regularization!r}.')
    if not isinstance(flip_augmentation, bool):
      raise TypeError(f'{_WHO} flip_augmentation must be a bool, got '
                      f'{flip_augmentation!r}.')
    self.glimpse = plane_glimpse.PlaneGlimpse(
        view_matrix, projection_matrix, plane_z=plane_z, side=glimpse_side,
        size=glimpse_size, name='glimpse')
    self._config = dict(
        plane_z=plane_z, glimpse_side=glimpse_side, glimpse_size=glimpse_size,
        conv_filters=_sizes('conv_filters', conv_filters),
        patch_fc_size=_sizes('patch_fc_size', (patch_fc_size,))[0],
        vector_fc_size=_sizes('vector_fc_size', (vector_fc_size,))[0],
        fc_sizes=_sizes('fc_sizes', fc_sizes),
        l2_regularization=float(l2_regularization),
        flip_augmentation=flip_augmentation)
    regularizer = (tf_keras.regularizers.l2(l2_regularization)
                   if l2_regularization else None)

    def dense(units, name, activation='relu'):
      return tf_keras.layers.Dense(units, activation=activation, name=name,
                                   kernel_regularizer=regularizer)

    self.convs = [
        tf_keras.layers.Conv2D(filters, 3, padding='same', activation='relu',
                               kernel_regularizer=regularizer,
                               name=f'patch_conv{i}')
        for i, filters in enumerate(self._config['conv_filters'])]
    self.patch_fc = dense(self._config['patch_fc_size'], 'patch_fc')
    self.vector_fc = dense(self._config['vector_fc_size'], 'vector_fc')
    self.fcs = [dense(units, f'fc{i}')
                for i, units in enumerate(self._config['fc_sizes'])]
    self.logit = dense(1, 'logit', activation=None)

  def state_embedding(self, images: tf.Tensor, training=None) -> tf.Tensor:
    """The images themselves: one row per state, repeated per candidate."""
    del training  # No per-state layers.
    return tf.convert_to_tensor(images)

  def q_from_state_embedding(self, state_embedding: tf.Tensor,
                             head_inputs: tf.Tensor,
                             training=None) -> tf.Tensor:
    """(rows, 1) logits; `state_embedding` holds one image per row."""
    head_inputs = tf.cast(tf.convert_to_tensor(head_inputs), tf.float32)
    net = self.glimpse(state_embedding, head_inputs)
    if training and self._config['flip_augmentation']:
      net = random_flips(net)
    for i, conv in enumerate(self.convs):
      net = conv(net)
      if i % 2 == 1:
        net = tf.nn.max_pool2d(net, 2, 2, 'SAME')
    patch = self.patch_fc(tf_keras.layers.Flatten()(net))
    net = tf.concat([patch, self.vector_fc(head_inputs)], axis=-1)
    for fc in self.fcs:
      net = fc(net)
    return self.logit(net)

  def call(self, images: tf.Tensor, head_inputs: tf.Tensor,
           training=None) -> tf.Tensor:
    return self.q_from_state_embedding(
        self.state_embedding(images), head_inputs, training=training)

  def get_config(self):
    glimpse = self.glimpse.get_config()
    return dict(super().get_config(), view_matrix=glimpse['view_matrix'],
                projection_matrix=glimpse['projection_matrix'],
                **self._config)
