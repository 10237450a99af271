"""What `batch_size` means in each spec call, and what each call rejects."""

import inspect

import numpy as np
import pytest

from t2r import specs
from t2r.errors import SpecTypeError
from t2r.specs import batch_dims


def _spec(batch_size):
  return batch_dims.spec_batch_dims(batch_size)


def _array(batch_size):
  return batch_dims.array_batch_dims(batch_size, 'make_random_numpy')


def _signature(batch_size):
  return batch_dims.signature_batch_dims(batch_size, 'make_input_signature')


@pytest.mark.parametrize('batch_dims_fn, batch_size, expected', [
    (_spec, None, []),
    (_spec, 4, [4]),
    (_spec, -1, [None]),
    (_array, None, []),
    (_array, 4, [4]),
    (_signature, None, [None]),
    (_signature, 4, [4]),
])
def test_each_call_keeps_the_t2r_meaning(batch_dims_fn, batch_size, expected):
  assert batch_dims_fn(batch_size) == expected


@pytest.mark.parametrize('batch_dims_fn', [_spec, _array, _signature])
def test_numpy_integers_become_python_ints(batch_dims_fn):
  dims = batch_dims_fn(np.int64(3))
  assert dims == [3]
  assert type(dims[0]) is int  # pylint: disable=unidiomatic-typecheck


@pytest.mark.parametrize('batch_dims_fn, batch_size, call', [
    (_spec, 0, 'ExtendedTensorSpec.from_spec'),
    (_spec, -2, 'ExtendedTensorSpec.from_spec'),
    (_array, 0, 'make_random_numpy'),
    (_array, -1, 'make_random_numpy'),
    (_array, -3, 'make_random_numpy'),
    (_signature, 0, 'make_input_signature'),
    (_signature, -1, 'make_input_signature'),
    (_signature, np.int32(-1), 'make_input_signature'),
])
def test_ints_without_a_meaning_in_the_call_are_value_errors(
    batch_dims_fn, batch_size, call):
  with pytest.raises(ValueError,
                     match=rf'{call} got batch_size={int(batch_size)}; it '
                     'accepts'):
    batch_dims_fn(batch_size)


@pytest.mark.parametrize('batch_dims_fn', [_spec, _array, _signature])
@pytest.mark.parametrize('batch_size', [True, False, np.bool_(True), 2.0,
                                        '2'])
def test_other_types_are_spec_type_errors(batch_dims_fn, batch_size):
  with pytest.raises(SpecTypeError, match=r'got batch_size=.* it accepts'):
    batch_dims_fn(batch_size)


@pytest.mark.parametrize('batch_dims_fn, batch_size, accepted', [
    (_spec, 0, r'None \(no batch dimension\).*-1 \(an unknown batch'),
    (_array, -1, r'None \(no batch dimension\) or a positive int'),
    (_signature, -1, r'None \(an unknown batch dimension\) or a positive'),
])
def test_errors_say_what_the_call_accepts(batch_dims_fn, batch_size,
                                          accepted):
  with pytest.raises(ValueError, match=accepted):
    batch_dims_fn(batch_size)


def test_signature_errors_point_from_minus_one_to_none():
  with pytest.raises(ValueError, match='Pass None for an unknown batch'):
    _signature(-1)


def _public_functions_with_a_batch_size():
  for name in dir(specs):
    value = getattr(specs, name)
    if inspect.isclass(value):
      for method_name, method in inspect.getmembers(value, inspect.ismethod):
        if 'batch_size' in inspect.signature(method).parameters:
          yield f'{name}.{method_name}'
    elif inspect.isfunction(value):
      if 'batch_size' in inspect.signature(value).parameters:
        yield name


@pytest.mark.parametrize('call', sorted(_public_functions_with_a_batch_size()))
def test_the_package_table_lists_every_call_with_a_batch_size(call):
  assert call in specs.__doc__
