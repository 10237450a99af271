"""Checks that specs, tensors or numpy arrays match an expected spec structure.

Every failure is a ValueError that names the path and the spec name, says what
was expected and what was received, and how to fix it.
"""

from typing import Any, Optional, Tuple

import numpy as np
import tensorflow as tf

from t2r.specs.structure import flatten_spec_structure
from t2r.specs.structure import pack_flat_sequence_to_spec_structure
from t2r.specs.structure import spec_name
from t2r.specs.tensor_spec_struct import TensorSpecStruct


def _shape_and_dtype(value: Any) -> Tuple[tf.TensorShape, Optional[tf.DType]]:
  """Returns the static shape and dtype of a spec, tensor or numpy value."""
  if isinstance(value, (tf.TensorSpec, tf.Tensor, tf.Variable)) or (
      hasattr(value, 'shape') and isinstance(getattr(value, 'dtype', None),
                                             tf.DType)):
    return tf.TensorShape(value.shape), tf.as_dtype(value.dtype)
  array = value if isinstance(value, np.ndarray) else np.asarray(value)
  if array.dtype.kind in ('U', 'S', 'O'):
    return tf.TensorShape(array.shape), tf.string
  try:
    return tf.TensorShape(array.shape), tf.as_dtype(array.dtype)
  except TypeError:
    return tf.TensorShape(array.shape), None


def _format(shape: tf.TensorShape, dtype: Optional[tf.DType]) -> str:
  shape_text = ('<unknown rank>' if shape.rank is None else
                str(tuple(shape.as_list())))
  return f'{shape_text} {dtype.name if dtype is not None else "<unknown dtype>"}'


def _label(path: str, spec: Any) -> str:
  name = getattr(spec, 'name', None)
  return f"'{path}' (name {name!r})" if name else f"'{path}'"


def _expected_shape(spec: Any, ignore_batch: bool) -> tf.TensorShape:
  """The shape a value must have: the spec's shape with leading dims added.

  With `ignore_batch`, a leading batch dimension of any size is expected;
  sequence specs expect one more leading dimension of any size (time).
  """
  leading = []
  if ignore_batch:
    leading.append(None)
  if getattr(spec, 'is_sequence', False):
    leading.append(None)
  return tf.TensorShape(leading).concatenate(spec.shape)


def check_value_matches_spec(path: str, spec: Any, value: Any,
                             ignore_batch: bool = False):
  """Raises ValueError unless `value` fits `spec` (None dims are wildcards).

  Args:
    path: The path of the spec, for the error message.
    spec: The expected `tf.TensorSpec`.
    value: A spec, tensor or numpy array.
    ignore_batch: `value` has a leading batch dimension the spec lacks.

  Raises:
    ValueError: On a dtype or shape mismatch.
  """
  expected_shape = _expected_shape(spec, ignore_batch)
  actual_shape, actual_dtype = _shape_and_dtype(value)
  same_dtype = actual_dtype == spec.dtype
  if same_dtype and expected_shape.is_compatible_with(actual_shape):
    return
  hints = []
  if not same_dtype:
    hints.append(f'cast it to {spec.dtype.name}')
  if not expected_shape.is_compatible_with(actual_shape):
    if (actual_shape.rank is not None and expected_shape.rank is not None and
        actual_shape.rank == expected_shape.rank + 1 and not ignore_batch):
      hints.append('it seems to carry a batch dimension: pass '
                   'ignore_batch=True')
    elif (actual_shape.rank is not None and expected_shape.rank is not None and
          actual_shape.rank + 1 == expected_shape.rank and ignore_batch):
      hints.append('it seems to lack the batch dimension: add one or pass '
                   'ignore_batch=False')
    else:
      hints.append('reshape it or change the spec')
  raise ValueError(
      f'Spec {_label(path, spec)} expects {_format(expected_shape, spec.dtype)}'
      f' but got {_format(actual_shape, actual_dtype)}: '
      f'{"; ".join(hints)}.')


def validate_and_flatten(expected_spec: Any,
                         actual_tensors_or_spec: Any,
                         ignore_batch: bool = False) -> TensorSpecStruct:
  """Validates values against a spec structure and returns them flat.

  Example:
    >>> flat = validate_and_flatten(model_spec, features, ignore_batch=True)
    >>> flat.keys()          # only the paths model_spec declares
    ['state', 'action']

  Args:
    expected_spec: The spec structure the values must satisfy.
    actual_tensors_or_spec: A structure of specs, tensors or numpy arrays
      laid out like `expected_spec` (extra entries are ignored).
    ignore_batch: The values carry a leading batch dimension.

  Returns:
    A flat `TensorSpecStruct` of the values, restricted to (and ordered like)
    the expected paths; missing optional values are left out.

  Raises:
    ValueError: If a required value is missing or a value has the wrong shape
      or dtype. None dimensions in the expected spec match any size.
  """
  expected = flatten_spec_structure(expected_spec)
  actual = flatten_spec_structure(actual_tensors_or_spec)
  result = TensorSpecStruct()
  for path, spec in expected.items():
    if path not in actual.keys():
      if getattr(spec, 'is_optional', False):
        continue
      raise ValueError(
          f'Required spec {_label(path, spec)} is missing. Received paths: '
          f'{actual.keys()}. Provide a value with shape and dtype '
          f'{_format(_expected_shape(spec, ignore_batch), spec.dtype)}, or '
          'declare the spec is_optional=True.')
    check_value_matches_spec(path, spec, actual[path], ignore_batch)
    result[path] = actual[path]
  return result


def validate_and_pack(expected_spec: Any,
                      actual_tensors_or_spec: Any,
                      ignore_batch: bool = False) -> Any:
  """Validates values against a spec structure and packs them like it.

  Args:
    expected_spec: The spec structure the values must satisfy.
    actual_tensors_or_spec: Values laid out like `expected_spec`.
    ignore_batch: The values carry a leading batch dimension.

  Returns:
    The values in the layout of `expected_spec` (a `TensorSpecStruct` for a
    `TensorSpecStruct`).

  Raises:
    ValueError: As `validate_and_flatten`.
  """
  flat = validate_and_flatten(expected_spec, actual_tensors_or_spec,
                              ignore_batch)
  return pack_flat_sequence_to_spec_structure(expected_spec, flat)


def assert_equal(expected_spec: Any,
                 actual_spec: Any,
                 ignore_batch: bool = False):
  """Raises ValueError unless both structures have the same paths and specs.

  Shapes must be equal (not merely compatible) and dtypes identical; names
  are not compared.

  Args:
    expected_spec: A spec structure.
    actual_spec: A spec structure (or tensors).
    ignore_batch: `actual_spec` carries a leading batch dimension.
  """
  expected = flatten_spec_structure(expected_spec)
  actual = flatten_spec_structure(actual_spec)
  if set(expected.keys()) != set(actual.keys()):
    missing = sorted(set(expected.keys()) - set(actual.keys()))
    extra = sorted(set(actual.keys()) - set(expected.keys()))
    raise ValueError(
        f'Spec structures differ: missing paths {missing}, unexpected paths '
        f'{extra}. Make both declare the same paths.')
  for path, spec in expected.items():
    _assert_same_spec(path, spec, actual[path], ignore_batch)


def assert_required(expected_spec: Any,
                    actual_spec: Any,
                    ignore_batch: bool = False):
  """Raises ValueError unless every required expected spec is in `actual`.

  Args:
    expected_spec: A spec structure whose non-optional specs must be present.
    actual_spec: A spec structure (or tensors) that may hold more.
    ignore_batch: `actual_spec` carries a leading batch dimension.
  """
  expected = flatten_spec_structure(expected_spec)
  actual = flatten_spec_structure(actual_spec)
  for path, spec in expected.items():
    if getattr(spec, 'is_optional', False):
      continue
    if path not in actual.keys():
      raise ValueError(
          f'Required spec {_label(path, spec)} is missing. Available paths: '
          f'{actual.keys()}.')
    _assert_same_spec(path, spec, actual[path], ignore_batch)


def _assert_same_spec(path: str, spec: Any, actual: Any, ignore_batch: bool):
  expected_shape = _expected_shape(spec, ignore_batch)
  actual_shape, actual_dtype = _shape_and_dtype(actual)
  if ignore_batch and actual_shape.rank:
    actual_shape = tf.TensorShape([None]).concatenate(actual_shape[1:])
  same_shape = (expected_shape.rank == actual_shape.rank and
                (expected_shape.rank is None or
                 expected_shape.as_list() == actual_shape.as_list()))
  if not same_shape or actual_dtype != spec.dtype:
    raise ValueError(
        f'Spec {_label(path, spec)} is {_format(expected_shape, spec.dtype)} '
        f'but the other structure has {_format(actual_shape, actual_dtype)} '
        'at that path.')


def assert_valid_spec_structure(spec_structure: Any):
  """Raises unless the leaves are specs and names are used consistently.

  Two specs may share a name only if they are equal (same shape and dtype):
  the name is how data and placeholders find a tensor.

  Args:
    spec_structure: A spec structure.

  Raises:
    TypeError: If a leaf is not a `tf.TensorSpec`.
    ValueError: If two paths use one name with different shapes or dtypes.
  """
  flat = flatten_spec_structure(spec_structure)
  seen = {}
  for path, spec in flat.items():
    if not isinstance(spec, tf.TensorSpec):
      raise TypeError(
          f'Spec structure leaf {path!r} is a {type(spec).__name__}, expected '
          'a tf.TensorSpec or ExtendedTensorSpec.')
    name = spec_name(spec, path)
    if name in seen:
      other_path, other = seen[name]
      if other != spec:
        raise ValueError(
            f'Specs {other_path!r} and {path!r} share the name {name!r} but '
            f'differ: {_format(other.shape, other.dtype)} vs '
            f'{_format(spec.shape, spec.dtype)}. Give one of them another '
            'name (the name is the key in the data).')
    else:
      seen[name] = (path, spec)
