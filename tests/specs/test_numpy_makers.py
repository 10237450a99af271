"""Constant and seeded random numpy data laid out like a spec."""

import numpy as np
import pytest
import tensorflow as tf

from t2r import specs
from t2r.errors import SpecTypeError
from t2r.specs import ExtendedTensorSpec
from t2r.specs import TensorSpecStruct


@pytest.fixture
def spec():
  return TensorSpecStruct({
      'train/state': ExtendedTensorSpec((8, 128), tf.float32, name='train/s'),
      'obs': ExtendedTensorSpec((3,), tf.int64, name='o', is_sequence=True),
  })


@pytest.mark.parametrize('batch_size, sequence_length', [(None, 3), (2, 5)])
def test_make_constant_numpy(spec, batch_size, sequence_length):
  values = specs.make_constant_numpy(spec, 7, batch_size=batch_size,
                                     sequence_length=sequence_length)
  lead = [] if batch_size is None else [batch_size]
  assert values.train.state.shape == tuple(lead + [8, 128])
  assert values.obs.shape == tuple(lead + [sequence_length, 3])
  assert values.obs.dtype == np.int64
  assert np.all(values.train.state == 7)


def test_make_constant_numpy_fills_strings_with_bytes():
  spec = {'text': ExtendedTensorSpec((2,), tf.string, name='t')}
  values = specs.make_constant_numpy(spec, 5)
  assert values['text'].tolist() == [b'5', b'5']


def test_make_random_numpy_is_seeded_and_typed():
  spec = TensorSpecStruct({
      'image': ExtendedTensorSpec((4, 4, 3), tf.uint8, name='i',
                                  data_format='jpeg'),
      'flag': ExtendedTensorSpec((2,), tf.bool, name='f'),
      'text': ExtendedTensorSpec((), tf.string, name='t'),
      'x': ExtendedTensorSpec((3,), tf.float16, name='x'),
  })
  first = specs.make_random_numpy(spec, batch_size=2, seed=3)
  second = specs.make_random_numpy(spec, batch_size=2, seed=3)
  other = specs.make_random_numpy(spec, batch_size=2, seed=4)
  for path in spec.keys():
    np.testing.assert_array_equal(first[path], second[path])
  assert not np.array_equal(first.image, other.image)
  assert first.image.dtype == np.uint8 and first.image.shape == (2, 4, 4, 3)
  assert first.flag.dtype == bool
  assert isinstance(first.text[0], bytes)
  assert first.x.dtype == np.float16
  specs.validate_and_flatten(spec, first, ignore_batch=True)


@pytest.mark.parametrize('batch_size, shape', [
    (None, (8, 128)), (3, (3, 8, 128)), (np.int32(3), (3, 8, 128))])
@pytest.mark.parametrize('make', [
    lambda spec, batch_size: specs.make_constant_numpy(spec, 0, batch_size),
    specs.make_random_numpy,
])
def test_batch_size_none_means_no_batch_dimension(spec, make, batch_size,
                                                  shape):
  assert make(spec, batch_size=batch_size).train.state.shape == shape


@pytest.mark.parametrize('batch_size, error', [
    (0, ValueError), (-1, ValueError), (-2, ValueError), (True, SpecTypeError),
    (2.0, SpecTypeError)])
@pytest.mark.parametrize('make, call', [
    (lambda spec, batch_size: specs.make_constant_numpy(spec, 0, batch_size),
     'make_constant_numpy'),
    (specs.make_random_numpy, 'make_random_numpy'),
])
def test_batch_sizes_without_a_t2r_meaning_are_rejected(spec, make, call,
                                                        batch_size, error):
  with pytest.raises(error, match=f'{call} got batch_size='):
    make(spec, batch_size=batch_size)


def test_numpy_makers_need_known_shapes():
  spec = {'x': ExtendedTensorSpec((None,), tf.float32, name='x')}
  with pytest.raises(ValueError, match="'x'"):
    specs.make_random_numpy(spec)
