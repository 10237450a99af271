"""ExtendedTensorSpec: a real tf.TensorSpec that also describes stored data."""

import pickle

import numpy as np
import pytest
import tensorflow as tf

from t2r.errors import SpecTypeError
from t2r.specs import ExtendedTensorSpec
from t2r.specs import is_encoded_image_spec


def test_is_a_tensor_spec_with_defaults():
  spec = ExtendedTensorSpec((8,), tf.float32, name='s')
  assert isinstance(spec, tf.TensorSpec)
  assert (spec.is_optional, spec.is_sequence, spec.is_extracted) == (
      False, False, False)
  assert spec.data_format is None
  assert spec.dataset_key == ''
  assert spec.varlen_default_value is None


def test_int_shape_means_one_dimension():
  assert ExtendedTensorSpec(8, tf.float32).shape.as_list() == [8]


def test_equality_ignores_name_and_metadata():
  a = ExtendedTensorSpec((2, 3), tf.float32, name='a', is_optional=True)
  b = ExtendedTensorSpec((2, 3), tf.float32, name='b', dataset_key='x')
  assert a == b
  assert hash(a) == hash(b)
  assert a == tf.TensorSpec((2, 3), tf.float32)


@pytest.mark.parametrize('other', [
    ExtendedTensorSpec((2, 4), tf.float32),
    ExtendedTensorSpec((2, 3), tf.int64),
    ExtendedTensorSpec((None, 3), tf.float32),
])
def test_inequality_on_shape_or_dtype(other):
  assert ExtendedTensorSpec((2, 3), tf.float32) != other


def test_repr_shows_every_field():
  spec = ExtendedTensorSpec((4, 4, 3), tf.uint8, name='image', is_optional=True,
                            is_sequence=True, is_extracted=True,
                            data_format='PNG', dataset_key='d')
  text = repr(spec)
  for field in ("shape=(4, 4, 3)", 'dtype=tf.uint8', "name='image'",
                'is_optional=True', 'is_sequence=True', 'is_extracted=True',
                "data_format='png'", "dataset_key='d'",
                'varlen_default_value=None'):
    assert field in text


@pytest.mark.parametrize('data_format', ['jpeg', 'JPEG', 'png', 'Png'])
def test_image_formats_are_case_insensitive(data_format):
  spec = ExtendedTensorSpec((4, 4, 3), tf.uint8, data_format=data_format)
  assert spec.data_format == data_format.lower()
  assert is_encoded_image_spec(spec)


def test_uint16_png_is_allowed():
  assert ExtendedTensorSpec((4, 4, 1), tf.uint16, data_format='png')


@pytest.mark.parametrize('kwargs, message', [
    (dict(shape=(4, 4, 3), dtype=tf.float32, data_format='jpeg'), 'uint8'),
    (dict(shape=(4, 4, 1), dtype=tf.uint16, data_format='jpeg'), 'JPEG'),
    (dict(shape=(4, 4), dtype=tf.uint8, data_format='png'), 'rank >= 3'),
    (dict(shape=(4, 4, 3), dtype=tf.uint8, data_format='bmp'), 'unknown'),
    (dict(shape=(2, 3), dtype=tf.float32, varlen_default_value=0.0), 'rank 1'),
    (dict(shape=(3, 4, 4, 3), dtype=tf.uint8, data_format='jpeg',
          varlen_default_value=0), None),
    (dict(shape=(4, 4, 3), dtype=tf.uint8, data_format='jpeg',
          varlen_default_value=0), 'rank 4'),
    (dict(shape=(None,), dtype=tf.float32, varlen_default_value=0.0),
     'every dimension'),
])
def test_unparseable_specs_are_rejected_on_creation(kwargs, message):
  if message is None:
    assert ExtendedTensorSpec(name='x', **kwargs).varlen_default_value == 0.0
    return
  with pytest.raises(ValueError, match=message) as error:
    ExtendedTensorSpec(name='x', **kwargs)
  assert "'x'" in str(error.value)


def test_bad_dtype_is_a_type_error():
  with pytest.raises(TypeError, match='dtype'):
    ExtendedTensorSpec((1,), 'not-a-dtype', name='x')


def test_from_spec_copies_every_field_and_overrides():
  spec = ExtendedTensorSpec((3,), tf.float32, name='a', is_optional=True,
                            dataset_key='d', varlen_default_value=1.0)
  copy = ExtendedTensorSpec.from_spec(spec, name='b')
  assert copy.name == 'b'
  assert copy.is_optional and copy.dataset_key == 'd'
  assert copy.varlen_default_value == 1.0
  cleared = ExtendedTensorSpec.from_spec(spec, varlen_default_value=None)
  assert cleared.varlen_default_value is None


@pytest.mark.parametrize('batch_size, expected', [
    (None, [8]), (4, [4, 8]), (np.int64(4), [4, 8]), (-1, [None, 8])])
def test_from_spec_batch_size(batch_size, expected):
  spec = ExtendedTensorSpec((8,), tf.float32, name='s')
  batched = ExtendedTensorSpec.from_spec(spec, batch_size=batch_size)
  assert batched.shape.as_list() == expected
  assert batched.name == 's'


@pytest.mark.parametrize('batch_size, error', [
    (0, ValueError), (-2, ValueError), (True, SpecTypeError),
    (4.0, SpecTypeError)])
def test_from_spec_rejects_batch_sizes_without_a_t2r_meaning(batch_size,
                                                             error):
  spec = ExtendedTensorSpec((8,), tf.float32, name='s')
  with pytest.raises(error,
                     match='ExtendedTensorSpec.from_spec got batch_size='):
    ExtendedTensorSpec.from_spec(spec, batch_size=batch_size)


def test_from_spec_batch_size_drops_the_varlen_padding():
  spec = ExtendedTensorSpec((3,), tf.int64, name='i', varlen_default_value=0)
  batched = ExtendedTensorSpec.from_spec(spec, batch_size=-1)
  assert batched.varlen_default_value is None


@pytest.mark.parametrize('call, message', [
    (lambda: ExtendedTensorSpec.from_spec(np.zeros(2)),
     'from_spec expects a tf.TensorSpec.*use ExtendedTensorSpec.from_tensor'),
    (lambda: ExtendedTensorSpec.from_tensor([1.0, 2.0]),
     r'from_tensor expects a tensor or numpy array, got list: \[1.0, 2.0\]'),
], ids=['from_spec', 'from_tensor'])
def test_wrong_input_types_are_spec_type_errors(call, message):
  with pytest.raises(SpecTypeError, match=message):
    call()


def test_from_spec_accepts_a_plain_tensor_spec():
  spec = ExtendedTensorSpec.from_spec(tf.TensorSpec((2,), tf.int32, 'x'))
  assert isinstance(spec, ExtendedTensorSpec)
  assert spec.name == 'x' and not spec.is_optional


@pytest.mark.parametrize('value', [
    tf.zeros((2, 3), tf.int32), np.zeros((2, 3), np.int32)])
def test_from_tensor(value):
  spec = ExtendedTensorSpec.from_tensor(value, name='t')
  assert spec == ExtendedTensorSpec((2, 3), tf.int32)
  assert spec.name == 't'


@pytest.mark.parametrize('op_name', ['partial', 'train/state'])
def test_from_tensor_names_a_placeholder_by_its_op(op_name):
  with tf.Graph().as_default():
    placeholder = tf.compat.v1.placeholder(tf.float32, (None, 1), op_name)
    spec = ExtendedTensorSpec.from_tensor(placeholder)
  assert placeholder.name == f'{op_name}:0'
  assert spec.name == op_name
  assert spec.shape.as_list() == [None, 1]


def test_from_tensor_prefers_the_given_name_over_the_op_name():
  with tf.Graph().as_default():
    placeholder = tf.compat.v1.placeholder(tf.int64, name='unknown')
    assert ExtendedTensorSpec.from_tensor(placeholder, name='x').name == 'x'


@pytest.mark.parametrize('value', [
    tf.constant(0), tf.Variable(0), np.zeros((), np.int32)],
                         ids=['eager_tensor', 'variable', 'array'])
def test_from_tensor_leaves_values_without_an_op_unnamed(value):
  assert ExtendedTensorSpec.from_tensor(value).name is None


def test_from_tensor_marks_the_spec_as_extracted():
  assert ExtendedTensorSpec.from_tensor(np.zeros(2)).is_extracted
  assert not ExtendedTensorSpec.from_tensor(np.zeros(2),
                                            is_extracted=False).is_extracted


def test_usable_as_tf_function_input_signature():
  spec = ExtendedTensorSpec((None, 2), tf.float32, name='x')

  @tf.function(input_signature=[spec])
  def double(x):
    return 2 * x

  np.testing.assert_allclose(double(tf.ones((3, 2))).numpy(), 2 * np.ones(
      (3, 2)))


def test_usable_as_tf_data_output_signature():
  spec = ExtendedTensorSpec((2,), tf.float32, name='x')
  dataset = tf.data.Dataset.from_generator(
      lambda: iter([np.ones(2, np.float32)]), output_signature=spec)
  assert next(iter(dataset)).shape == (2,)


def test_pickle_keeps_every_field():
  spec = ExtendedTensorSpec((3, 4, 4, 3), tf.uint8, name='im', is_optional=True,
                            is_sequence=True, data_format='jpeg',
                            dataset_key='d', varlen_default_value=0)
  restored = pickle.loads(pickle.dumps(spec))
  assert repr(restored) == repr(spec)
