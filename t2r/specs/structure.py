"""Flatten, pack, copy and filter spec structures.

A *spec structure* is a `TensorSpecStruct`, or any nesting of dicts, lists,
tuples and namedtuples whose leaves are specs (or tensors / numpy arrays when
the same structure carries data). Flattening turns it into a flat
`TensorSpecStruct` keyed by '/'-joined paths; list and tuple elements get
their index as path component.
"""

from typing import Any, Optional

import tensorflow as tf

from t2r.errors import SpecTypeError
from t2r.specs.extended_tensor_spec import ExtendedTensorSpec
from t2r.specs.tensor_spec_struct import TensorSpecStruct

_SEPARATOR = '/'


def _is_namedtuple(value: Any) -> bool:
  return isinstance(value, tuple) and hasattr(value, '_fields')


def _children(value: Any):
  """Returns (key, child) pairs of a structure node, or None for a leaf."""
  if isinstance(value, TensorSpecStruct):
    return list(value.items())
  if isinstance(value, dict):
    return list(value.items())
  if _is_namedtuple(value):
    return list(zip(value._fields, value))
  if isinstance(value, (list, tuple)):
    return [(str(i), child) for i, child in enumerate(value)]
  return None


def flatten_spec_structure(spec_structure: Any) -> TensorSpecStruct:
  """Flattens a spec structure into a `TensorSpecStruct` keyed by path.

  Leaves that are None are dropped (T2R uses None for absent optional parts).

  Example:
    >>> Sample = collections.namedtuple('Sample', ['state', 'action'])
    >>> flat = flatten_spec_structure(
    ...     {'train': Sample(state=state_spec, action=action_spec)})
    >>> flat.keys()
    ['train/state', 'train/action']

  Args:
    spec_structure: A dict, list, tuple, namedtuple or `TensorSpecStruct`
      (nested arbitrarily), or a single leaf.

  Returns:
    A new flat `TensorSpecStruct`. A single leaf is not a structure: passing
    one raises ValueError.

  Raises:
    ValueError: If `spec_structure` is a single leaf, or a dict key contains
      the path separator in a way that collides with another path.
    TypeError: If a dict key is not a string.
  """
  if _children(spec_structure) is None:
    raise ValueError(
        f'flatten_spec_structure expects a dict, list, tuple, namedtuple or '
        f'TensorSpecStruct, got a single {type(spec_structure).__name__}: '
        f'{spec_structure!r}. Wrap it, e.g. {{"state": spec}}.')
  flat = TensorSpecStruct()
  _flatten_into(spec_structure, '', flat)
  return flat


def _flatten_into(node: Any, prefix: str, flat: TensorSpecStruct):
  children = _children(node)
  if children is None:
    if node is not None:
      if prefix in flat:
        raise ValueError(
            f'Two entries flatten to the same path {prefix!r}; rename one of '
            'them.')
      flat[prefix] = node
    return
  for key, child in children:
    if not isinstance(key, str):
      raise TypeError(
          f'Spec structure keys must be strings, got {key!r} '
          f'({type(key).__name__}) under {prefix or "the root"!r}.')
    _flatten_into(child, f'{prefix}{_SEPARATOR}{key}' if prefix else key,
                  flat)


def pack_flat_sequence_to_spec_structure(spec_structure: Any,
                                         flat_sequence: Any) -> Any:
  """Packs a flat path->value mapping into the layout of `spec_structure`.

  Entries of `flat_sequence` that the spec does not declare are dropped; an
  optional spec missing from `flat_sequence` is left out (None inside tuples
  and namedtuples, which cannot drop a field); a missing required one fails.

  The result keeps the order in which `spec_structure` declares its paths,
  like every structure op here. (Tensor2Robot sorted the paths of a
  `TensorSpecStruct`, a side effect of packing through `tf.nest`; tf.nest,
  tf.data and Keras sort dict keys themselves, so they do not depend on it.)

  Example:
    >>> packed = pack_flat_sequence_to_spec_structure(
    ...     hierarchy_namedtuple, {'train/state': state, 'train/action': act})
    >>> packed.train.state is state
    True

  Args:
    spec_structure: The structure whose layout the result has.
    flat_sequence: A dict or `TensorSpecStruct` keyed by flat paths, e.g. the
      output of `flatten_spec_structure`.

  Returns:
    A structure of the same type as `spec_structure` (a `TensorSpecStruct`
    for a `TensorSpecStruct`) holding the values of `flat_sequence`.

  Raises:
    ValueError: If a required spec has no value in `flat_sequence`.
    SpecTypeError: If `flat_sequence` is not a dict or `TensorSpecStruct`.
  """
  if not isinstance(flat_sequence, dict):
    raise SpecTypeError(
        'pack_flat_sequence_to_spec_structure expects flat_sequence to be a '
        f'dict or TensorSpecStruct keyed by path, got '
        f'{type(flat_sequence).__name__}. Flatten it first with '
        'flatten_spec_structure.')
  flat_values = dict(flat_sequence.items())
  if isinstance(spec_structure, TensorSpecStruct):
    packed = TensorSpecStruct()
    for path, spec in spec_structure.items():
      value = _lookup(flat_values, path, spec)
      if value is not None:
        packed[path] = value
    return packed
  return _pack(spec_structure, '', flat_values)


def _lookup(flat_values: dict, path: str, spec: Any) -> Any:
  if path in flat_values:
    return flat_values[path]
  if getattr(spec, 'is_optional', False):
    return None
  raise ValueError(
      f'Required spec {path!r} (name {getattr(spec, "name", None)!r}) has no '
      f'value to pack. Available paths: {sorted(flat_values)}. Provide it or '
      'declare the spec with is_optional=True.')


def _pack(node: Any, prefix: str, flat_values: dict) -> Any:
  def path_of(key):
    return f'{prefix}{_SEPARATOR}{key}' if prefix else key

  if isinstance(node, dict):
    packed = type(node)() if type(node) is not dict else {}
    for key, child in node.items():
      value = _pack(child, path_of(key), flat_values)
      if value is not None:
        packed[key] = value
    return packed
  if _is_namedtuple(node):
    return type(node)(*[
        _pack(child, path_of(field), flat_values)
        for field, child in zip(node._fields, node)
    ])
  if isinstance(node, (list, tuple)):
    return type(node)(
        _pack(child, path_of(str(i)), flat_values)
        for i, child in enumerate(node))
  if node is None:
    return None
  return _lookup(flat_values, prefix, node)


def copy_tensorspec(spec_structure: Any,
                    prefix: str = '',
                    batch_size: Optional[int] = None) -> TensorSpecStruct:
  """Copies specs, prefixing every name and optionally adding a batch dim.

  Example (T2R's hierarchical spec):
    >>> hierarchical = TensorSpecStruct()
    >>> hierarchical.train = copy_tensorspec(simple_spec, prefix='train')
    >>> hierarchical.train.state.name
    'train/s'

  Args:
    spec_structure: A spec structure.
    prefix: Prepended as 'prefix/' to every spec name (names that are None
      take the path instead).
    batch_size: As in `ExtendedTensorSpec.from_spec`: > 0 prepends a fixed
      batch dimension, -1 prepends None, None adds nothing (see the table
      in `t2r.specs`).

  Returns:
    A flat `TensorSpecStruct` of new `ExtendedTensorSpec`s with the same paths.

  Raises:
    SpecTypeError: If a leaf is not a spec, or `batch_size` is not None or
      an int.
    ValueError: If `batch_size` is 0 or negative other than -1.
  """
  copied = TensorSpecStruct()
  for path, spec in flatten_tensor_specs(spec_structure).items():
    name = spec_name(spec, path)
    if prefix:
      name = f'{prefix.rstrip(_SEPARATOR)}{_SEPARATOR}{name}'
    copied[path] = ExtendedTensorSpec.from_spec(
        spec, name=name, batch_size=batch_size)
  return copied


def flatten_tensor_specs(spec_structure: Any) -> TensorSpecStruct:
  """`flatten_spec_structure` for structures that must hold only specs.

  The functions that read shapes, dtypes and names from specs (placeholders,
  signatures, numpy makers, parsers) flatten through this, so a stray value
  is reported with its path instead of as an AttributeError.

  Args:
    spec_structure: A spec structure.

  Returns:
    The flat `TensorSpecStruct`, as `flatten_spec_structure`.

  Raises:
    SpecTypeError: If a leaf is not a `tf.TensorSpec` (a TypeError, and the
      ValueError Tensor2Robot raised).
  """
  flat = flatten_spec_structure(spec_structure)
  for path, spec in flat.items():
    if not isinstance(spec, tf.TensorSpec):
      raise SpecTypeError(
          f'Spec structure leaf {path!r} is a {type(spec).__name__} '
          f'({spec!r}), expected a tf.TensorSpec or ExtendedTensorSpec. '
          'Declare it as ExtendedTensorSpec(shape, dtype, name=...); for a '
          'tensor or array, ExtendedTensorSpec.from_tensor gives its spec.')
  return flat


def _is_flat(structure: Any) -> bool:
  """True for a dict of path -> leaf (a `TensorSpecStruct` always is)."""
  return isinstance(structure, dict) and all(
      _children(value) is None for value in structure.values())


def filter_required_flat_tensor_spec(flat_tensor_spec: Any) -> TensorSpecStruct:
  """Returns only the specs that are not optional, as a flat struct.

  Example:
    >>> required = filter_required_flat_tensor_spec(
    ...     flatten_spec_structure(feature_spec))

  Args:
    flat_tensor_spec: A flat spec structure: a `TensorSpecStruct` or a dict
      keyed by path (the output of `flatten_spec_structure`).

  Returns:
    A new flat `TensorSpecStruct` of the non-optional specs, in order.

  Raises:
    ValueError: If `flat_tensor_spec` is not flat (as in Tensor2Robot).
  """
  if not _is_flat(flat_tensor_spec):
    nested = ' with nested values' if isinstance(flat_tensor_spec, dict) else ''
    raise ValueError(
        'filter_required_flat_tensor_spec expects a flat spec structure (a '
        'TensorSpecStruct or a dict of path -> spec), got a '
        f'{type(flat_tensor_spec).__name__}{nested}. Pass '
        'flatten_spec_structure(spec_structure) instead.')
  return TensorSpecStruct([
      (path, spec)
      for path, spec in flatten_spec_structure(flat_tensor_spec).items()
      if not getattr(spec, 'is_optional', False)
  ])


def filter_spec_structure_by_dataset(spec_structure: Any,
                                     dataset_key: str) -> TensorSpecStruct:
  """Returns the specs read from one record stream (`dataset_key`)."""
  flat = flatten_spec_structure(spec_structure)
  return TensorSpecStruct([(path, spec)
                           for path, spec in flat.items()
                           if getattr(spec, 'dataset_key', '') == dataset_key])


def dataset_keys(spec_structure: Any) -> list:
  """Returns the distinct dataset keys of a spec structure, in order."""
  keys = []
  for spec in flatten_spec_structure(spec_structure).values():
    key = getattr(spec, 'dataset_key', '')
    if key not in keys:
      keys.append(key)
  return keys


def add_sequence_length_specs(spec_structure: Any) -> TensorSpecStruct:
  """Adds an int64 `<path>_length` spec for every sequence spec.

  The SequenceExample parser fills these with the number of timesteps each
  example has, so models can mask padded steps.

  Args:
    spec_structure: A spec structure.

  Returns:
    A new flat `TensorSpecStruct`: the input specs plus, after each sequence
    spec at `path` named `name`, a scalar int64 spec at `path + '_length'`
    named `name + '_length'`.

  Raises:
    SpecTypeError: If a leaf is not a spec.
  """
  result = TensorSpecStruct()
  for path, spec in flatten_tensor_specs(spec_structure).items():
    result[path] = spec
    if getattr(spec, 'is_sequence', False):
      name = spec_name(spec, path)
      result[path + '_length'] = ExtendedTensorSpec(
          shape=(),
          dtype=tf.int64,
          name=name + '_length',
          is_optional=spec.is_optional,
          dataset_key=spec.dataset_key)
  return result


def spec_name(spec: Any, path: str) -> str:
  """The name data uses for a spec: its `name`, or its path when unnamed."""
  name = getattr(spec, 'name', None)
  return name if name else path
