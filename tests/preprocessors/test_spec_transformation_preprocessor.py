"""SpecTransformationPreprocessor: in specs are edited copies of the model's."""

import numpy as np
import pytest
import tensorflow as tf

from preprocessors import CenterCropImages
from preprocessors import SpecTransformationPreprocessor
from preprocessors import update_spec
from t2r import specs
from t2r.modes import ModeKeys

_RECORD_SHAPE = (10, 12, 3)


class _JpegCropPreprocessor(SpecTransformationPreprocessor):
  """The canonical use: records hold larger uint8 JPEGs than the model wants."""

  def _transform_in_feature_specification(self, tensor_spec_struct, mode):
    return update_spec(tensor_spec_struct, 'state/image', shape=_RECORD_SHAPE,
                       dtype=tf.uint8, data_format='jpeg')

  def _preprocess_fn(self, features, labels, mode):
    image = tf.image.convert_image_dtype(features['state/image'], tf.float32)
    features['state/image'] = CenterCropImages([image], _RECORD_SHAPE,
                                               (6, 8))[0]
    return features, labels


class _LabelCast(SpecTransformationPreprocessor):
  """Reads int32 actions and casts them to the model's float32."""

  def _transform_in_label_specification(self, tensor_spec_struct, mode):
    return self.update_spec(tensor_spec_struct, 'action', dtype=tf.int32)

  def _preprocess_fn(self, features, labels, mode):
    labels['action'] = tf.cast(labels['action'], tf.float32)
    return features, labels


def _make(cls, model):
  return cls(model.get_feature_specification, model.get_label_specification)


def test_update_spec_replaces_fields_and_keeps_the_rest(model):
  struct = specs.flatten_spec_structure(
      model.get_feature_specification(ModeKeys.TRAIN))
  result = update_spec(struct, 'state/image', shape=(10, 12, 3),
                       dtype=tf.uint8, data_format='jpeg')
  assert result is struct
  image = struct['state/image']
  assert (image.shape, image.dtype, image.name, image.data_format) == (
      (10, 12, 3), tf.uint8, 'image', 'jpeg')
  assert struct['state/pose'].shape == (4,)


def test_update_spec_of_an_unknown_path_lists_the_paths(model):
  struct = specs.flatten_spec_structure(
      model.get_feature_specification(ModeKeys.TRAIN))
  with pytest.raises(ValueError, match="'state/imag'.*'state/image'"):
    update_spec(struct, 'state/imag', dtype=tf.uint8)


@pytest.mark.parametrize('mode', ModeKeys.ALL)
def test_in_feature_spec_is_the_transformed_model_spec(model, mode):
  preprocessor = _make(_JpegCropPreprocessor, model)
  in_spec = preprocessor.get_in_feature_specification(mode)
  assert in_spec['state/image'].shape == _RECORD_SHAPE
  assert in_spec['state/image'].dtype == tf.uint8
  assert in_spec['state/image'].data_format == 'jpeg'
  assert in_spec['state/image'].name == 'image'
  assert in_spec['state/extra'].is_optional
  specs.assert_equal(model.get_feature_specification(mode),
                     preprocessor.get_out_feature_specification(mode))
  specs.assert_equal(model.get_label_specification(mode),
                     preprocessor.get_in_label_specification(mode))


def test_transforming_does_not_touch_the_model_spec(model):
  model_spec = model.get_feature_specification(ModeKeys.TRAIN)
  preprocessor = _JpegCropPreprocessor(lambda mode: model_spec)
  preprocessor.get_in_feature_specification(ModeKeys.TRAIN)
  assert model_spec['state/image'].dtype == tf.float32


def test_label_hook_transforms_the_label_spec(model, batch):
  preprocessor = _make(_LabelCast, model)
  assert preprocessor.get_in_label_specification(
      ModeKeys.TRAIN)['action'].dtype == tf.int32
  features, labels = batch
  labels['action'] = np.array([[1, 2], [3, 4]], np.int32)
  _, out_labels = preprocessor.preprocess(features, labels, ModeKeys.TRAIN)
  np.testing.assert_array_equal(out_labels['action'], [[1., 2.], [3., 4.]])


def test_preprocess_turns_records_into_model_input(model, batch):
  preprocessor = _make(_JpegCropPreprocessor, model)
  features, labels = batch
  features['state/image'] = np.full((2,) + _RECORD_SHAPE, 255, np.uint8)
  out_features, _ = preprocessor.preprocess(features, labels, ModeKeys.EVAL)
  assert out_features['state/image'].dtype == tf.float32
  np.testing.assert_array_equal(out_features['state/image'],
                                np.ones((2, 6, 8, 3)))


def test_model_shaped_input_is_rejected_with_the_record_spec(model, batch):
  preprocessor = _make(_JpegCropPreprocessor, model)
  with pytest.raises(ValueError, match=r"'state/image' \(name 'image'\) "
                     r'expects \(None, 10, 12, 3\) uint8'):
    preprocessor.preprocess(*batch, ModeKeys.TRAIN)
