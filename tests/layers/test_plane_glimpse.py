"""PlaneGlimpse: top-down patches of a plane, cut through a pybullet camera."""

import numpy as np
import pybullet
import pytest
import tensorflow as tf

from t2r.layers.plane_glimpse import PlaneGlimpse

SIZE = 64
PLANE_Z = -0.1
CENTRE = (0.55, 0.05)


def _render(render_segmentation, boxes):
  """1 where flat boxes ((x, y, half_x, half_y), ...) on the plane show."""
  mask = render_segmentation(
      [({'shapeType': pybullet.GEOM_BOX,
         'halfExtents': (half_x, half_y, 0.002)}, (x, y, PLANE_Z))
       for x, y, half_x, half_y in boxes], SIZE)
  return (mask >= 0).astype(np.float32)[None, :, :, None]


@pytest.fixture(scope='module')
def square_image(render_segmentation):
  """A 4 cm square centred at CENTRE, seen by the camera."""
  return _render(render_segmentation, [(*CENTRE, 0.02, 0.02)])


@pytest.fixture(scope='module')
def bar_image(render_segmentation):
  """A 12 cm bar along world x through CENTRE."""
  return _render(render_segmentation, [(*CENTRE, 0.06, 0.01)])


def _glimpse(camera, side=0.16, size=16):
  return PlaneGlimpse(*camera, plane_z=PLANE_Z, side=side, size=size)


def _centre_of_mass(patch):
  rows, columns = np.indices(patch.shape)
  total = patch.sum()
  return (rows * patch).sum() / total, (columns * patch).sum() / total


def test_the_square_under_the_pose_lies_at_the_patch_centre(camera,
                                                            square_image):
  patch = _glimpse(camera)(square_image,
                           tf.constant([[*CENTRE, 0.0]])).numpy()[0, ..., 0]
  row, column = _centre_of_mass(patch)
  assert abs(row - 7.5) < 0.75 and abs(column - 7.5) < 0.75
  # 4 cm of a 16 cm, 16-pixel patch: about 4x4 pixels lit.
  assert 9 < patch.sum() < 25


def test_the_perspective_is_removed(camera, square_image):
  """The square reads as a square in the patch, not as the image's trapezoid."""
  patch = _glimpse(camera)(square_image,
                           tf.constant([[*CENTRE, 0.0]])).numpy()[0, ..., 0]
  lit_rows = np.nonzero(patch.max(axis=1) > 0.5)[0]
  lit_columns = np.nonzero(patch.max(axis=0) > 0.5)[0]
  assert abs(lit_rows.size - lit_columns.size) <= 1


def test_columns_run_along_the_yaw_direction(camera, bar_image):
  glimpse = _glimpse(camera)
  along_x, along_y = glimpse(
      np.repeat(bar_image, 2, axis=0),
      tf.constant([[*CENTRE, 0.0], [*CENTRE, np.pi / 2]])).numpy()[..., 0]
  # Yaw 0: columns along world x, so the bar spans the columns.
  assert (along_x.max(axis=0) > 0.5).sum() > 2 * (
      along_x.max(axis=1) > 0.5).sum()
  # Yaw pi/2: columns along world y, so the bar spans the rows instead.
  assert (along_y.max(axis=1) > 0.5).sum() > 2 * (
      along_y.max(axis=0) > 0.5).sum()
  np.testing.assert_allclose(along_y, np.flip(along_x.T, axis=0), atol=0.2)


def test_a_pose_the_camera_does_not_see_reads_as_zero(camera, square_image):
  patch = _glimpse(camera)(square_image + 1.0,
                           tf.constant([[5.0, 5.0, 0.0]])).numpy()
  np.testing.assert_array_equal(patch, 0.0)


def test_the_homography_maps_a_plane_point_to_its_projection(camera):
  glimpse = _glimpse(camera)
  column, row, w = glimpse.plane_to_pixels(SIZE, SIZE) @ np.array(
      [*CENTRE, 1.0])
  view = np.reshape(camera[0], (4, 4)).T
  projection = np.reshape(camera[1], (4, 4)).T
  clip = projection @ view @ np.array([*CENTRE, PLANE_Z, 1.0])
  ndc = clip[:2] / clip[3]
  np.testing.assert_allclose(
      [column / w, row / w],
      [(ndc[0] + 1) * SIZE / 2 - 0.5, (1 - ndc[1]) * SIZE / 2 - 0.5],
      atol=1e-6)


def test_a_mixed_precision_layer_returns_float16(camera, square_image):
  glimpse = PlaneGlimpse(*camera, plane_z=PLANE_Z, side=0.16, size=16,
                         dtype='mixed_float16')
  patch = glimpse(square_image, tf.constant([[*CENTRE, 0.0]]))
  assert patch.dtype == tf.float16 and patch.shape == (1, 16, 16, 1)


def test_the_config_round_trips(camera, square_image):
  glimpse = _glimpse(camera, side=0.1, size=8)
  clone = PlaneGlimpse.from_config(glimpse.get_config())
  poses = tf.constant([[*CENTRE, 0.4]])
  np.testing.assert_allclose(clone(square_image, poses).numpy(),
                             glimpse(square_image, poses).numpy())


@pytest.mark.parametrize('kwargs, message', [
    ({'side': 0.0}, 'side must be a positive number'),
    ({'size': 2.5}, 'size must be a positive int'),
    ({'plane_z': float('nan')}, 'plane_z must be a finite number'),
    ({'view_matrix': (1.0,) * 15}, 'view_matrix'),
])
def test_bad_arguments_are_clear_value_errors(camera, kwargs, message):
  arguments = dict(view_matrix=camera[0], projection_matrix=camera[1],
                   plane_z=PLANE_Z, side=0.16, size=16)
  arguments.update(kwargs)
  with pytest.raises(ValueError, match=message):
    PlaneGlimpse(**arguments)


@pytest.mark.parametrize('images, poses, message', [
    (np.zeros((1, SIZE, SIZE, 1), np.uint8), [[0.5, 0.0, 0.0]],
     'expects float images'),
    (np.zeros((SIZE, SIZE, 1), np.float32), [[0.5, 0.0, 0.0]],
     'static height and width'),
    (np.zeros((1, SIZE, SIZE, 1), np.float32), [[0.5, 0.0]],
     r'k >= 3'),
    (np.zeros((2, SIZE, SIZE, 1), np.float32), [[0.5, 0.0, 0.0]],
     'one image row per pose'),
])
def test_bad_inputs_are_clear_value_errors(camera, images, poses, message):
  with pytest.raises(ValueError, match=message):
    _glimpse(camera)(images, tf.constant(poses, tf.float32))
