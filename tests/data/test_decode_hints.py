"""Decode hints: windowed and DCT-scaled JPEG decoding, and its accuracy."""

import numpy as np
import pytest
import tensorflow as tf

from preprocessors import ImagePreprocessor
from preprocessors import image_transformations
from t2r import specs
from t2r.data import decode_hints
from t2r.data import image_decoding
from t2r.data import parsing
from t2r.data import record_input_generator
from t2r.modes import ModeKeys
from tests.data import record_files

_STORED = (128, 160)
_HINT_CROP = decode_hints.DecodeHint((100, 100), False, (100, 100))


def _camera_like(seed: int, size=_STORED) -> np.ndarray:
  """A smooth scene with sensor noise, like a 512x640 camera frame.

  Smaller sizes show the same scene, shrunk (more detail per pixel).
  """
  rng = np.random.default_rng(seed)
  y, x = np.mgrid[0:size[0], 0:size[1]].astype(np.float32)
  low, high = np.array([0.005, 0.05]) * 640 / size[1]
  channels = [127 + 100 * np.sin(rng.uniform(low, high) * x +
                                 rng.uniform(low, high) * y +
                                 rng.uniform(0, 6)) for _ in range(3)]
  image = np.stack(channels, -1) + rng.normal(0, 6, size + (3,))
  return np.clip(image, 0, 255).astype(np.uint8)


def _jpeg(image: np.ndarray) -> bytes:
  return tf.io.encode_jpeg(image, quality=95).numpy()


def _spec(size=_STORED, data_format='jpeg', **kwargs):
  return specs.ExtendedTensorSpec(size + (3,), tf.uint8, name='image',
                                  data_format=data_format, **kwargs)


def _full(jpeg: bytes) -> np.ndarray:
  return tf.io.decode_jpeg(jpeg, channels=3).numpy().astype(np.int32)


class TestPlan:

  def test_a_smaller_window_decodes_the_window(self):
    plan = decode_hints.plan_decode(
        decode_hints.DecodeHint((100, 120), True, (50, 60)), _spec())
    assert (plan.kind, plan.decoded_size, plan.random_crop) == (
        'crop', (100, 120), True)

  @pytest.mark.parametrize('resize_to, ratio', [((16, 16), 8), ((20, 20), 4),
                                                ((64, 80), 2), ((40, 70), 2)])
  def test_shrinking_picks_the_largest_dct_ratio_that_keeps_the_size(
      self, resize_to, ratio):
    plan = decode_hints.plan_decode(
        decode_hints.DecodeHint(_STORED, False, resize_to), _spec())
    assert (plan.kind, plan.ratio) == ('scale', ratio)
    assert plan.decoded_size == decode_hints.scaled_size(_STORED, ratio)

  @pytest.mark.parametrize('hint, spec', [
      (None, _spec()),
      (decode_hints.DecodeHint(_STORED, False, (65, 40)), _spec()),
      (decode_hints.DecodeHint(_STORED, True, _STORED), _spec()),
      (decode_hints.DecodeHint((100, 100), True, (10, 10)),
       _spec(data_format='png')),
  ])
  def test_otherwise_decodes_in_full(self, hint, spec):
    assert decode_hints.plan_decode(hint, spec).kind == 'full'

  def test_a_window_larger_than_the_image_is_an_error(self):
    with pytest.raises(ValueError, match=r'crops \(200, 100\).*must fit'):
      decode_hints.plan_decode(
          decode_hints.DecodeHint((200, 100), True, (10, 10)), _spec())

  @pytest.mark.parametrize('kwargs, error', [
      (dict(crop_size=(0, 4), random_crop=True, resize_to=(2, 2)), ValueError),
      (dict(crop_size=(4, 4), random_crop=1, resize_to=(2, 2)), TypeError),
      (dict(crop_size=(4, 4), random_crop=True, resize_to=[2]), ValueError),
  ])
  def test_malformed_hints_are_errors(self, kwargs, error):
    with pytest.raises(error, match='DecodeHint'):
      decode_hints.DecodeHint(**kwargs)


class TestWindowedDecode:

  def test_centre_window_matches_decode_then_crop_within_tolerance(self):
    jpegs = [_jpeg(_camera_like(seed)) for seed in range(3)]
    plan = decode_hints.plan_decode(_HINT_CROP, _spec())
    decoded = image_decoding.decode_images(
        tf.constant(jpegs), _spec(), "'image'", False, plan).numpy()
    top, left = (128 - 100) // 2, (160 - 100) // 2
    expected = np.stack([_full(j)[top:top + 100, left:left + 100]
                         for j in jpegs])
    difference = np.abs(decoded.astype(np.int32) - expected)
    assert difference.mean() < decode_hints.CROP_MEAN_ABS_TOLERANCE
    assert (difference > 0).mean() < decode_hints.CROP_DIFFERING_FRACTION

  @pytest.mark.parametrize('window', [[16, 32, 64, 96], [7, 3, 100, 120],
                                      [0, 0, 128, 100]])
  def test_differences_lie_only_along_the_window_edges(self, window):
    jpeg = _jpeg(_camera_like(4))
    top, left, height, width = window
    decoded = tf.io.decode_and_crop_jpeg(jpeg, window, channels=3).numpy()
    expected = _full(jpeg)[top:top + height, left:left + width]
    np.testing.assert_array_equal(decoded[2:-2, 2:-2], expected[2:-2, 2:-2])

  def test_random_windows_are_those_of_random_crop_images(self):
    image = tf.constant(_camera_like(5)[None].repeat(6, 0))
    seed = tf.constant([3, 4], tf.int64)
    top, left = decode_hints.random_crop_offsets(6, _STORED, (100, 100), seed)
    crops = image_transformations.RandomCropImages([image], _STORED + (3,),
                                                   (100, 100), seed=seed)[0]
    for index in range(6):
      t, l = int(top[index]), int(left[index])
      np.testing.assert_array_equal(crops[index],
                                    image[index, t:t + 100, l:l + 100])

  def test_random_windows_are_drawn_per_example_and_shared_over_time(self):
    image = _camera_like(6)
    jpeg = _jpeg(image)
    spec = _spec(is_sequence=True)
    plan = decode_hints.DecodePlan('crop', (100, 100), random_crop=True)
    tf.random.set_seed(0)
    decoded = image_decoding.decode_images(
        tf.constant([[jpeg] * 3] * 8), spec, "'image'", False, plan).numpy()
    full = _full(jpeg)
    offsets = []
    for example in decoded:
      for step in example[1:]:
        np.testing.assert_array_equal(step, example[0])
      # Where the window lies: the offset with the smallest difference.
      errors = {(t, l): np.abs(full[t:t + 100, l:l + 100] - example[0]).mean()
                for t in range(29) for l in range(61)}
      best = min(errors, key=errors.get)
      assert errors[best] < decode_hints.CROP_MEAN_ABS_TOLERANCE
      offsets.append(best)
    assert len(set(offsets)) > 1

  def test_an_image_of_another_stored_size_fails_naming_the_feature(self):
    plan = decode_hints.plan_decode(_HINT_CROP, _spec())
    jpeg = _jpeg(_camera_like(7, (120, 160)))
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"`image` expects images of shape \(128, 160, 3"):
      image_decoding.decode_images(tf.constant([jpeg]), _spec(), "'image'",
                                   False, plan)

  def test_empty_strings_decode_to_zeros(self):
    plan = decode_hints.plan_decode(_HINT_CROP, _spec())
    decoded = image_decoding.decode_images(
        tf.constant(['', _jpeg(_camera_like(8))]), _spec(), "'image'", True,
        plan)
    assert decoded.shape == (2, 100, 100, 3)
    assert not np.any(decoded[0])


class TestScaledDecode:

  @pytest.mark.parametrize('size', [(64, 64), (100, 120), (200, 256)])
  def test_matches_full_decode_and_resize_within_tolerance(self, size):
    stored = (512, 640)
    jpegs = [_jpeg(_camera_like(seed, stored)) for seed in range(2)]
    spec = _spec(stored)
    plan = decode_hints.plan_decode(
        decode_hints.DecodeHint(stored, False, size), spec)
    assert plan.kind == 'scale'
    scaled = image_decoding.decode_images(tf.constant(jpegs), spec,
                                          "'image'", False, plan)
    assert scaled.shape[1:3] == plan.decoded_size

    def resize(images):
      return 255 * tf.image.resize(
          tf.image.convert_image_dtype(images, tf.float32), size,
          antialias=True).numpy()

    full = np.stack([_full(j) for j in jpegs]).astype(np.uint8)
    per_channel = np.abs(resize(scaled) - resize(full)).mean(axis=(0, 1, 2))
    assert np.all(per_channel < decode_hints.SCALE_MEAN_ABS_TOLERANCE)


class TestParser:

  def _records(self, count=4):
    return [
        tf.train.Example(features=tf.train.Features(feature={
            'image': tf.train.Feature(bytes_list=tf.train.BytesList(
                value=[_jpeg(_camera_like(seed))]))
        })).SerializeToString() for seed in range(count)
    ]

  def test_hinted_images_parse_at_the_decoded_size(self):
    spec = specs.TensorSpecStruct(image=_spec())
    hints = {'image': _HINT_CROP}
    parse_fn = parsing.create_parse_tf_example_fn(spec,
                                                  image_decode_hints=hints)
    features = tf.function(parse_fn)(tf.constant(self._records()))
    assert features['image'].shape == (4, 100, 100, 3)
    assert parsing.decoded_image_sizes(spec, hints) == {'image': (100, 100)}

  def test_a_hint_for_no_image_is_an_error(self):
    spec = specs.TensorSpecStruct(
        image=_spec(), pose=specs.ExtendedTensorSpec((2,), tf.float32,
                                                     name='pose'))
    for path in ('pose', 'missing'):
      with pytest.raises(ValueError, match=f"names the feature '{path}'"):
        parsing.create_parse_tf_example_fn(
            spec, image_decode_hints={path: _HINT_CROP})


class _Model:
  """The spec methods of a model with one float image and its preprocessor."""

  def __init__(self, image_size, crop_size=None):
    self._image_size = image_size
    self.preprocessor = ImagePreprocessor(
        self.get_feature_specification, self.get_label_specification,
        source_image_size=_STORED, crop_size=crop_size, distortion_kwargs={})

  def get_feature_specification(self, mode):
    del mode
    return specs.TensorSpecStruct(image=specs.ExtendedTensorSpec(
        self._image_size + (3,), tf.float32, name='image'))

  def get_label_specification(self, mode):
    del mode
    return specs.TensorSpecStruct(reward=specs.ExtendedTensorSpec(
        (1,), tf.float32, name='reward'))


def _record_file(tmp_path, count=8):
  records = [
      tf.train.Example(features=tf.train.Features(feature={
          'image': tf.train.Feature(bytes_list=tf.train.BytesList(
              value=[_jpeg(_camera_like(seed))])),
          'reward': tf.train.Feature(float_list=tf.train.FloatList(
              value=[float(seed)])),
      })).SerializeToString() for seed in range(count)
  ]
  return record_files.write_records(tmp_path / 'data.tfrecord', records)


def _batch(path, model, mode, use_decode_hints):
  generator = record_input_generator.DefaultRecordInputGenerator(
      file_patterns=path, batch_size=8, num_epochs=1,
      use_decode_hints=use_decode_hints)
  generator.set_specification_from_model(model, mode)
  features, labels = next(iter(generator.create_dataset(mode)))
  return features['image'].numpy(), labels['reward'].numpy()


class TestInputGenerator:

  @pytest.mark.parametrize('image_size, crop_size, tolerance', [
      ((100, 100), None, decode_hints.CROP_MEAN_ABS_TOLERANCE),
      ((50, 50), (100, 100), decode_hints.CROP_MEAN_ABS_TOLERANCE),
      # 128x160 frames hold 4x the detail per pixel of camera frames.
      ((32, 40), None, 2 * decode_hints.SCALE_MEAN_ABS_TOLERANCE),
  ])
  def test_eval_batches_match_full_decoding_within_tolerance(
      self, tmp_path, image_size, crop_size, tolerance):
    path = _record_file(tmp_path)
    model = _Model(image_size, crop_size)
    hinted, labels = _batch(path, model, ModeKeys.EVAL, True)
    full, full_labels = _batch(path, model, ModeKeys.EVAL, False)
    assert hinted.shape == full.shape == (8,) + image_size + (3,)
    np.testing.assert_array_equal(labels, full_labels)
    per_channel = 255 * np.abs(hinted - full).mean(axis=(0, 1, 2))
    assert np.all(per_channel < tolerance)

  def test_train_batches_are_random_windows(self, tmp_path):
    path = _record_file(tmp_path)
    model = _Model((100, 100))
    tf.random.set_seed(1)
    images, _ = _batch(path, model, ModeKeys.TRAIN, True)
    assert images.shape == (8, 100, 100, 3)
    assert 0.0 <= images.min() and images.max() <= 1.0

  def test_the_hints_follow_the_preprocessor(self, tmp_path):
    model = _Model((100, 100))
    generator = record_input_generator.DefaultRecordInputGenerator(
        file_patterns=_record_file(tmp_path), batch_size=2)
    generator.set_specification_from_model(model, ModeKeys.TRAIN)
    assert generator._active_decode_hints() == {
        'image': decode_hints.DecodeHint((100, 100), True, (100, 100))}
    generator.set_preprocess_fn(lambda features, labels, mode:
                                (features, labels))
    assert generator._active_decode_hints() == {}
