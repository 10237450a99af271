"""ProjectedPointHeatmap: world points drawn where a pybullet camera sees them."""

import numpy as np
import pybullet
import pytest
import tensorflow as tf

from t2r.layers.point_heatmap import ProjectedPointHeatmap

SIZE = 64


@pytest.fixture(scope='module')
def sphere_pixels(render_segmentation):
  """Where pybullet's renderer draws a small sphere at (0.55, 0.05, -0.1)."""
  mask = render_segmentation(
      [({'shapeType': pybullet.GEOM_SPHERE, 'radius': 0.02},
        (0.55, 0.05, -0.1))], SIZE)
  return np.nonzero(mask == 0)


def test_projection_lands_on_the_rendered_point(camera, sphere_pixels):
  layer = ProjectedPointHeatmap(*camera, grid_size=SIZE)
  u, v = layer.project(tf.constant([[0.55, 0.05, -0.1]])).numpy()[0]
  rows, columns = sphere_pixels
  assert rows.size > 0
  assert abs(v * SIZE - (rows.mean() + 0.5)) < 1.0
  assert abs(u * SIZE - (columns.mean() + 0.5)) < 1.0


def test_heatmap_peaks_at_the_projected_cell(camera, sphere_pixels):
  layer = ProjectedPointHeatmap(*camera, grid_size=SIZE, point_z=-0.1)
  heatmap = layer(tf.constant([[0.55, 0.05]])).numpy()[0, ..., 0]
  row, column = np.unravel_index(np.argmax(heatmap), heatmap.shape)
  rows, columns = sphere_pixels
  assert (row, column) in set(zip(rows.tolist(), columns.tolist()))
  assert heatmap.max() == pytest.approx(1.0, abs=0.25)


def test_sigma_is_in_grid_cells(camera):
  layer = ProjectedPointHeatmap(*camera, grid_size=8, sigma=1.0)
  u, v = layer.project(tf.constant([[0.55, 0.0, -0.16]])).numpy()[0]
  heatmap = layer(tf.constant([[0.55, 0.0, -0.16]])).numpy()[0, ..., 0]
  row, column = 3, 5
  distance2 = (row + 0.5 - v * 8)**2 + (column + 0.5 - u * 8)**2
  assert heatmap[row, column] == pytest.approx(np.exp(-distance2 / 2),
                                               rel=1e-5)


def test_yaw_channels_carry_twice_the_yaw(camera):
  layer = ProjectedPointHeatmap(*camera, grid_size=8, point_z=-0.16,
                                yaw_channels=True)
  heatmap = layer(tf.constant([[0.55, 0.0, 0.3]])).numpy()[0]
  assert heatmap.shape == (8, 8, 3)
  np.testing.assert_allclose(heatmap[..., 1], heatmap[..., 0] * np.cos(0.6),
                             rtol=1e-5, atol=1e-7)
  np.testing.assert_allclose(heatmap[..., 2], heatmap[..., 0] * np.sin(0.6),
                             rtol=1e-5, atol=1e-7)


def test_a_point_behind_the_camera_gives_an_empty_map(camera):
  layer = ProjectedPointHeatmap(*camera, grid_size=8)
  behind = tf.constant([[3.0, 3.0, 4.0]])  # Past the eye, looking away.
  heatmap = layer(behind).numpy()
  assert np.all(np.isfinite(heatmap))
  assert heatmap.max() < 1e-3


def test_config_round_trips(camera):
  layer = ProjectedPointHeatmap(*camera, grid_size=(6, 8), sigma=0.5,
                                point_z=-0.16, yaw_channels=True)
  copy = ProjectedPointHeatmap.from_config(layer.get_config())
  points = tf.constant([[0.5, 0.05, 1.0], [0.6, -0.1, -0.4]])
  np.testing.assert_allclose(copy(points).numpy(), layer(points).numpy())


@pytest.mark.parametrize('kwargs, message', [
    (dict(view_matrix=[0.0] * 15), 'view_matrix must be 16'),
    (dict(projection_matrix=[float('nan')] * 16), 'projection_matrix'),
    (dict(grid_size=0), 'grid_size'),
    (dict(grid_size=(8, 8, 1)), 'grid_size'),
    (dict(sigma=0.0), 'sigma'),
    (dict(point_z=float('inf')), 'point_z'),
], ids=['short-view', 'nan-projection', 'zero-grid', 'grid-rank',
        'zero-sigma', 'inf-z'])
def test_bad_arguments_name_themselves(camera, kwargs, message):
  arguments = dict(view_matrix=camera[0], projection_matrix=camera[1],
                   grid_size=8)
  arguments.update(kwargs)
  with pytest.raises(ValueError, match=message):
    ProjectedPointHeatmap(**arguments)


def test_too_few_point_entries_is_an_error(camera):
  layer = ProjectedPointHeatmap(*camera, grid_size=8, yaw_channels=True)
  with pytest.raises(ValueError, match=r'k >= 4 \(\(x, y, z, yaw\)\)'):
    layer(tf.constant([[0.5, 0.0, -0.1]]))
