"""Top-down glimpses of a world plane, cut out of a calibrated camera's image.

A grasp succeeds or fails because of what lies between the fingers, a few
centimetres around the grasp point, seen from the gripper's orientation. A
critic handed the whole image and the action as a vector must learn that
correspondence from labels; `PlaneGlimpse` computes it instead: for each
pose (x, y, yaw) on the plane z = `plane_z` it samples the camera image
through the homography that maps the square of side `side` metres centred
at (x, y), turned by yaw, into the image, so the patch is the plane seen
from straight above in the gripper's frame (perspective removed, not just
cropped). The patch network then scores every grasp with the same weights,
wherever it lies, the translation invariance patch-based grasping relies on
(Pinto and Gupta 2016, "Supersizing Self-supervision").

The camera is the pinhole of OpenGL view and projection matrices, as
pybullet's `computeViewMatrix*` / `computeProjectionMatrixFOV` return them;
pixel centres sit at integer (column, row) coordinates.

Example:
  >>> import pybullet
  >>> view = pybullet.computeViewMatrixFromYawPitchRoll(
  ...     (0.23, 0.2, 0.54), 1.0, 245.0, -56.0, 0.0, 2)
  >>> projection = pybullet.computeProjectionMatrixFOV(20.0, 1.0, 0.01, 10.0)
  >>> glimpse = PlaneGlimpse(view, projection, plane_z=-0.16, side=0.16,
  ...                        size=16)
  >>> glimpse(tf.zeros((2, 64, 64, 3)), tf.constant([[0.55, 0.0, 0.3],
  ...                                                [0.5, 0.1, -1.0]])).shape
  TensorShape([2, 16, 16, 3])
"""

import math
import numbers
from typing import Sequence

import gin
import numpy as np
import tensorflow as tf
import tf_keras

from t2r.layers import point_heatmap

_WHO = 'PlaneGlimpse'


def _positive(name: str, value, integral: bool = False):
  kinds = numbers.Integral if integral else numbers.Real
  if (isinstance(value, bool) or not isinstance(value, kinds) or
      not math.isfinite(value) or value <= 0):
    raise ValueError(f'{_WHO} {name} must be a positive '
                     f'{"int" if integral else "number"}, got {value!r}.')
  return int(value) if integral else float(value)


@gin.configurable
class PlaneGlimpse(tf_keras.layers.Layer):
  """(images, poses on a plane) -> top-down patches in each pose's frame.

  Output pixel (column j, row i) of a patch shows the plane point
  (x, y) + R(yaw) @ ((j - c) d, (i - c) d), d = side / size and c =
  (size - 1) / 2: columns run along the yaw direction, rows across it.
  Plane points outside the image read as 0.

  Args:
    view_matrix: 16 floats, the camera's OpenGL view matrix (column-major).
    projection_matrix: 16 floats, its OpenGL projection matrix.
    plane_z: Height of the plane the poses lie on, metres.
    side: The patch's side on the plane, metres.
    size: The patch's side in pixels.
    **kwargs: Standard `tf_keras.layers.Layer` arguments.

  Call arguments:
    images: (rows, height, width, channels) float images (or feature maps)
      of this camera, with static height and width.
    poses: (rows, k >= 3) float: x, y, yaw (radians); further entries are
      ignored.

  Returns:
    (rows, size, size, channels) patches, bilinearly sampled.

  Raises:
    ValueError: For matrices that are not 16 finite numbers or bad sizes;
      when called, for non-float images, unknown image sizes, or poses with
      fewer than 3 entries or a row count other than the images'.
  """

  def __init__(self,
               view_matrix: Sequence[float],
               projection_matrix: Sequence[float],
               plane_z: float,
               side: float,
               size: int,
               **kwargs):
    super().__init__(**kwargs)
    view = point_heatmap.opengl_matrix('view_matrix', view_matrix, _WHO)
    projection = point_heatmap.opengl_matrix('projection_matrix',
                                             projection_matrix, _WHO)
    if (isinstance(plane_z, bool) or not isinstance(plane_z, numbers.Real)
        or not math.isfinite(plane_z)):
      raise ValueError(f'{_WHO} plane_z must be a finite number, got '
                       f'{plane_z!r}.')
    self._view, self._projection = view, projection
    self._plane_z = float(plane_z)
    self._side = _positive('side', side)
    self._size = _positive('size', size, integral=True)

  def plane_to_pixels(self, height: int, width: int) -> np.ndarray:
    """The 3x3 homography from plane (x, y, 1) to pixel (column, row, 1).

    Args:
      height: The image's rows.
      width: The image's columns.

    Returns:
      H with (column w, row w, w) = H @ (x, y, 1) for points on the plane.
    """
    clip = (self._projection @ self._view)[[0, 1, 3]]   # (clip x, y, w)
    on_plane = np.stack([clip[:, 0], clip[:, 1],
                         clip[:, 2] * self._plane_z + clip[:, 3]], axis=1)
    # Normalized device coordinates to pixel centres at integer coordinates.
    viewport = np.array([[width / 2.0, 0.0, width / 2.0 - 0.5],
                         [0.0, -height / 2.0, height / 2.0 - 0.5],
                         [0.0, 0.0, 1.0]])
    return viewport @ on_plane

  def _transforms(self, poses: tf.Tensor, height: int,
                  width: int) -> tf.Tensor:
    """(rows, 8) output-to-input projective transforms, one per pose."""
    x, y, yaw = poses[:, 0], poses[:, 1], poses[:, 2]
    step = self._side / self._size
    centre = (self._size - 1) / 2.0
    cos, sin = tf.cos(yaw) * step, tf.sin(yaw) * step
    zeros, ones = tf.zeros_like(x), tf.ones_like(x)
    # Patch (j, i, 1) -> plane (x, y, 1).
    patch_to_plane = tf.stack([
        tf.stack([cos, -sin, x - centre * (cos - sin)], axis=-1),
        tf.stack([sin, cos, y - centre * (sin + cos)], axis=-1),
        tf.stack([zeros, zeros, ones], axis=-1)], axis=1)
    homography = tf.matmul(
        tf.constant(self.plane_to_pixels(height, width), tf.float32),
        patch_to_plane)
    flat = tf.reshape(homography / homography[:, 2:3, 2:3], (-1, 9))
    return flat[:, :8]

  def call(self, images: tf.Tensor, poses: tf.Tensor) -> tf.Tensor:
    images = tf.convert_to_tensor(images)
    poses = tf.cast(tf.convert_to_tensor(poses), tf.float32)
    if not images.dtype.is_floating:
      raise ValueError(f'{_WHO} expects float images, got dtype '
                       f'{images.dtype.name}; convert them first, e.g. '
                       'tf.image.convert_image_dtype(images, tf.float32).')
    if images.shape.rank != 4 or None in images.shape[1:3]:
      raise ValueError(f'{_WHO} expects (rows, height, width, channels) '
                       f'images with a static height and width, got shape '
                       f'{images.shape}.')
    if poses.shape.rank != 2 or (poses.shape[-1] is not None and
                                 poses.shape[-1] < 3):
      raise ValueError(f'{_WHO} expects (rows, k >= 3) poses (x, y, yaw), '
                       f'got shape {poses.shape}.')
    if (images.shape[0] is not None and poses.shape[0] is not None and
        images.shape[0] != poses.shape[0]):
      raise ValueError(f'{_WHO} needs one image row per pose (repeat the '
                       f'images per candidate), got {images.shape[0]} '
                       f'images and {poses.shape[0]} poses.')
    height, width = int(images.shape[1]), int(images.shape[2])
    patches = tf.raw_ops.ImageProjectiveTransformV3(
        images=tf.cast(images, tf.float32),
        transforms=self._transforms(poses, height, width),
        output_shape=tf.constant([self._size, self._size], tf.int32),
        fill_value=tf.constant(0.0, tf.float32),
        interpolation='BILINEAR', fill_mode='CONSTANT')
    return tf.cast(patches, images.dtype)

  def get_config(self):
    return dict(super().get_config(),
                view_matrix=self._view.T.reshape(-1).tolist(),
                projection_matrix=self._projection.T.reshape(-1).tolist(),
                plane_z=self._plane_z, side=self._side, size=self._size)
