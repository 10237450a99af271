"""The KUKA scene's hooks for tasks with their own objects (BC-Z)."""

import os

import numpy as np
import pybullet_data
import pytest

from research.kuka_scene import scene as scene_lib

_CUBE = os.path.join(pybullet_data.getDataPath(), 'cube_small.urdf')


class _OneCubeScene(scene_lib.KukaScene):

  def _drop_objects(self, rng):
    self.load_object(_CUBE, (0.55, rng.uniform(-0.1, 0.1), -0.15), yaw=0.4,
                     rgba=(1, 0, 0, 1), name='red block')
    self.step(30)


def test_a_subclass_places_its_own_objects_on_every_reset():
  scene = _OneCubeScene(num_objects=1)
  try:
    for seed in (0, 0, 1):
      scene.reset(seed)
      assert scene.object_names_in_scene == ('red block',)
      assert scene.object_positions().shape == (1, 3)
    x, y, z, w = scene.object_orientations()[0]
    assert abs(x) < 0.01 and abs(y) < 0.01  # Upright.
    yaw = 2.0 * np.arctan2(z, w)
    assert abs(yaw - 0.4) < 0.05
  finally:
    scene.close()


def test_load_object_rejects_a_missing_file_and_a_bad_pose():
  scene = scene_lib.KukaScene(num_objects=1, settle_substeps=0)
  try:
    scene.reset(0)
    with pytest.raises(ValueError, match='no URDF'):
      scene.load_object('/nonexistent.urdf', (0.5, 0.0, 0.0))
    with pytest.raises(ValueError, match='finite'):
      scene.load_object(_CUBE, (0.5, 0.0, float('inf')))
    assert scene.load_object(_CUBE, (0.5, 0.0, -0.1)) == 1
    assert scene.object_names_in_scene[-1] == 'cube_small'
  finally:
    scene.close()
