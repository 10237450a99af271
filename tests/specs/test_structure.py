"""Flattening, packing, copying and filtering spec structures."""

import collections

import pytest
import tensorflow as tf

from t2r import specs
from t2r.errors import SpecTypeError
from t2r.specs import ExtendedTensorSpec
from t2r.specs import TensorSpecStruct

Hierarchy = collections.namedtuple('Hierarchy', ['train', 'val'])
Sample = collections.namedtuple('Sample', ['state', 'action'])


def _sample(prefix):
  return Sample(
      state=ExtendedTensorSpec((8, 128), tf.float32, name=f'{prefix}/s'),
      action=ExtendedTensorSpec((8,), tf.float32, name=f'{prefix}/a'))


def test_readme_flattens_a_namedtuple_hierarchy():
  flat = specs.flatten_spec_structure(
      Hierarchy(train=_sample('train'), val=_sample('val')))
  assert isinstance(flat, TensorSpecStruct)
  assert flat.keys() == [
      'train/state', 'train/action', 'val/state', 'val/action'
  ]
  assert flat.val.state.name == 'val/s'


def test_flattens_dicts_lists_and_tuples_and_drops_none():
  state = ExtendedTensorSpec((1,), tf.float32)
  flat = specs.flatten_spec_structure(
      {'a': [state, None, (state,)], 'b': {'c': state, 'd': None}})
  assert flat.keys() == ['a/0', 'a/2/0', 'b/c']


def test_flattening_a_single_leaf_raises():
  with pytest.raises(ValueError, match='single'):
    specs.flatten_spec_structure(ExtendedTensorSpec((1,), tf.float32))


def test_non_string_dict_keys_raise():
  with pytest.raises(TypeError, match='keys must be strings'):
    specs.flatten_spec_structure({1: ExtendedTensorSpec((1,), tf.float32)})


@pytest.mark.parametrize('structure', [
    Hierarchy(train=_sample('train'), val=_sample('val')),
    {'train': {'state': _sample('t').state, 'action': _sample('t').action}},
    [_sample('a').state, (_sample('b').action,)],
    TensorSpecStruct({'x/y': _sample('x').state}),
])
def test_pack_inverts_flatten(structure):
  flat = specs.flatten_spec_structure(structure)
  packed = specs.pack_flat_sequence_to_spec_structure(structure, flat)
  assert type(packed) is type(structure)
  assert specs.flatten_spec_structure(packed).keys() == flat.keys()
  assert tf.nest.flatten(packed) == tf.nest.flatten(structure)


def test_pack_drops_extra_and_missing_optional_entries():
  spec = TensorSpecStruct({
      'required': ExtendedTensorSpec((1,), tf.float32, name='r'),
      'optional': ExtendedTensorSpec((1,), tf.float32, name='o',
                                     is_optional=True),
  })
  packed = specs.pack_flat_sequence_to_spec_structure(
      spec, {'required': 1, 'extra': 2})
  assert packed.keys() == ['required']


def test_pack_missing_required_names_path_and_name():
  spec = {'state': ExtendedTensorSpec((1,), tf.float32, name='s')}
  with pytest.raises(ValueError, match=r"'state' \(name 's'\)"):
    specs.pack_flat_sequence_to_spec_structure(spec, {})


def test_pack_keeps_the_declared_path_order():
  # Tensor2Robot sorted these paths; t2r keeps the order of the spec.
  spec = TensorSpecStruct()
  for name in ('b', 'a', 'c'):
    spec[name] = ExtendedTensorSpec((1,), tf.float32, name=name)
  packed = specs.pack_flat_sequence_to_spec_structure(
      spec, {'c': 3, 'a': 1, 'b': 2})
  assert packed.keys() == ['b', 'a', 'c']


def test_pack_rejects_a_flat_sequence_that_is_not_a_dict():
  spec = {'state': ExtendedTensorSpec((1,), tf.float32, name='s')}
  with pytest.raises(SpecTypeError,
                     match='keyed by path, got list.*flatten_spec_structure'):
    specs.pack_flat_sequence_to_spec_structure(spec, [1.0])


def _in_a_graph(call):
  def run(structure):
    with tf.Graph().as_default():
      return call(structure)
  return run


@pytest.mark.parametrize('call', [
    specs.assert_valid_spec_structure,
    specs.copy_tensorspec,
    specs.add_sequence_length_specs,
    specs.make_input_signature,
    specs.make_batched_spec_structure,
    _in_a_graph(specs.make_placeholders),
    specs.make_random_numpy,
    lambda structure: specs.make_constant_numpy(structure, 0),
    specs.tensorspec_to_feature_dict,
    specs.spec_structure_to_proto,
], ids=['assert_valid_spec_structure', 'copy_tensorspec',
        'add_sequence_length_specs', 'make_input_signature',
        'make_batched_spec_structure', 'make_placeholders',
        'make_random_numpy', 'make_constant_numpy',
        'tensorspec_to_feature_dict', 'spec_structure_to_proto'])
def test_a_non_spec_leaf_is_a_spec_type_error_naming_its_path(call):
  structure = {'state': {'pose': ExtendedTensorSpec((2,), tf.float32),
                         'image': 'image'}}
  with pytest.raises(SpecTypeError,
                     match="'state/image' is a str.*expected a tf.TensorSpec"):
    call(structure)


@pytest.mark.parametrize('batch_size, expected_shape', [
    (None, [8]), (-1, [None, 8]), (2, [2, 8])])
def test_copy_tensorspec_prefixes_names(batch_size, expected_shape):
  spec = {'action': ExtendedTensorSpec((8,), tf.float32, name='a')}
  copied = specs.copy_tensorspec(spec, prefix='train', batch_size=batch_size)
  assert copied.action.name == 'train/a'
  assert copied.action.shape.as_list() == expected_shape


def test_copy_tensorspec_rejects_a_zero_batch_size():
  spec = {'action': ExtendedTensorSpec((8,), tf.float32, name='a')}
  with pytest.raises(ValueError, match='batch_size=0'):
    specs.copy_tensorspec(spec, batch_size=0)


def test_filter_required_and_by_dataset():
  spec = TensorSpecStruct({
      'a': ExtendedTensorSpec((1,), tf.float32, name='a'),
      'b': ExtendedTensorSpec((1,), tf.float32, name='b', is_optional=True,
                              dataset_key='other'),
  })
  assert specs.filter_required_flat_tensor_spec(spec).keys() == ['a']
  assert specs.filter_spec_structure_by_dataset(spec, 'other').keys() == ['b']
  assert specs.dataset_keys(spec) == ['', 'other']


@pytest.mark.parametrize('structure', [
    Hierarchy(train=_sample('train'), val=_sample('val')),
    {'train': {'state': _sample('train').state}},
    [_sample('train').state],
], ids=['namedtuple', 'nested_dict', 'list'])
def test_filter_required_rejects_a_structure_that_is_not_flat(structure):
  with pytest.raises(ValueError, match=f'expects a flat spec structure.*got a '
                     f'{type(structure).__name__}.*flatten_spec_structure'):
    specs.filter_required_flat_tensor_spec(structure)


def test_filter_required_accepts_a_flat_dict():
  spec = {'train/state': _sample('train').state,
          'train/hint': ExtendedTensorSpec((1,), tf.float32, is_optional=True)}
  required = specs.filter_required_flat_tensor_spec(spec)
  assert isinstance(required, TensorSpecStruct)
  assert required.keys() == ['train/state']


def test_add_sequence_length_specs():
  spec = TensorSpecStruct({
      'context': ExtendedTensorSpec((2,), tf.float32, name='c'),
      'obs': ExtendedTensorSpec((3,), tf.float32, name='o', is_sequence=True),
  })
  with_lengths = specs.add_sequence_length_specs(spec)
  assert with_lengths.keys() == ['context', 'obs', 'obs_length']
  length = with_lengths.obs_length
  assert (length.name, length.dtype, length.shape.as_list()) == (
      'o_length', tf.int64, [])
  assert spec.keys() == ['context', 'obs']
