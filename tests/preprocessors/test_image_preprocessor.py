"""ImagePreprocessor: uint8 camera images in, the model's float images out."""

import gin
import numpy as np
import pytest
import tensorflow as tf

from preprocessors import ImagePreprocessor
from t2r import specs
from t2r.modes import ModeKeys

_SOURCE = (16, 20)


@pytest.fixture
def camera_batch(model, batch):
  """The model's batch with 16x20 uint8 records in place of the image."""
  features, labels = batch
  features['state/image'] = np.random.default_rng(2).integers(
      0, 256, (2,) + _SOURCE + (3,)).astype(np.uint8)
  return features, labels


def _make(model, **kwargs):
  return ImagePreprocessor(model.get_feature_specification,
                           model.get_label_specification,
                           source_image_size=_SOURCE, **kwargs)


@pytest.mark.parametrize('mode', ModeKeys.ALL)
def test_in_spec_reads_jpeg_records_under_the_same_name(model, mode):
  in_spec = _make(model).get_in_feature_specification(mode)
  image = in_spec['state/image']
  assert (image.shape, image.dtype, image.name, image.data_format) == (
      _SOURCE + (3,), tf.uint8, 'image', 'jpeg')
  model_spec = model.get_feature_specification(mode)
  assert in_spec['state/pose'] == model_spec['state/pose']
  assert in_spec['state/extra'].is_optional


@pytest.mark.parametrize('mode', ModeKeys.ALL)
def test_out_specs_are_the_models(model, mode):
  preprocessor = _make(model, data_format='png')
  specs.assert_equal(model.get_feature_specification(mode),
                     preprocessor.get_out_feature_specification(mode))
  specs.assert_equal(model.get_label_specification(mode),
                     preprocessor.get_in_label_specification(mode))
  assert preprocessor.get_in_feature_specification(
      mode)['state/image'].data_format == 'png'


def test_eval_takes_the_center_crop_in_unit_range(model, camera_batch):
  features, _ = _make(model).preprocess(*camera_batch, ModeKeys.EVAL)
  image = features['state/image']
  assert image.dtype == tf.float32
  expected = camera_batch[0]['state/image'][:, 5:11, 6:14] / 255.0
  np.testing.assert_allclose(image, expected, atol=1e-6)


def test_crop_size_is_resized_to_the_model_size(model, camera_batch):
  features, labels = camera_batch
  features['state/image'] = np.full((2,) + _SOURCE + (3,), 51, np.uint8)
  out, _ = _make(model, crop_size=(12, 16)).preprocess(features, labels,
                                                       ModeKeys.PREDICT)
  assert out['state/image'].shape == (2, 6, 8, 3)
  np.testing.assert_allclose(out['state/image'], 0.2, atol=1e-6)


def test_eval_is_deterministic_and_train_is_random(model, camera_batch):
  preprocessor = _make(model)

  def run(mode):
    features, _ = preprocessor.preprocess(*camera_batch, mode)
    return features['state/image'].numpy()

  np.testing.assert_array_equal(run(ModeKeys.EVAL), run(ModeKeys.EVAL))
  train = [run(ModeKeys.TRAIN) for _ in range(2)]
  assert not np.array_equal(train[0], train[1])
  for image in train:
    assert image.shape == (2, 6, 8, 3)
    assert 0.0 <= image.min() <= image.max() <= 1.0


def test_train_without_distortions_takes_a_random_crop(model, camera_batch):
  preprocessor = _make(model, distortion_kwargs={})
  features, _ = preprocessor.preprocess(*camera_batch, ModeKeys.TRAIN)
  source = camera_batch[0]['state/image'] / 255.0
  for crop, image in zip(features['state/image'].numpy(), source):
    windows = [
        image[y:y + 6, x:x + 8] for y in range(16 - 6 + 1)
        for x in range(20 - 8 + 1)
    ]
    assert any(np.allclose(crop, window, atol=1e-6) for window in windows)


@pytest.mark.parametrize('mode', ModeKeys.ALL)
def test_other_features_and_labels_pass_through(model, camera_batch, mode):
  features, labels = _make(model).preprocess(*camera_batch, mode)
  np.testing.assert_array_equal(features['state/pose'],
                                camera_batch[0]['state/pose'])
  np.testing.assert_array_equal(labels['action'], camera_batch[1]['action'])


def test_sequence_images_are_processed_per_timestep():
  spec = {'frames': specs.ExtendedTensorSpec((6, 8, 1), tf.float32,
                                             name='frames', is_sequence=True)}
  preprocessor = ImagePreprocessor(lambda mode: spec, source_image_size=_SOURCE,
                                   crop_size=(12, 16))
  in_spec = preprocessor.get_in_feature_specification(ModeKeys.TRAIN)
  assert in_spec['frames'].is_sequence
  assert in_spec['frames'].shape == _SOURCE + (1,)
  frames = np.zeros((2, 3) + _SOURCE + (1,), np.uint8)
  for mode in (ModeKeys.TRAIN, ModeKeys.EVAL):
    features, _ = preprocessor.preprocess({'frames': frames}, None, mode)
    assert features['frames'].shape == (2, 3, 6, 8, 1)


def test_image_paths_select_the_images(model):
  preprocessor = _make(model, image_paths=[])
  in_spec = preprocessor.get_in_feature_specification(ModeKeys.TRAIN)
  assert in_spec['state/image'].dtype == tf.float32


@pytest.mark.parametrize('image_paths, match', [
    (['state/camera'], "names 'state/camera', which the model"),
    (['state/pose'], "spec at 'state/pose'.*must be float32"),
])
def test_bad_image_paths_are_rejected(model, image_paths, match):
  with pytest.raises(ValueError, match=match):
    _make(model, image_paths=image_paths).get_in_feature_specification(
        ModeKeys.TRAIN)


def test_crop_larger_than_the_records_is_rejected(model):
  with pytest.raises(ValueError, match=r"'state/image'.*cropped to \(16, 21\)"):
    _make(model, crop_size=(16, 21)).get_in_feature_specification(
        ModeKeys.EVAL)


@pytest.mark.parametrize('size', [(16,), (16, 0), (16.0, 20), 16])
def test_malformed_source_size_is_rejected(model, size):
  with pytest.raises(ValueError, match='source_image_size must be'):
    ImagePreprocessor(model.get_feature_specification, source_image_size=size)


def test_gin_configured_in_a_dataset_map(model, camera_batch):
  gin.clear_config()
  try:
    gin.parse_config("""
        ImagePreprocessor.source_image_size = (16, 20)
        ImagePreprocessor.distortion_kwargs = {
            'random_brightness': True, 'random_hue': True}
    """)
    preprocessor = ImagePreprocessor(model.get_feature_specification,
                                     model.get_label_specification)
  finally:
    gin.clear_config()
  dataset = tf.data.Dataset.from_tensor_slices(camera_batch).batch(2)
  dataset = dataset.map(
      lambda f, l: preprocessor.preprocess(f, l, ModeKeys.TRAIN))
  assert dataset.element_spec[0]['state/image'].shape.as_list() == [
      None, 6, 8, 3]
  features, _ = next(iter(dataset))
  assert features['state/image'].shape == (2, 6, 8, 3)


def test_serves_from_a_tf_function_with_the_in_spec_signature(
    model, camera_batch):
  preprocessor = _make(model)
  signature = specs.make_input_signature(
      preprocessor.get_in_feature_specification(ModeKeys.PREDICT),
      batch_size=None)
  serve = tf.function(
      lambda f: preprocessor.preprocess(f, None, ModeKeys.PREDICT),
      input_signature=[signature])
  features, labels = serve(camera_batch[0])
  assert labels is None
  np.testing.assert_allclose(
      features['state/image'],
      camera_batch[0]['state/image'][:, 5:11, 6:14] / 255.0, atol=1e-6)
