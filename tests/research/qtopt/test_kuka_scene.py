"""The shared KUKA scene: object split, camera, domain randomization."""

import dataclasses
import os

import gin
import numpy as np
import pytest

from research.kuka_scene import camera as camera_lib
from research.kuka_scene import objects
from research.kuka_scene import randomization as randomization_lib
from research.kuka_scene import scene as scene_lib


def test_object_split_is_disjoint_and_excludes_168():
  train, test = objects.object_names('train'), objects.object_names('test')
  assert len(train) == 899 and len(test) == 100
  assert not set(train) & set(test)
  assert all(name.endswith('0') for name in test)
  assert not any(name.endswith('0') for name in train)
  assert '168' not in train and '168' not in test
  assert len(set(train) | set(test)) == 999


def test_excluded_object_and_unknown_split_are_value_errors():
  with pytest.raises(ValueError, match='NaN'):
    objects.object_urdf_path('168')
  with pytest.raises(ValueError, match="object_split must be one of"):
    objects.object_names('validation')
  assert os.path.isfile(objects.object_urdf_path('010'))


def test_default_camera_is_the_kuka_diverse_object_camera():
  pose = camera_lib.CameraPose()
  assert pose.target == (0.23, 0.2, 0.54)
  assert (pose.yaw, pose.pitch, pose.distance, pose.fov) == (245.0, -56.0,
                                                             1.0, 20.0)
  view, projection = pose.matrices(64, 64)
  assert len(view) == len(projection) == 16


@pytest.mark.parametrize('kwargs, match', [
    ({'pitch': -95.0}, 'pitch'),
    ({'distance': 0.0}, 'distance'),
    ({'fov': 190.0}, 'fov'),
    ({'target': (0.0, 0.0)}, 'target'),
])
def test_bad_camera_pose_is_a_value_error(kwargs, match):
  with pytest.raises(ValueError, match=match):
    camera_lib.CameraPose(**kwargs)


@pytest.mark.parametrize('kwargs, match', [
    ({'camera_yaw_jitter': -1.0}, 'camera_yaw_jitter'),
    ({'texture_probability': 1.5}, 'texture_probability'),
    ({'hue_range': (0.5, 0.2)}, 'hue_range'),
    ({'object_colors': 'yes'}, 'object_colors'),
    ({'num_textures': 0}, 'num_textures'),
])
def test_bad_randomization_is_a_value_error(kwargs, match):
  with pytest.raises(ValueError, match=match):
    randomization_lib.DomainRandomization(**kwargs)


def test_presets_by_name_and_bad_names():
  assert randomization_lib.get_randomization('none').is_identity
  assert randomization_lib.get_randomization(None).is_identity
  assert not randomization_lib.get_randomization('randomized').is_identity
  with pytest.raises(ValueError, match='shifted'):
    randomization_lib.get_randomization('reality')
  with pytest.raises(TypeError, match='DomainRandomization'):
    randomization_lib.get_randomization(3)


def test_shifted_colours_and_camera_lie_outside_the_training_ranges():
  train = randomization_lib.get_randomization('randomized')
  shifted = randomization_lib.get_randomization('shifted')
  assert train.hue_range[1] < shifted.hue_range[0]
  assert shifted.texture_seed != train.texture_seed
  assert shifted.camera_yaw_offset > train.camera_yaw_jitter
  assert shifted.camera_pitch_offset > train.camera_pitch_jitter
  assert shifted.camera_distance_offset > train.camera_distance_jitter
  rng = np.random.default_rng(0)
  for _ in range(20):
    pose = shifted.sample(rng, 1).camera
    assert abs(pose.yaw - 245.0) > train.camera_yaw_jitter


def test_sampling_is_deterministic_per_seed_and_identity_by_default():
  train = randomization_lib.get_randomization('randomized')
  first = train.sample(np.random.default_rng(4), 5)
  assert first == train.sample(np.random.default_rng(4), 5)
  assert first != train.sample(np.random.default_rng(5), 5)
  assert len(first.object_colors) == 5
  plain = randomization_lib.DomainRandomization().sample(
      np.random.default_rng(4), 5)
  assert plain.camera == camera_lib.CameraPose()
  assert plain.object_colors is None and plain.tray_texture is None


def test_textures_are_deterministic_in_their_seed():
  train = randomization_lib.get_randomization('randomized')
  first, second = train.texture_images(), train.texture_images()
  assert len(first) == train.num_textures
  assert all(np.array_equal(a, b) for a, b in zip(first, second))
  assert first[0].shape == (64, 64, 3) and first[0].dtype == np.uint8
  other = dataclasses.replace(train, texture_seed=5).texture_images()
  assert not np.array_equal(first[0], other[0])


def test_randomization_is_gin_configurable():
  gin.clear_config()
  try:
    gin.parse_config(['DomainRandomization.light = True',
                      'DomainRandomization.camera_fov_jitter = 2.0'])
    randomization = randomization_lib.DomainRandomization()
    assert randomization.light and randomization.camera_fov_jitter == 2.0
  finally:
    gin.clear_config()


@pytest.mark.parametrize('image_size', [0, (64,), (64, -1), 64.0, True])
def test_bad_image_size_is_a_value_error(image_size):
  with pytest.raises(ValueError, match='image_size'):
    scene_lib.as_image_size(image_size)


@pytest.fixture(scope='module')
def scenes():
  made = {name: scene_lib.KukaScene(object_split='test', num_objects=2,
                                    settle_substeps=30, randomization=name)
          for name in ('none', 'randomized')}
  yield made
  for scene in made.values():
    scene.close()


def _snapshot(scene, seed):
  scene.reset(seed)
  return scene.render(48, 48), scene.object_positions()


def test_randomization_changes_the_image_but_not_the_objects(scenes):
  plain_image, plain_positions = _snapshot(scenes['none'], 3)
  image, positions = _snapshot(scenes['randomized'], 3)
  np.testing.assert_array_equal(positions, plain_positions)
  assert np.abs(image.astype(int) - plain_image).mean() > 5


def test_randomized_scene_is_deterministic_per_seed(scenes):
  first_image, first_positions = _snapshot(scenes['randomized'], 11)
  _snapshot(scenes['randomized'], 12)
  image, positions = _snapshot(scenes['randomized'], 11)
  np.testing.assert_array_equal(image, first_image)
  np.testing.assert_array_equal(positions, first_positions)
  other_image, _ = _snapshot(scenes['randomized'], 12)
  assert not np.array_equal(other_image, first_image)


def test_scene_rejects_bad_arguments_and_use_after_close():
  with pytest.raises(ValueError, match='num_objects'):
    scene_lib.KukaScene(num_objects=0)
  with pytest.raises(ValueError, match='settle_substeps'):
    scene_lib.KukaScene(settle_substeps=-1)
  with pytest.raises(TypeError, match='CameraPose'):
    scene_lib.KukaScene(camera=(0.0, 0.0, 0.0))
  scene = scene_lib.KukaScene(num_objects=1, settle_substeps=0)
  with pytest.raises(ValueError, match='seed'):
    scene.reset(seed=-1)
  scene.reset(seed=0)
  with pytest.raises(ValueError, match='finite'):
    scene.move_gripper((0.5, 0.0, float('nan')), 0.0)
  scene.close()
  scene.close()
  with pytest.raises(RuntimeError, match='close'):
    scene.reset(seed=0)


def test_robot_rgba_paints_every_arm_link():
  grey = (0.5, 0.5, 0.5, 1.0)
  scene = scene_lib.KukaScene(num_objects=1, settle_substeps=0,
                              robot_rgba=grey)
  try:
    scene.reset(seed=0)
    client = scene._client  # pylint: disable=protected-access
    robot = scene._robot  # pylint: disable=protected-access
    colours = {tuple(np.round(shape[7], 3))
               for shape in client.getVisualShapeData(robot)}
    assert colours == {grey}
  finally:
    scene.close()


@pytest.mark.parametrize('rgba', [(1.0, 0.0, 0.0), (0.5, 0.5, 0.5, 2.0),
                                  'grey'])
def test_bad_robot_rgba_is_a_value_error(rgba):
  with pytest.raises(ValueError, match='robot_rgba'):
    scene_lib.KukaScene(robot_rgba=rgba)
