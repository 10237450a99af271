"""Validating tensors, arrays and specs against an expected spec structure."""

import numpy as np
import pytest
import tensorflow as tf

from t2r import specs
from t2r.specs import ExtendedTensorSpec
from t2r.specs import TensorSpecStruct


@pytest.fixture
def expected():
  return TensorSpecStruct({
      'train/state': ExtendedTensorSpec((None, 3), tf.float32, name='s'),
      'train/action': ExtendedTensorSpec((2,), tf.int64, name='a'),
      'train/hint': ExtendedTensorSpec((1,), tf.float32, name='h',
                                       is_optional=True),
  })


def _values(batch=4):
  return {
      'train': {
          'state': np.zeros((batch, 5, 3), np.float32),
          'action': np.zeros((batch, 2), np.int64),
      },
      'unused': np.zeros(1),
  }


def test_validate_and_flatten_filters_to_expected_paths(expected):
  flat = specs.validate_and_flatten(expected, _values(), ignore_batch=True)
  assert flat.keys() == ['train/state', 'train/action']


def test_none_dimensions_are_wildcards(expected):
  values = _values()
  values['train']['state'] = np.zeros((4, 11, 3), np.float32)
  assert specs.validate_and_flatten(expected, values, ignore_batch=True)


def test_validate_and_pack_returns_the_expected_layout(expected):
  packed = specs.validate_and_pack(expected, _values(), ignore_batch=True)
  assert isinstance(packed, TensorSpecStruct)
  assert packed.train.action.shape == (4, 2)


def test_validates_tensors_and_specs_alike(expected):
  tensors = tf.nest.map_structure(tf.constant, _values())
  assert specs.validate_and_flatten(expected, tensors, ignore_batch=True)
  batched = specs.make_batched_spec_structure(expected)
  assert specs.validate_and_flatten(expected, batched, ignore_batch=True)


def test_missing_required_names_path_and_spec_name(expected):
  values = _values()
  del values['train']['action']
  with pytest.raises(ValueError,
                     match=r"Required spec 'train/action' \(name 'a'\)"):
    specs.validate_and_flatten(expected, values, ignore_batch=True)


@pytest.mark.parametrize('path, bad_value, message', [
    ('state', np.zeros((4, 5, 2), np.float32), 'reshape it'),
    ('action', np.zeros((4, 2), np.int32), 'cast it to int64'),
    ('action', np.zeros((2,), np.int64), 'lack the batch dimension'),
])
def test_mismatches_say_what_and_how_to_fix(expected, path, bad_value, message):
  values = _values()
  values['train'][path] = bad_value
  with pytest.raises(ValueError, match=message) as error:
    specs.validate_and_flatten(expected, values, ignore_batch=True)
  assert f"'train/{path}'" in str(error.value)


def test_unbatched_values_without_ignore_batch(expected):
  values = tf.nest.map_structure(lambda v: v[0], _values())
  assert specs.validate_and_flatten(expected, values, ignore_batch=False)
  with pytest.raises(ValueError, match='ignore_batch=True'):
    specs.validate_and_flatten(expected, _values(), ignore_batch=False)


def test_sequence_specs_expect_a_time_dimension():
  spec = {'obs': ExtendedTensorSpec((3,), tf.float32, name='o',
                                    is_sequence=True)}
  ok = {'obs': np.zeros((2, 7, 3), np.float32)}
  assert specs.validate_and_flatten(spec, ok, ignore_batch=True)
  with pytest.raises(ValueError, match='expects'):
    specs.validate_and_flatten(spec, {'obs': np.zeros((2, 3), np.float32)},
                               ignore_batch=True)


def test_string_arrays_match_string_specs():
  spec = {'text': ExtendedTensorSpec((), tf.string, name='t')}
  assert specs.validate_and_flatten(
      spec, {'text': np.array([b'a', b'b'], dtype=object)}, ignore_batch=True)


def test_assert_equal_compares_paths_and_specs(expected):
  specs.assert_equal(expected, specs.flatten_spec_structure(expected))
  other = expected.copy()
  other['train/action'] = ExtendedTensorSpec((3,), tf.int64, name='a')
  with pytest.raises(ValueError, match="'train/action'"):
    specs.assert_equal(expected, other)
  del other['train/action']
  with pytest.raises(ValueError, match=r"missing paths \['train/action'\]"):
    specs.assert_equal(expected, other)


def test_assert_equal_with_ignore_batch(expected):
  batched = specs.make_batched_spec_structure(expected, batch_size=5)
  specs.assert_equal(expected, batched, ignore_batch=True)


def test_assert_required_ignores_optional_and_extra(expected):
  actual = expected.copy()
  del actual['train/hint']
  actual['more'] = ExtendedTensorSpec((1,), tf.float32)
  specs.assert_required(expected, actual)
  del actual['train/state']
  with pytest.raises(ValueError, match="'train/state'"):
    specs.assert_required(expected, actual)


def test_assert_valid_spec_structure_allows_equal_specs_sharing_a_name():
  shared = ExtendedTensorSpec((2,), tf.float32, name='x')
  specs.assert_valid_spec_structure({'a': shared, 'b': shared})


def test_assert_valid_spec_structure_names_both_paths():
  structure = {
      'a': ExtendedTensorSpec((2,), tf.float32, name='x'),
      'b': ExtendedTensorSpec((3,), tf.float32, name='x'),
  }
  with pytest.raises(ValueError, match="'a' and 'b' share the name 'x'"):
    specs.assert_valid_spec_structure(structure)


# Every flag, against spec copies (declarations) and against data (values).
_FLAGGED_SPECS = {
    'sequence': ExtendedTensorSpec((6,), tf.float32, name='s',
                                   is_sequence=True),
    'optional': ExtendedTensorSpec((6,), tf.float32, name='o',
                                   is_optional=True),
    'varlen': ExtendedTensorSpec((3,), tf.int64, name='v',
                                 varlen_default_value=0),
    'image': ExtendedTensorSpec((4, 5, 3), tf.uint8, name='i',
                                data_format='jpeg'),
}
_FLAGS = sorted(_FLAGGED_SPECS)
_CHECKS = [specs.assert_equal, specs.assert_required,
           specs.validate_and_flatten]
_CHECK_IDS = ['assert_equal', 'assert_required', 'validate_and_flatten']


def _structure(flag):
  return {'x': _FLAGGED_SPECS[flag]}


@pytest.mark.parametrize('check', _CHECKS, ids=_CHECK_IDS)
@pytest.mark.parametrize('flag', _FLAGS)
def test_a_spec_matches_itself(check, flag):
  check(_structure(flag), _structure(flag))


@pytest.mark.parametrize('check', _CHECKS, ids=_CHECK_IDS)
@pytest.mark.parametrize('flag', _FLAGS)
def test_a_spec_matches_its_renamed_copy(check, flag):
  check(_structure(flag), specs.copy_tensorspec(_structure(flag), 'copy'))


@pytest.mark.parametrize('check', _CHECKS, ids=_CHECK_IDS)
@pytest.mark.parametrize('flag', _FLAGS)
def test_a_spec_matches_its_batched_copy_with_ignore_batch(check, flag):
  batched = specs.copy_tensorspec(_structure(flag), batch_size=-1)
  check(_structure(flag), batched, ignore_batch=True)


@pytest.mark.parametrize('check', _CHECKS, ids=_CHECK_IDS)
@pytest.mark.parametrize('flag', _FLAGS)
def test_a_spec_matches_a_batch_of_its_data(check, flag):
  arrays = specs.make_random_numpy(_structure(flag), batch_size=2,
                                   sequence_length=7)
  check(_structure(flag), arrays, ignore_batch=True)


@pytest.mark.parametrize('check', _CHECKS, ids=_CHECK_IDS)
@pytest.mark.parametrize('flag', _FLAGS)
def test_a_spec_matches_one_example_of_its_data(check, flag):
  arrays = specs.make_random_numpy(_structure(flag), batch_size=None)
  check(_structure(flag), arrays)


@pytest.mark.parametrize('check', _CHECKS, ids=_CHECK_IDS)
@pytest.mark.parametrize('flag', _FLAGS)
def test_a_spec_matches_the_specs_of_its_batched_tensors(check, flag):
  tensors = tf.nest.map_structure(
      tf.constant, specs.make_random_numpy(_structure(flag), batch_size=2))
  extracted = {'x': ExtendedTensorSpec.from_tensor(tensors['x'])}
  check(_structure(flag), extracted, ignore_batch=True)


@pytest.mark.parametrize('make', [
    specs.make_input_signature, specs.make_batched_spec_structure])
@pytest.mark.parametrize('check', _CHECKS, ids=_CHECK_IDS)
def test_a_sequence_spec_matches_its_signature(check, make):
  check(_structure('sequence'), make(_structure('sequence')),
        ignore_batch=True)


@pytest.mark.parametrize('check', _CHECKS, ids=_CHECK_IDS)
def test_sequence_data_needs_the_time_dimension(check):
  no_time = {'x': np.zeros((2, 6), np.float32)}
  with pytest.raises(ValueError,
                     match=r"'x' \(name 's'\) expects \(None, None, 6\) "
                     r'float32 but got \(2, 6\) float32: it seems to lack the '
                     'batch or time dimension'):
    check(_structure('sequence'), no_time, ignore_batch=True)


@pytest.mark.parametrize('check', _CHECKS, ids=_CHECK_IDS)
def test_a_declared_sequence_spec_leaves_out_the_time_dimension(check):
  with_time = {'x': ExtendedTensorSpec((None, 6), tf.float32,
                                       is_sequence=True)}
  with pytest.raises(ValueError,
                     match=r"'x' \(name 's'\) expects \(6,\) float32 "
                     r'sequence but the other structure declares \(None, 6\) '
                     'float32 sequence'):
    check(_structure('sequence'), with_time)


@pytest.mark.parametrize('check', _CHECKS, ids=_CHECK_IDS)
def test_declared_specs_must_agree_on_is_sequence(check):
  not_a_sequence = {'x': ExtendedTensorSpec((6,), tf.float32, name='s')}
  with pytest.raises(ValueError, match='declare both with is_sequence=True'):
    check(_structure('sequence'), not_a_sequence)


@pytest.mark.parametrize('check', _CHECKS, ids=_CHECK_IDS)
def test_declared_specs_must_agree_on_the_dtype(check):
  other = {'x': ExtendedTensorSpec((6,), tf.int32, is_optional=True)}
  with pytest.raises(ValueError, match='declare both as float32'):
    check(_structure('optional'), other)


@pytest.mark.parametrize('check, passes', [
    (specs.assert_equal, False), (specs.assert_required, False),
    (specs.validate_and_flatten, True)], ids=_CHECK_IDS)
def test_only_validation_accepts_unknown_dimensions_in_the_data(check,
                                                                 passes):
  unknown = {'x': tf.TensorSpec((None,), tf.float32)}
  if passes:
    check(_structure('optional'), unknown)
  else:
    with pytest.raises(ValueError, match=r'expects \(6,\) float32 but got '
                       r'\(None,\) float32'):
      check(_structure('optional'), unknown)


def test_assert_valid_spec_structure_rejects_non_specs():
  # T2R code catches ValueError; SpecTypeError is a ValueError and TypeError.
  with pytest.raises(ValueError, match="leaf 'a' is a int"):
    specs.assert_valid_spec_structure({'a': 10})
