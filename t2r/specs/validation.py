"""Checks that specs, tensors or numpy arrays match an expected spec structure.

Two cases are kept apart, because a sequence spec's shape leaves out the time
dimension that its tensors carry:

* A *value* (tensor, variable, numpy array, plain `tf.TensorSpec` such as a
  tf.function signature, or an `is_extracted` spec: from
  `ExtendedTensorSpec.from_tensor` or `make_batched_spec_structure`) has the
  shape of the data: [batch] + [time, for `is_sequence` specs] + the spec's
  shape.
* A *declared spec* (any other `ExtendedTensorSpec`) is compared with the
  expected spec as declared: the same shape ([batch] + shape with
  `ignore_batch`, as `from_spec(spec, batch_size=-1)` makes it) and the same
  `is_sequence`. `is_optional`, `data_format`, `varlen_default_value`,
  `dataset_key` and names do not change what the tensor looks like and are
  not compared.

None dimensions of the expected spec match any size. `validate_*` accept a
value whose own dimensions are unknown (None) where the spec has a size, as
inside tf.data or tf.function; `assert_equal` and `assert_required` do not.

Every mismatch is a ValueError that names the path and the spec name, says
what was expected and what was received, and how to fix it.
"""

from typing import Any, Optional, Tuple

import numpy as np
import tensorflow as tf

from t2r.specs.extended_tensor_spec import ExtendedTensorSpec
from t2r.specs.structure import flatten_spec_structure
from t2r.specs.structure import flatten_tensor_specs
from t2r.specs.structure import pack_flat_sequence_to_spec_structure
from t2r.specs.structure import spec_name
from t2r.specs.tensor_spec_struct import TensorSpecStruct


def _is_declared_spec(value: Any) -> bool:
  """True for a spec whose shape excludes the time dim `is_sequence` adds."""
  return isinstance(value, ExtendedTensorSpec) and not value.is_extracted


def _is_sequence(spec: Any) -> bool:
  return bool(getattr(spec, 'is_sequence', False))


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


def _format(shape: tf.TensorShape, dtype: Optional[tf.DType],
            is_sequence: bool = False) -> str:
  shape_text = ('<unknown rank>' if shape.rank is None else
                str(tuple(shape.as_list())))
  dtype_text = dtype.name if dtype is not None else '<unknown dtype>'
  return f'{shape_text} {dtype_text}{" sequence" if is_sequence else ""}'


def _label(path: str, spec: Any) -> str:
  name = getattr(spec, 'name', None)
  return f"'{path}' (name {name!r})" if name else f"'{path}'"


def _dims_match(expected: tf.TensorShape, actual: tf.TensorShape,
                allow_unknown: bool) -> bool:
  """Expected None dims match anything; actual None ones if allowed."""
  if allow_unknown:
    return expected.is_compatible_with(actual)
  if expected.rank is None:
    return True
  return actual.rank == expected.rank and all(
      want is None or want == got
      for want, got in zip(expected.as_list(), actual.as_list()))


def _rank_hint(expected: tf.TensorShape, actual: tf.TensorShape,
               ignore_batch: bool, leading: str) -> Optional[str]:
  """A fix for a shape one leading dimension off, or None.

  Args:
    expected: The shape wanted.
    actual: The shape received.
    ignore_batch: Whether `expected` starts with a batch dimension.
    leading: What the leading dimensions `expected` adds are, in words.
  """
  if actual.rank is None or expected.rank is None:
    return None
  if actual.rank == expected.rank + 1 and not ignore_batch:
    return 'it seems to carry a batch dimension: pass ignore_batch=True'
  if actual.rank + 1 == expected.rank and ignore_batch:
    return f'it seems to lack {leading}: add it or pass ignore_batch=False'
  return None


def _value_shape(spec: Any, ignore_batch: bool) -> tf.TensorShape:
  """A value's shape for `spec`: [batch] + [time, for sequences] + shape."""
  leading = [None] if ignore_batch else []
  if _is_sequence(spec):
    leading.append(None)
  return tf.TensorShape(leading).concatenate(spec.shape)


def _value_mismatch(path: str, spec: Any, value: Any, ignore_batch: bool,
                    allow_unknown: bool) -> Optional[str]:
  """Tensor against spec: the value's shape includes batch and time dims."""
  expected_shape = _value_shape(spec, ignore_batch)
  shape, dtype = _shape_and_dtype(value)
  hints = []
  if dtype != spec.dtype:
    hints.append(f'cast it to {spec.dtype.name}')
  if not _dims_match(expected_shape, shape, allow_unknown):
    leading = ("the batch or time dimension (a sequence spec's values are "
               '(batch, time) + shape)'
               if _is_sequence(spec) else 'the batch dimension')
    hints.append(_rank_hint(expected_shape, shape, ignore_batch, leading) or
                 'reshape it or change the spec')
  if not hints:
    return None
  return (f'Spec {_label(path, spec)} expects '
          f'{_format(expected_shape, spec.dtype)} but got '
          f'{_format(shape, dtype)}: {"; ".join(hints)}.')


def _spec_mismatch(path: str, spec: Any, other: ExtendedTensorSpec,
                   ignore_batch: bool, allow_unknown: bool) -> Optional[str]:
  """Spec against spec: both shapes are declared, without the time dim."""
  expected_shape = tf.TensorShape([None] if ignore_batch else []).concatenate(
      spec.shape)
  hints = []
  if other.is_sequence != _is_sequence(spec):
    hints.append(f'declare both with is_sequence={_is_sequence(spec)}')
  if other.dtype != spec.dtype:
    hints.append(f'declare both as {spec.dtype.name}')
  if not _dims_match(expected_shape, other.shape, allow_unknown):
    hints.append(
        _rank_hint(expected_shape, other.shape, ignore_batch,
                   'the batch dimension (from_spec(spec, batch_size=-1) '
                   'adds one)') or 'change one of the specs')
  if not hints:
    return None
  return (f'Spec {_label(path, spec)} expects '
          f'{_format(expected_shape, spec.dtype, _is_sequence(spec))} but the '
          'other structure declares '
          f'{_format(other.shape, other.dtype, other.is_sequence)}: '
          f'{"; ".join(hints)}.')


def _mismatch(path: str, spec: Any, actual: Any, ignore_batch: bool,
              allow_unknown: bool) -> Optional[str]:
  """How `actual` fails to match `spec` (None if it matches)."""
  if _is_declared_spec(actual):
    return _spec_mismatch(path, spec, actual, ignore_batch, allow_unknown)
  return _value_mismatch(path, spec, actual, ignore_batch, allow_unknown)


def check_value_matches_spec(path: str, spec: Any, value: Any,
                             ignore_batch: bool = False):
  """Raises ValueError unless `value` fits `spec`.

  Example:
    >>> check_value_matches_spec(
    ...     'obs', ExtendedTensorSpec((3,), tf.float32, is_sequence=True),
    ...     np.zeros((2, 7, 3), np.float32), ignore_batch=True)  # passes

  Args:
    path: The path of the spec, for the error message.
    spec: The expected `tf.TensorSpec`.
    value: A tensor or numpy array, which for a sequence spec carries the
      time dimension; or a declared spec, compared as a declaration (see the
      module docstring). None dimensions on either side match any size.
    ignore_batch: `value` has a leading batch dimension the spec lacks.

  Raises:
    ValueError: On a dtype, shape or `is_sequence` mismatch.
  """
  message = _mismatch(path, spec, value, ignore_batch, allow_unknown=True)
  if message:
    raise ValueError(message)


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
    actual_tensors_or_spec: A structure of tensors, numpy arrays or specs
      laid out like `expected_spec` (extra entries are ignored). Declared
      specs are compared as declarations (see the module docstring).
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
      value_shape = _value_shape(spec, ignore_batch)
      raise ValueError(
          f'Required spec {_label(path, spec)} is missing. Received paths: '
          f'{actual.keys()}. Provide a value of shape and dtype '
          f'{_format(value_shape, spec.dtype)}, or declare the spec '
          'is_optional=True.')
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
    The values in the layout and path order of `expected_spec` (a
    `TensorSpecStruct` for a `TensorSpecStruct`).

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

  Dtypes must be identical and every known dimension of the expected spec
  equal; None dimensions of the expected spec match any size. Names and
  metadata other than `is_sequence` are not compared.

  Example:
    >>> assert_equal(feature_spec, copy_tensorspec(feature_spec))
    >>> assert_equal(feature_spec, placeholders, ignore_batch=True)

  Args:
    expected_spec: A spec structure.
    actual_spec: A spec structure, or tensors / numpy arrays (see the module
      docstring for how each is compared).
    ignore_batch: `actual_spec` carries a leading batch dimension.

  Raises:
    ValueError: If the paths differ or a spec does not match.
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
    _assert_same(path, spec, actual[path], ignore_batch)


def assert_required(expected_spec: Any,
                    actual_spec: Any,
                    ignore_batch: bool = False):
  """Raises ValueError unless every required expected spec is in `actual`.

  Specs present in both are compared as in `assert_equal`, optional ones
  included; `actual_spec` may hold more paths.

  Args:
    expected_spec: A spec structure whose non-optional specs must be present.
    actual_spec: A spec structure (or tensors) that may hold more.
    ignore_batch: `actual_spec` carries a leading batch dimension.

  Raises:
    ValueError: If a required spec is missing or a spec does not match.
  """
  expected = flatten_spec_structure(expected_spec)
  actual = flatten_spec_structure(actual_spec)
  for path, spec in expected.items():
    if path in actual.keys():
      _assert_same(path, spec, actual[path], ignore_batch)
    elif not getattr(spec, 'is_optional', False):
      raise ValueError(
          f'Required spec {_label(path, spec)} is missing. Available paths: '
          f'{actual.keys()}. Add it, or declare it is_optional=True.')


def _assert_same(path: str, spec: Any, actual: Any, ignore_batch: bool):
  message = _mismatch(path, spec, actual, ignore_batch, allow_unknown=False)
  if message:
    raise ValueError(message)


def assert_valid_spec_structure(spec_structure: Any):
  """Raises unless the leaves are specs and names are used consistently.

  Two specs may share a name only if they are equal (same shape and dtype):
  the name is how data and placeholders find a tensor.

  Args:
    spec_structure: A spec structure.

  Raises:
    SpecTypeError: If a leaf is not a `tf.TensorSpec` (a TypeError, and the
      ValueError Tensor2Robot raised).
    ValueError: If two paths use one name with different shapes or dtypes.
  """
  seen = {}
  for path, spec in flatten_tensor_specs(spec_structure).items():
    name = spec_name(spec, path)
    if name not in seen:
      seen[name] = (path, spec)
      continue
    other_path, other = seen[name]
    if other != spec:
      raise ValueError(
          f'Specs {other_path!r} and {path!r} share the name {name!r} but '
          f'differ: {_format(other.shape, other.dtype)} vs '
          f'{_format(spec.shape, spec.dtype)}. Give one of them another '
          'name (the name is the key in the data).')
