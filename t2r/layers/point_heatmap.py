"""Points in the world drawn as heatmaps in a camera's image (action images).

A critic that scores a grasp point Q(image, (x, y, ...)) has to learn where
in the image an (x, y) lands before it can tell whether an object is there;
from an action vector broadcast over the feature map that takes many
samples. Drawing the point into the image plane instead (Khansari et al.
2020, "Action Image Representation for Learning Deep Grasping Policies";
spatial action maps of Wu et al. 2020) hands the network that
correspondence: `ProjectedPointHeatmap` projects world points through a
fixed pinhole camera (OpenGL view and projection matrices, as pybullet's
`computeViewMatrix*` / `computeProjectionMatrixFOV` return them) and draws a
Gaussian bump per point on a grid of the image's size or a feature map's.

Example:
  >>> import pybullet
  >>> view = pybullet.computeViewMatrixFromYawPitchRoll(
  ...     (0.23, 0.2, 0.54), 1.0, 245.0, -56.0, 0.0, 2)
  >>> projection = pybullet.computeProjectionMatrixFOV(20.0, 1.0, 0.01, 10.0)
  >>> heatmap = ProjectedPointHeatmap(view, projection, grid_size=8,
  ...                                 point_z=-0.16)
  >>> heatmap(tf.constant([[0.55, 0.0]])).shape   # (x, y) at z = -0.16
  TensorShape([1, 8, 8, 1])
"""

import math
import numbers
from typing import Optional, Sequence, Tuple, Union

import gin
import numpy as np
import tensorflow as tf
import tf_keras

GridSize = Union[int, Sequence[int]]
_WHO = 'ProjectedPointHeatmap'


def opengl_matrix(name: str, values: Sequence[float],
                  who: str = _WHO) -> np.ndarray:
  """A 4x4 matrix (acting on column vectors) from 16 column-major floats.

  Args:
    name: The argument's name, for the error.
    values: 16 floats as pybullet's `computeViewMatrix*` /
      `computeProjectionMatrix*` return them.
    who: The class named in the error.

  Returns:
    The (4, 4) float64 matrix.

  Raises:
    ValueError: Unless `values` are 16 finite numbers.
  """
  try:
    flat = np.asarray(values, np.float64).reshape(-1)
  except (TypeError, ValueError) as e:
    raise ValueError(f'{who} {name} must be 16 numbers (a column-major '
                     f'4x4 OpenGL matrix), got {values!r}.') from e
  if flat.shape != (16,) or not np.all(np.isfinite(flat)):
    raise ValueError(f'{who} {name} must be 16 finite numbers (a '
                     f'column-major 4x4 OpenGL matrix, as pybullet returns '
                     f'it), got {values!r}.')
  return flat.reshape(4, 4).T


def _grid_size(grid_size: GridSize) -> Tuple[int, int]:
  size = ((grid_size, grid_size) if isinstance(grid_size, numbers.Integral)
          else tuple(grid_size))
  if (len(size) != 2 or any(isinstance(v, bool) or
                            not isinstance(v, numbers.Integral) or v < 1
                            for v in size)):
    raise ValueError(f'{_WHO} grid_size must be a positive int or (height, '
                     f'width), got {grid_size!r}.')
  return int(size[0]), int(size[1])


@gin.configurable
class ProjectedPointHeatmap(tf_keras.layers.Layer):
  """World points -> Gaussian heatmaps on a camera's image grid.

  A point (x, y, z) is projected to normalized image coordinates (u, v) in
  [0, 1] (u left to right, v top to bottom, as image rows and columns run)
  and drawn as exp(-d^2 / (2 sigma^2)), d the distance in grid cells from
  each cell's centre. Points behind the camera or outside the image give
  an all-zero (or edge-only) map, never NaN.

  With `yaw_channels=True` the map has two more channels, the bump times
  cos(2 yaw) and sin(2 yaw) for a yaw given after the point: a parallel
  gripper's orientation drawn where it grasps (2 yaw: the gripper is the
  same turned by pi).

  Args:
    view_matrix: 16 floats, the camera's OpenGL view matrix (column-major).
    projection_matrix: 16 floats, its OpenGL projection matrix.
    grid_size: The heatmap's (height, width) (or one int): the image's, or
      that of the feature map it is concatenated to.
    sigma: The bump's standard deviation in grid cells.
    point_z: None: points are (x, y, z, ...); a number: points are
      (x, y, ...) on the plane z = point_z (a grasp point above a tray).
    yaw_channels: Add the cos/sin(2 yaw) channels; the yaw is the entry
      after the point's coordinates.
    **kwargs: Standard `tf_keras.layers.Layer` arguments.

  Call arguments:
    points: (rows, k) float: (x, y[, z]) then, with `yaw_channels`, yaw;
      further entries are ignored.

  Returns:
    (rows, height, width, 1 or 3) float32 heatmaps.

  Raises:
    ValueError: For matrices that are not 16 finite numbers, a bad grid
      size, a non-positive sigma, a non-finite `point_z`; when called, for
      points with too few entries.
  """

  def __init__(self,
               view_matrix: Sequence[float],
               projection_matrix: Sequence[float],
               grid_size: GridSize,
               sigma: float = 1.0,
               point_z: Optional[float] = None,
               yaw_channels: bool = False,
               **kwargs):
    super().__init__(**kwargs)
    self._view = opengl_matrix('view_matrix', view_matrix)
    self._projection = opengl_matrix('projection_matrix',
                                     projection_matrix)
    self._grid = _grid_size(grid_size)
    if (isinstance(sigma, bool) or not isinstance(sigma, numbers.Real) or
        not math.isfinite(sigma) or sigma <= 0):
      raise ValueError(f'{_WHO} sigma must be a positive number of grid '
                       f'cells, got {sigma!r}.')
    if point_z is not None and (
        isinstance(point_z, bool) or not isinstance(point_z, numbers.Real)
        or not math.isfinite(point_z)):
      raise ValueError(f'{_WHO} point_z must be None or a finite number, '
                       f'got {point_z!r}.')
    self._sigma = float(sigma)
    self._point_z = None if point_z is None else float(point_z)
    self._yaw_channels = bool(yaw_channels)
    self._clip_from_world = tf.constant(self._projection @ self._view,
                                        tf.float32)

  @property
  def num_channels(self) -> int:
    return 3 if self._yaw_channels else 1

  def _split(self, points: tf.Tensor) -> Tuple[tf.Tensor, Optional[tf.Tensor]]:
    """(rows, 3) world points and the (rows,) yaw (or None)."""
    coordinates = 2 if self._point_z is not None else 3
    needed = coordinates + int(self._yaw_channels)
    if points.shape.rank != 2 or (points.shape[-1] is not None and
                                  points.shape[-1] < needed):
      raise ValueError(
          f'{_WHO} expects (rows, k) points with k >= {needed} ((x, y'
          f'{"" if self._point_z is not None else ", z"}'
          f'{", yaw" if self._yaw_channels else ""})), got shape '
          f'{points.shape}.')
    xyz = points[:, :coordinates]
    if self._point_z is not None:
      xyz = tf.concat([xyz, tf.fill([tf.shape(points)[0], 1],
                                    self._point_z)], axis=-1)
    yaw = points[:, coordinates] if self._yaw_channels else None
    return xyz, yaw

  def project(self, points: tf.Tensor) -> tf.Tensor:
    """(rows, 2) normalized image coordinates (u, v) of the points.

    Args:
      points: As in `call`.

    Returns:
      (u, v) per row: (0, 0) the image's top-left corner, (1, 1) its
      bottom-right; points behind the camera get (-1, -1) (off the image).
    """
    points = tf.cast(tf.convert_to_tensor(points), tf.float32)
    xyz, _ = self._split(points)
    homogeneous = tf.concat([xyz, tf.ones_like(xyz[:, :1])], axis=-1)
    clip = tf.matmul(homogeneous, self._clip_from_world, transpose_b=True)
    depth = clip[:, 3:]
    in_front = depth > 1e-6
    ndc = clip[:, :2] / tf.where(in_front, depth, tf.ones_like(depth))
    uv = tf.stack([(ndc[:, 0] + 1.0) / 2.0, (1.0 - ndc[:, 1]) / 2.0],
                  axis=-1)
    return tf.where(in_front, uv, -tf.ones_like(uv))

  def call(self, points: tf.Tensor) -> tf.Tensor:
    points = tf.cast(tf.convert_to_tensor(points), tf.float32)
    _, yaw = self._split(points)
    uv = self.project(points)
    height, width = self._grid
    # Cell centres in grid units; (u, v) scaled to the same units.
    rows = tf.range(height, dtype=tf.float32) + 0.5
    columns = tf.range(width, dtype=tf.float32) + 0.5
    dv = rows[None, :] - uv[:, 1:2] * height        # (rows, height)
    du = columns[None, :] - uv[:, 0:1] * width      # (rows, width)
    scale = -0.5 / self._sigma**2
    bump = tf.exp(scale * (dv[:, :, None]**2 + du[:, None, :]**2))
    bump = bump[..., None]
    if yaw is None:
      return bump
    return tf.concat([bump,
                      bump * tf.cos(2.0 * yaw)[:, None, None, None],
                      bump * tf.sin(2.0 * yaw)[:, None, None, None]],
                     axis=-1)

  def get_config(self):
    return dict(super().get_config(),
                view_matrix=self._view.T.reshape(-1).tolist(),
                projection_matrix=self._projection.T.reshape(-1).tolist(),
                grid_size=self._grid, sigma=self._sigma,
                point_z=self._point_z, yaw_channels=self._yaw_channels)
