"""Image transformations: list in, list out, one random draw per example."""

import gin
import numpy as np
import pytest
import tensorflow as tf

from preprocessors import ApplyDepthImageDistortions
from preprocessors import ApplyPhotometricImageDistortions
from preprocessors import ApplyPhotometricImageDistortionsParallel
from preprocessors import CenterCropImages
from preprocessors import CustomCropImages
from preprocessors import RandomCropImages
from preprocessors import RandomFlipImages
from preprocessors import image_transformations
from t2r import errors

_INPUT = (16, 20, 3)


def _indexed_images(batch_size=4, shape=_INPUT):
  """Images whose every value is unique, so a crop reveals its offset."""
  size = batch_size * int(np.prod(shape))
  return np.arange(size, dtype=np.float32).reshape((batch_size,) + shape)


def _random_images(batch_size=4, shape=_INPUT, seed=0):
  return np.random.default_rng(seed).random(
      (batch_size,) + shape).astype(np.float32)


def _offset_of(crop, image):
  """(y, x) where `crop` (h, w, c) sits inside `image` (H, W, C)."""
  y, x, _ = np.argwhere(image == crop[0, 0, 0])[0]
  np.testing.assert_array_equal(
      crop, image[y:y + crop.shape[0], x:x + crop.shape[1]])
  return y, x


# Crops.


@pytest.mark.parametrize('target, top_left', [((12, 12), (2, 4)),
                                              ((11, 15), (2, 2)),
                                              ((16, 20), (0, 0))])
def test_center_crop_picks_the_center(target, top_left):
  images = _indexed_images()
  (crop,) = CenterCropImages([images], _INPUT, target)
  top, left = top_left
  np.testing.assert_array_equal(
      crop, images[:, top:top + target[0], left:left + target[1]])


def test_center_crop_of_sequences_crops_every_timestep():
  images = _indexed_images(2 * 3).reshape((2, 3) + _INPUT)
  (crop,) = CenterCropImages([images], _INPUT, (12, 12))
  np.testing.assert_array_equal(crop, images[:, :, 2:14, 4:16])


def test_custom_crop_picks_the_given_location():
  images = _indexed_images(batch_size=2)
  centers = tf.constant([[5, 6], [8.4, 11.6]])  # floats round to pixels
  (crop,) = CustomCropImages([images], _INPUT, (4, 6), [centers])
  np.testing.assert_array_equal(crop[0], images[0, 3:7, 3:9])
  np.testing.assert_array_equal(crop[1], images[1, 6:10, 9:15])


def test_custom_crop_moves_boxes_inside_the_image():
  images = _indexed_images(batch_size=2)
  centers = tf.constant([[0, 0], [100, 100]])
  (crop,) = CustomCropImages([images], _INPUT, (4, 6), [centers])
  np.testing.assert_array_equal(crop[0], images[0, :4, :6])
  np.testing.assert_array_equal(crop[1], images[1, -4:, -6:])


def test_custom_crop_needs_one_location_per_image():
  images = _indexed_images()
  with pytest.raises(ValueError, match='2 images but 1 target_locations'):
    CustomCropImages([images, images], _INPUT, (4, 4),
                     [tf.zeros((4, 2), tf.int32)])


def test_random_crop_stays_in_bounds_and_shares_the_offset_across_the_list():
  images = _indexed_images(batch_size=8)
  crop, shifted_crop = RandomCropImages([images, images + 1e6], _INPUT,
                                        (12, 12), seed=1)
  assert crop.shape == (8, 12, 12, 3)
  np.testing.assert_array_equal(shifted_crop, crop + 1e6)
  offsets = {_offset_of(c.numpy(), image) for c, image in zip(crop, images)}
  assert len(offsets) > 1  # every example draws its own offset


def test_random_crop_differs_across_seeds_and_repeats_with_one():
  images = _indexed_images(batch_size=8)

  def crop(seed):
    return RandomCropImages([images], _INPUT, (10, 10), seed=seed)[0].numpy()

  np.testing.assert_array_equal(crop(3), crop(3))
  assert not np.array_equal(crop(3), crop(4))


def test_random_crop_of_sequences_is_fixed_over_time():
  images = _indexed_images(2 * 3).reshape((2, 3) + _INPUT)
  (crop,) = RandomCropImages([images], _INPUT, (10, 10), seed=5)
  for example in range(2):
    offsets = {_offset_of(crop[example, t].numpy(), images[example, t])
               for t in range(3)}
    assert len(offsets) == 1


def test_random_crop_keeps_uint8_and_works_with_unknown_batch_size():
  crop_fn = tf.function(
      lambda images: RandomCropImages([images], _INPUT, (12, 12))[0],
      input_signature=[tf.TensorSpec((None,) + _INPUT, tf.uint8)])
  crop = crop_fn(np.zeros((3,) + _INPUT, np.uint8))
  assert crop.dtype == tf.uint8
  assert crop.shape == (3, 12, 12, 3)


@pytest.mark.parametrize('crop_fn', [RandomCropImages, CenterCropImages])
@pytest.mark.parametrize('input_shape, target, match', [
    (_INPUT, (17, 12), 'larger than the input'),
    (_INPUT[:2], (12, 12), r'input_shape must be \(height, width, channels\)'),
    (_INPUT, (12, 12, 3), r'target_shape must be \(height, width\)'),
    ((16, 21, 3), (12, 12), 'input_shape says'),
])
def test_crop_shape_errors(crop_fn, input_shape, target, match):
  with pytest.raises(ValueError, match=match):
    crop_fn([_indexed_images()], input_shape, target)


def test_a_single_tensor_instead_of_a_list_is_rejected():
  with pytest.raises(TypeError, match=r'Wrap a single batch'):
    CenterCropImages(tf.zeros((1,) + _INPUT), _INPUT, (4, 4))


# Flips.


@pytest.mark.parametrize('left_right, up_down, flip_axes', [
    (True, False, (2,)),
    (False, True, (1,)),
])
def test_flips_are_consistent_across_the_list(left_right, up_down, flip_axes):
  images = _random_images(batch_size=16)
  first, second = RandomFlipImages([images, 1 - images], left_right=left_right,
                                   up_down=up_down, seed=2)
  np.testing.assert_allclose(second, 1 - first.numpy())
  flipped = [not np.array_equal(first[i], images[i]) for i in range(16)]
  assert 0 < sum(flipped) < 16
  for i, was_flipped in enumerate(flipped):
    expected = np.flip(images[i:i + 1], flip_axes) if was_flipped else (
        images[i:i + 1])
    np.testing.assert_array_equal(first[i:i + 1], expected)


# Photometric distortions.

_ALL_PHOTOMETRIC = dict(random_brightness=True, random_saturation=True,
                        random_hue=True, random_contrast=True)


def test_photometric_distortions_are_off_by_default():
  images = _random_images()
  (out,) = ApplyPhotometricImageDistortions([images], seed=0)
  np.testing.assert_array_equal(out, images)


def test_one_draw_per_example_is_shared_by_the_list():
  images = _random_images(batch_size=6)
  first, second = ApplyPhotometricImageDistortions(
      [images, images.copy()], seed=3, **_ALL_PHOTOMETRIC)
  np.testing.assert_array_equal(first, second)
  assert not np.allclose(first, images)
  # Examples differ: the same image in every example ends differently.
  same = np.repeat(images[:1], 6, axis=0)
  (out,) = ApplyPhotometricImageDistortions([same], seed=3,
                                            **_ALL_PHOTOMETRIC)
  assert not np.allclose(out[0], out[1])


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_photometric_distortions_stay_in_the_unit_range(seed):
  images = _random_images(batch_size=8)
  outs = ApplyPhotometricImageDistortions(
      [images, 1.0 - images], seed=seed, max_delta_brightness=0.9,
      upper_contrast=4.0, random_noise_level=0.5,
      random_noise_apply_probability=1.0, **_ALL_PHOTOMETRIC)
  for out in outs:
    assert 0.0 <= float(tf.reduce_min(out)) <= float(tf.reduce_max(out)) <= 1.0


def test_photometric_distortions_repeat_with_a_seed():
  images = _random_images()

  def run(seed):
    return ApplyPhotometricImageDistortions(
        [images], seed=seed, random_noise_level=0.1, **_ALL_PHOTOMETRIC)[0]

  np.testing.assert_array_equal(run(7), run(7))
  assert not np.array_equal(run(7), run(8))


@pytest.mark.parametrize('probability, changed', [(0.0, False), (1.0, True)])
def test_noise_apply_probability(probability, changed):
  images = _random_images() * 0.5 + 0.25
  (out,) = ApplyPhotometricImageDistortions(
      [images], random_noise_level=0.05,
      random_noise_apply_probability=probability, seed=0)
  assert np.array_equal(out, images) != changed


def test_custom_distortion_fn_gets_the_list_and_is_clipped():
  images = _random_images()
  first, second = ApplyPhotometricImageDistortions(
      [images, images], seed=0,
      custom_distortion_fn=lambda imgs: [imgs[0] * 3.0, imgs[1] - 3.0])
  np.testing.assert_array_equal(first, np.clip(images * 3.0, 0, 1))
  np.testing.assert_array_equal(second, np.zeros_like(images))


def _saturation(images, factors):
  return image_transformations._adjust_hsv(images, factors, None)


def _hue(images, deltas):
  return image_transformations._adjust_hsv(images, None, deltas)


@pytest.mark.parametrize('ours, theirs, factors', [
    (image_transformations._adjust_contrast, tf.image.adjust_contrast,
     [0.5, 1.0, 1.7]),
    (_saturation, tf.image.adjust_saturation, [0.5, 1.0, 1.4]),
    (_hue, tf.image.adjust_hue, [-0.2, 0.0, 0.15]),
])
def test_per_example_adjustments_match_tf_image(ours, theirs, factors):
  images = _random_images(batch_size=3, shape=(5, 6, 3))
  out = ours(tf.constant(images), tf.constant(factors))
  for i, factor in enumerate(factors):
    np.testing.assert_allclose(out[i], theirs(images[i], factor), atol=1e-5)


def test_saturation_and_hue_together_match_tf_image_in_sequence():
  images = _random_images(batch_size=1, shape=(5, 6, 3))
  out = image_transformations._adjust_hsv(
      tf.constant(images), tf.constant([1.3]), tf.constant([0.1]))
  expected = tf.image.adjust_hue(tf.image.adjust_saturation(images, 1.3), 0.1)
  np.testing.assert_allclose(out, expected, atol=1e-5)


@pytest.mark.parametrize('option', ['random_saturation', 'random_hue'])
def test_color_distortions_need_rgb(option):
  with pytest.raises(ValueError, match=f'{option} needs 3-channel'):
    ApplyPhotometricImageDistortions([_random_images(shape=(4, 4, 1))],
                                     **{option: True})


def test_photometric_distortions_need_float_images():
  with pytest.raises(TypeError, match='convert_image_dtype'):
    ApplyPhotometricImageDistortions([np.zeros((1, 4, 4, 3), np.uint8)])


# Depth distortions.


def test_depth_distortions_keep_values_in_range():
  depth = np.random.default_rng(0).uniform(0.0, 3.0,
                                           (8, 6, 5, 1)).astype(np.float32)
  first, second = ApplyDepthImageDistortions(
      [depth, depth], random_noise_level=0.5,
      random_noise_apply_probability=1.0, seed=0)
  for out in (first, second):
    assert float(tf.reduce_min(out)) >= 0.25
    assert float(tf.reduce_max(out)) <= 2.5
  assert not np.allclose(first, np.clip(depth, 0.25, 2.5))


def test_depth_scaling_is_shared_per_example_without_pixel_noise():
  depth = np.full((4, 3, 3, 1), 1.0, np.float32)
  # Scaling comes with the noise (as in T2R); a tiny noise level isolates it.
  (out,) = ApplyDepthImageDistortions(
      [depth], random_noise_level=1e-9, random_noise_apply_probability=1.0,
      gamma_shape=50.0, gamma_scale_inverse=50.0, seed=1)
  scales = out.numpy().reshape(4, -1)
  np.testing.assert_allclose(scales, scales[:, :1].repeat(9, axis=1),
                             atol=1e-6)
  assert len(np.unique(np.round(scales[:, 0], 5))) == 4


def test_depth_without_noise_is_only_clipped():
  depth = np.array([0.0, 1.0, 9.0], np.float32).reshape((1, 1, 3, 1))
  (out,) = ApplyDepthImageDistortions([depth], random_noise_level=0.0)
  np.testing.assert_array_equal(out.numpy().ravel(), [0.25, 1.0, 2.5])


def test_depth_images_need_one_channel():
  with pytest.raises(ValueError, match='expected one channel'):
    ApplyDepthImageDistortions([np.zeros((1, 4, 4, 3), np.float32)])


def test_random_ops_work_in_a_dataset_map_with_unknown_batch_size():
  dataset = tf.data.Dataset.from_tensor_slices(_random_images(5)).batch(2)

  def augment(images):
    (images,) = RandomCropImages([images], _INPUT, (8, 8))
    (images,) = RandomFlipImages([images])
    return ApplyPhotometricImageDistortions([images], **_ALL_PHOTOMETRIC)[0]

  shapes = [batch.shape for batch in dataset.map(augment)]
  assert shapes == [(2, 8, 8, 3), (2, 8, 8, 3), (1, 8, 8, 3)]


def test_photometric_distortions_are_gin_configurable():
  images = _random_images()
  gin.clear_config()
  try:
    gin.bind_parameter('ApplyPhotometricImageDistortions.random_brightness',
                       True)
    (out,) = ApplyPhotometricImageDistortions([images], seed=0)
  finally:
    gin.clear_config()
  assert not np.allclose(out, images)


# Per-image (parallel) photometric distortions.


def test_parallel_distortions_take_and_return_a_batch_as_in_t2r():
  images = _random_images()
  out = ApplyPhotometricImageDistortionsParallel(
      images, seed=0, random_noise_apply_probability=1.0, **_ALL_PHOTOMETRIC)
  assert isinstance(out, tf.Tensor) and out.shape == images.shape
  assert not np.allclose(out, images)


def test_parallel_distortions_draw_anew_for_each_image_of_the_list():
  images = _random_images(batch_size=3)
  first, second = ApplyPhotometricImageDistortionsParallel(
      [images, images.copy()], seed=3, **_ALL_PHOTOMETRIC)
  for i in range(3):
    assert not np.allclose(first[i], second[i])


def test_parallel_distortions_draw_anew_for_each_example():
  same = np.repeat(_random_images(batch_size=1), 4, axis=0)
  out = ApplyPhotometricImageDistortionsParallel(same, seed=3,
                                                 random_brightness=True)
  assert len({round(float(tf.reduce_mean(image)), 5) for image in out}) == 4


def test_parallel_distortions_share_the_draw_across_timesteps():
  frame = _random_images(batch_size=2)
  sequence = np.stack([frame, frame, frame], axis=1)  # (batch, time, ...)
  out = ApplyPhotometricImageDistortionsParallel(sequence, seed=1,
                                                 **_ALL_PHOTOMETRIC)
  np.testing.assert_array_equal(out[:, 0], out[:, 2])


def test_parallel_distortions_repeat_with_a_seed():
  images = _random_images()

  def run(seed):
    return ApplyPhotometricImageDistortionsParallel(
        images, seed=seed, random_noise_level=0.1, **_ALL_PHOTOMETRIC)

  np.testing.assert_array_equal(run(7), run(7))
  assert not np.array_equal(run(7), run(8))


@pytest.mark.parametrize('color', [0.0, 1.0])
def test_parallel_custom_distortion_fn_gets_one_image(color):
  seen_shapes = []

  def paint(image):
    seen_shapes.append(tuple(image.shape))
    return tf.fill(tf.shape(image), color + 0.5)  # Clipped to [0, 1].

  out = ApplyPhotometricImageDistortionsParallel(
      _random_images(), random_noise_apply_probability=0.0,
      custom_distortion_fn=paint)
  assert set(seen_shapes) == {_INPUT}
  np.testing.assert_array_equal(out, np.full((4,) + _INPUT, min(color + 0.5,
                                                                1.0)))


def test_parallel_distortions_name_themselves_in_errors():
  with pytest.raises(ValueError,
                     match='ApplyPhotometricImageDistortionsParallel: '
                     'random_hue needs 3-channel'):
    ApplyPhotometricImageDistortionsParallel(
        _random_images(shape=(4, 4, 1)), random_hue=True)
  with pytest.raises(TypeError,
                     match='ApplyPhotometricImageDistortionsParallel: image 0 '
                     'is uint8'):
    ApplyPhotometricImageDistortionsParallel(np.zeros((1, 4, 4, 3), np.uint8))


def test_parallel_distortions_are_gin_configurable():
  images = _random_images()
  gin.clear_config()
  try:
    gin.bind_parameter(
        'ApplyPhotometricImageDistortionsParallel.random_brightness', True)
    out = ApplyPhotometricImageDistortionsParallel(images, seed=0)
  finally:
    gin.clear_config()
  assert not np.allclose(out, images)


# Crop shapes Tensor2Robot code catches as ValueError.


def test_t2r_faulty_custom_crop_is_a_value_error():
  with pytest.raises(ValueError, match='larger than the input images'):
    CustomCropImages([_indexed_images()], _INPUT, (53, 8),
                     [tf.fill((4, 2), 10)])


@pytest.mark.parametrize('crop_fn', [RandomCropImages, CenterCropImages])
@pytest.mark.parametrize('input_shape, target', [
    ((None, None, 3), (8, 8)),
    (_INPUT, (8.0, 8)),
    (tf.constant(_INPUT), (8, 8)),
])
def test_crop_shapes_that_are_not_ints_are_spec_type_errors(
    crop_fn, input_shape, target):
  with pytest.raises(errors.SpecTypeError, match='as Python ints'):
    crop_fn([_indexed_images()], input_shape, target)
  with pytest.raises(ValueError):  # What T2R code catches.
    crop_fn([_indexed_images()], input_shape, target)


def test_crop_shapes_may_be_numpy_ints_or_a_tensor_shape():
  images = _indexed_images()
  (crop,) = CenterCropImages([images], tf.TensorShape(_INPUT),
                             np.array([12, 12]))
  assert crop.shape == (4, 12, 12, 3)
