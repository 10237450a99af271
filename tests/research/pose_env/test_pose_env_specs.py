"""The record specs that pose-env collectors write and models read."""

import pytest
import tensorflow as tf

from research.pose_env.pose_env_specs import get_pose_env_specs


def test_specs_are_grouped_into_features_and_labels():
  record_spec = get_pose_env_specs()
  assert record_spec.features.keys() == ['state/image', 'action']
  assert record_spec.labels.keys() == ['reward', 'target_pose']


@pytest.mark.parametrize('path, shape, dtype', [
    ('features/state/image', (64, 64, 3), tf.uint8),
    ('features/action', (2,), tf.float32),
    ('labels/reward', (1,), tf.float32),
    ('labels/target_pose', (2,), tf.float32),
])
def test_each_spec_has_its_shape_dtype_and_name(path, shape, dtype):
  spec = get_pose_env_specs()[path]
  assert spec.shape.as_list() == list(shape)
  assert spec.dtype == dtype
  assert spec.name == path.split('/', 1)[1]


def test_image_is_stored_as_jpeg():
  assert get_pose_env_specs().features['state/image'].data_format == 'jpeg'


@pytest.mark.parametrize('image_size, shape', [(32, [32, 32, 3]),
                                               ((48, 40), [48, 40, 3])])
def test_image_size_sets_the_image_shape(image_size, shape):
  image_spec = get_pose_env_specs(image_size).features['state/image']
  assert image_spec.shape.as_list() == shape


@pytest.mark.parametrize('image_size', [0, (64,), (64, -1), 64.0, 'big'])
def test_invalid_image_size_is_a_value_error(image_size):
  with pytest.raises(ValueError, match='image_size'):
    get_pose_env_specs(image_size)
