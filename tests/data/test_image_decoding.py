"""Decoding batches of encoded JPEG / PNG strings to the spec's pixels."""

import numpy as np
import pytest
import tensorflow as tf

from t2r import specs
from t2r.data import image_decoding

Spec = specs.ExtendedTensorSpec
_LABEL = "'image' (name 'image')"


def _spec(shape=(4, 6, 3), dtype=tf.uint8, data_format='png'):
  return Spec(shape, dtype, name='image', data_format=data_format)


def _png(value, shape=(4, 6, 3), dtype=np.uint8):
  return tf.io.encode_png(np.full(shape, value, dtype)).numpy()


def _jpeg(value, shape=(4, 6, 3)):
  return tf.io.encode_jpeg(np.full(shape, value, np.uint8)).numpy()


def _decode(encoded, spec, may_be_empty=False):
  return image_decoding.decode_images(tf.constant(encoded), spec, _LABEL,
                                      may_be_empty).numpy()


def test_a_batch_of_pngs_decodes_to_the_exact_pixels():
  images = _decode([_png(1), _png(2)], _spec())
  assert images.shape == (2, 4, 6, 3) and images.dtype == np.uint8
  np.testing.assert_array_equal(images[:, 0, 0, 0], [1, 2])


def test_jpegs_decode_to_about_the_pixels():
  images = _decode([_jpeg(100)], _spec(data_format='jpeg'))
  np.testing.assert_allclose(images, 100, atol=2)


def test_16_bit_pngs_decode_to_uint16():
  images = _decode([_png(40000, dtype=np.uint16)], _spec(dtype=tf.uint16))
  assert images.dtype == np.uint16
  np.testing.assert_array_equal(images, 40000)


def test_any_leading_dims_are_kept():
  encoded = [[_png(i), _png(i + 1), _png(i + 2)] for i in range(2)]
  images = _decode(encoded, _spec((3, 4, 6, 3)))
  assert images.shape == (2, 3, 4, 6, 3)
  np.testing.assert_array_equal(images[1, :, 0, 0, 0], [1, 2, 3])


def test_an_empty_batch_decodes_to_no_images():
  images = image_decoding.decode_images(
      tf.constant([], tf.string), _spec(), _LABEL, may_be_empty=False)
  assert images.shape == (0, 4, 6, 3)


def test_empty_strings_decode_to_zeros_where_they_may_be_empty():
  images = _decode([_png(5), b''], _spec(), may_be_empty=True)
  np.testing.assert_array_equal(images[0], 5)
  np.testing.assert_array_equal(images[1], 0)


def test_a_traced_call_has_the_static_image_shape():
  spec = _spec()

  @tf.function
  def decode(encoded):
    return image_decoding.decode_images(encoded, spec, _LABEL, False)

  traced = decode.get_concrete_function(tf.TensorSpec([None], tf.string))
  assert traced.structured_outputs.shape.as_list() == [None, 4, 6, 3]


@pytest.mark.parametrize('traced', [False, True])
def test_image_of_the_wrong_size_fails_naming_the_feature_and_shapes(traced):
  spec = _spec()

  def decode(encoded):
    return image_decoding.decode_images(encoded, spec, _LABEL, False)

  if traced:
    decode = tf.function(decode)
  with pytest.raises(
      tf.errors.InvalidArgumentError,
      match=r'(?s)Feature `image` \(name `image`\) expects images of shape '
      r'\(4, 6, 3\) uint8 but a record decoded to shape\W+5\W+6\W+3\W.*'
      r'Adjust the spec or add a crop/resize preprocessor'):
    decode(tf.constant([_png(9), _png(9, (5, 6, 3))]))


def test_image_channels_are_converted_to_the_spec():
  images = _decode([_png(77, (4, 6, 1))], _spec())
  np.testing.assert_array_equal(images, 77)


def test_jpeg_spec_reads_png_records():
  images = _decode([_png(33)], _spec(data_format='jpeg'))
  np.testing.assert_array_equal(images, 33)
