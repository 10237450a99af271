"""How specs map onto tf.train.Example features."""

import numpy as np
import pytest
import tensorflow as tf

from t2r import specs
from t2r.specs import ExtendedTensorSpec


@pytest.mark.parametrize('dtype, stored', [
    (tf.float32, tf.float32), (tf.float16, tf.float32),
    (tf.bfloat16, tf.float32), (tf.float64, tf.float32),
    (tf.int64, tf.int64), (tf.int32, tf.int64), (tf.uint8, tf.int64),
    (tf.bool, tf.int64), (tf.string, tf.string),
])
def test_record_dtype(dtype, stored):
  assert specs.record_dtype(ExtendedTensorSpec((1,), dtype)) == stored


def test_record_dtype_rejects_complex():
  with pytest.raises(TypeError, match='complex64'):
    specs.record_dtype(ExtendedTensorSpec((1,), tf.complex64, name='c'))


def test_feature_dict_by_kind():
  spec = {
      'state': ExtendedTensorSpec((2, 3), tf.float32, name='s'),
      'image': ExtendedTensorSpec((4, 4, 3), tf.uint8, name='i',
                                  data_format='jpeg'),
      'stack': ExtendedTensorSpec((2, 4, 4, 3), tf.uint8, name='k',
                                  data_format='png'),
      'list': ExtendedTensorSpec((5,), tf.int64, name='l',
                                 varlen_default_value=-1),
      'obs': ExtendedTensorSpec((3,), tf.float32, name='o', is_sequence=True),
  }
  features, by_name = specs.tensorspec_to_feature_dict(spec)
  assert features['s'] == tf.io.FixedLenFeature([2, 3], tf.float32)
  assert features['i'] == tf.io.FixedLenFeature([], tf.string)
  assert features['k'] == tf.io.FixedLenFeature([2], tf.string)
  assert features['l'] == tf.io.VarLenFeature(tf.int64)
  assert features['o'] == tf.io.FixedLenSequenceFeature([3], tf.float32,
                                                        allow_missing=True)
  assert by_name['s'] is spec['state']


def test_feature_dict_parses_a_real_example():
  spec = {'state': ExtendedTensorSpec((2,), tf.float32, name='s')}
  example = tf.train.Example(features=tf.train.Features(feature={
      's': tf.train.Feature(float_list=tf.train.FloatList(value=[1.0, 2.0]))
  }))
  features, _ = specs.tensorspec_to_feature_dict(spec)
  parsed = tf.io.parse_example([example.SerializeToString()], features)
  np.testing.assert_array_equal(parsed['s'], [[1.0, 2.0]])


@pytest.mark.parametrize('values, expected', [
    ([[1, 2, 3, 4, 5, 6]], [[1, 2, 3, 4]]),
    ([[1, 2]], [[1, 2, -1, -1]]),
])
def test_pad_or_clip_to_spec_shape(values, expected):
  spec = ExtendedTensorSpec((4,), tf.int64, name='l', varlen_default_value=-1)
  result = specs.pad_or_clip_tensor_to_spec_shape(
      tf.constant(values, tf.int64), spec)
  np.testing.assert_array_equal(result, expected)
  assert result.shape.as_list() == [1, 4]


def test_pad_strings_with_empty_bytes():
  spec = ExtendedTensorSpec((2, 4, 4, 3), tf.uint8, name='i',
                            data_format='jpeg', varlen_default_value=0)
  result = specs.pad_or_clip_tensor_to_spec_shape(tf.constant([[b'x']]), spec)
  assert result.numpy().tolist() == [[b'x', b'']]
