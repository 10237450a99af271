"""Encodes numpy values laid out like a spec into serialized records.

The inverse of `t2r.data.parsing`: the same `record_layout` decides the
record type (`tf.train.SequenceExample` for a stream with sequence specs,
else `tf.train.Example`) and the feature names, and every value is checked
against its spec before it is written, so bad data fails at the writer with a
message naming the spec, not later in the input pipeline.

Values describe one example (no batch dimension); sequence specs have a
leading time dimension. Images are given as pixels and stored JPEG/PNG
encoded per `data_format`. Dtypes a record cannot hold natively are stored
as float32 / int64 (`specs.record_dtype`): float64 values lose precision.

Nothing is stored other than what was given: a Python number outside the
spec dtype's range (300 for uint8, 2**40 for int32, 1e40 for float32), a
float64 beyond float32's range, a non-string for a string spec and an entry
under a key that no spec declares are errors, not wrapped or dropped values.
"""

import re
from typing import (AbstractSet, Any, Dict, FrozenSet, List, Mapping, Optional,
                    Sequence, Tuple)

import gin
import numpy as np
import tensorflow as tf

from t2r import specs
from t2r.data import parsing
from t2r.data import record_layout

# What TensorFlow wraps an op's error message in: node, record and op names.
_TF_OP_NOISE = re.compile(
    r'\{\{function_node [^}]*\}\}|Name: <unknown>, |\[Op:.*')


def _encode_images(pixels: np.ndarray, spec: Any, quality: int) -> List[bytes]:
  """Encodes (..., H, W, C) pixels into one JPEG/PNG string per image."""
  images = pixels.reshape((-1,) + pixels.shape[-3:])
  if spec.data_format == 'jpeg':
    return [tf.io.encode_jpeg(image, quality=quality).numpy()
            for image in images]
  return [tf.io.encode_png(image).numpy() for image in images]


def _to_bytes(value: Any) -> bytes:
  return value.encode('utf-8') if isinstance(value, str) else bytes(value)


def _describe(path: str, spec: Any) -> str:
  """"'state/image' (name 'image')" for messages; "'state'" if unnamed."""
  return f'{path!r} (name {spec.name!r})' if spec.name else repr(path)


def _at(array: np.ndarray, index: Sequence[int]) -> str:
  return f' at index {tuple(int(i) for i in index)}' if array.ndim else ''


def _feature(value: np.ndarray, spec: Any, quality: int) -> tf.train.Feature:
  """One `tf.train.Feature` holding one (timestep of a) value."""
  if specs.is_encoded_image_spec(spec):
    return tf.train.Feature(bytes_list=tf.train.BytesList(
        value=_encode_images(value, spec, quality)))
  dtype = specs.record_dtype(spec)
  if dtype == tf.string:
    return tf.train.Feature(bytes_list=tf.train.BytesList(
        value=[_to_bytes(v) for v in value.reshape(-1)]))
  if dtype == tf.float32:
    return tf.train.Feature(float_list=tf.train.FloatList(
        value=value.reshape(-1).astype(np.float32).tolist()))
  return tf.train.Feature(int64_list=tf.train.Int64List(
      value=value.reshape(-1).astype(np.int64).tolist()))


def _kind(dtype: tf.DType) -> str:
  if dtype == tf.bool:
    return 'bool'
  return 'int' if dtype.is_integer else 'float'


def _python_kind(array: np.ndarray) -> Optional[str]:
  """The kind of an array made from Python values; None if not numeric.

  Python ints beyond 64 bits make an object array; they count as ints.
  """
  if array.dtype == object:
    is_int = all(
        isinstance(v, int) and not isinstance(v, bool) for v in array.flat)
    return 'int' if is_int else None
  try:
    return _kind(tf.as_dtype(array.dtype))
  except TypeError:
    return None


def _check_in_range(path: str, spec: Any, array: np.ndarray, dtype: tf.DType,
                    fix: str):
  """Raises ValueError if a finite value of `array` does not fit `dtype`.

  Args:
    path: The spec's path, for the message.
    spec: The spec, for the message.
    array: Numeric values (ints of any size, or floats).
    dtype: The integer or floating dtype the values are cast to.
    fix: How to fix it, the end of the message.
  """
  if dtype.is_integer:
    outside = (array < dtype.min) | (array > dtype.max)
    holds = f'{dtype.name} values in [{dtype.min}, {dtype.max}]'
  else:
    finite = np.isfinite(array) if array.dtype.kind == 'f' else True
    outside = finite & (np.abs(array) > dtype.max)
    holds = (f'{dtype.name} values of magnitude at most '
             f'{float(dtype.max):.8g}')
  if not np.any(outside):
    return
  index = np.argwhere(outside)[0]
  value = array[tuple(index)]
  value = value.item() if isinstance(value, np.generic) else value
  stored = '' if dtype.is_integer else ' (it would be stored as inf)'
  raise ValueError(
      f'Spec {_describe(path, spec)} holds {holds}, but got {value!r}'
      f'{_at(array, index)}{stored}: {fix}.')


def _check_strings(path: str, spec: Any, array: np.ndarray):
  """Raises TypeError unless every element is a str or bytes."""
  for index, value in np.ndenumerate(array):
    if not isinstance(value, (str, bytes)):
      raise TypeError(
          f'Spec {_describe(path, spec)} holds strings (str or bytes), but '
          f'got {type(value).__name__} {value!r}{_at(array, index)}: convert '
          'it, e.g. str(value), or change the spec dtype.')


def _as_array(path: str, spec: Any, value: Any) -> np.ndarray:
  """Converts a value to numpy; Python numbers and lists take the spec dtype.

  Numpy arrays and tensors keep their dtype (a float64 array for a float32
  spec is an error), but a Python float has no width, so `[0.5, 1.0]` is
  accepted for any float spec, and Python ints for int and float specs, as
  long as the spec dtype holds them.

  Raises:
    ValueError: For a Python number that the spec dtype cannot hold.
    TypeError: For a non-string value of a string spec.
  """
  if spec.dtype == tf.string:
    array = np.asarray(value, dtype=object)
    _check_strings(path, spec, array)
    return array
  array = np.asarray(value)
  if isinstance(value, (np.ndarray, np.generic, tf.Tensor)):
    return array
  kind, spec_kind = _python_kind(array), _kind(spec.dtype)
  if array.size and kind != spec_kind and (kind, spec_kind) != ('int',
                                                                 'float'):
    return array  # `_check` reports the dtype.
  if spec_kind != 'bool':
    _check_in_range(
        path, spec, array, spec.dtype,
        "clip or rescale the values, or change the spec's dtype")
  return array.astype(spec.dtype.as_numpy_dtype)


def _prepare(path: str, spec: Any, value: Any) -> Any:
  """Returns the value as numpy (a list per timestep for ragged sequences).

  Raises:
    ValueError: Unless the value fits the spec and the record can store it.
    TypeError: For a non-string value of a string spec.
  """
  if spec.is_sequence and spec.varlen_default_value is not None:
    # Each timestep holds its own list, of any length.
    step_spec = specs.ExtendedTensorSpec.from_spec(spec, is_sequence=False)
    return [
        _prepare(f'{path}[{step}]', step_spec, step_value)
        for step, step_value in enumerate(value)
    ]
  array = _as_array(path, spec, value)
  _check(path, spec, array)
  if spec.dtype == tf.float64:
    _check_in_range(
        path, spec, array, tf.float32,
        'records store floats as float32; rescale the values')
  return array


def _find_value(values: Any, path: str) -> Any:
  """Returns the value at a spec path of a nested or flat structure, or None.

  Only the spec's path is followed, so a leaf given as a Python list (a
  variable-length list) is taken whole rather than flattened.
  """
  parts = path.split('/')
  node, start = values, 0
  while start < len(parts):
    if isinstance(node, Mapping):
      # Flat keys ('a/b') and nested dicts ({'a': {'b': ...}}) both work.
      for end in range(len(parts), start, -1):
        key = '/'.join(parts[start:end])
        if key in node:
          node, start = node[key], end
          break
      else:
        return None
    elif isinstance(node, tuple) and hasattr(node, '_fields'):
      node, start = getattr(node, parts[start], None), start + 1
    elif isinstance(node, (list, tuple)) and parts[start].isdigit() and int(
        parts[start]) < len(node):
      node, start = node[int(parts[start])], start + 1
    else:
      return None
  return node


def _top_level_keys(values: Any) -> List[str]:
  if isinstance(values, Mapping):
    return sorted(str(key) for key in values)
  return list(getattr(values, '_fields', []))


def _children(node: Any) -> Optional[List[Tuple[str, Any]]]:
  """The (key, child) entries of a container of values; None for a leaf."""
  if isinstance(node, Mapping):
    return [(str(key), child) for key, child in node.items()]
  if isinstance(node, tuple) and hasattr(node, '_fields'):
    return list(zip(node._fields, node))
  if isinstance(node, (list, tuple)):
    return [(str(index), child) for index, child in enumerate(node)]
  return None


def _undeclared_paths(node: Any,
                      paths: AbstractSet[str],
                      prefixes: AbstractSet[str],
                      prefix: str = '') -> List[str]:
  """The paths of the entries of `node` that lead to no spec path.

  Args:
    node: Values laid out like a spec structure (see `_find_value`).
    paths: The spec paths.
    prefixes: Every proper prefix of a spec path ('a' and 'a/b' of 'a/b/c').
    prefix: The path of `node`, ending in '/' unless empty.

  Returns:
    The undeclared paths, in the order of the values.
  """
  undeclared = []
  for key, child in _children(node) or []:
    path = prefix + key
    if path in paths:
      continue
    if path in prefixes and _children(child) is not None:
      undeclared += _undeclared_paths(child, paths, prefixes, path + '/')
    else:
      undeclared.append(path)
  return undeclared


def _proper_prefixes(paths: AbstractSet[str]) -> FrozenSet[str]:
  return frozenset('/'.join(parts[:end])
                   for parts in (path.split('/') for path in paths)
                   for end in range(1, len(parts)))


def _check(path: str, spec: Any, value: np.ndarray):
  """Raises ValueError unless the value fits the spec (any list length)."""
  if spec.varlen_default_value is not None:
    # Lists of any length are stored as given; the parser pads or clips.
    spec = tf.TensorSpec([None] + spec.shape.as_list()[1:], spec.dtype,
                         spec.name)
  expected = tf.TensorShape([None] if getattr(spec, 'is_sequence', False) else
                           []).concatenate(spec.shape)
  if value.ndim == expected.rank + 1 and expected.is_compatible_with(
      value.shape[1:]):
    raise ValueError(
        f'Spec {_describe(path, spec)} expects one example of shape '
        f'{tuple(expected.as_list())} but got {value.shape}, which looks like '
        'a batch: encode one example per record.')
  specs.check_value_matches_spec(path, spec, value)


@gin.configurable
class ExampleEncoder:
  """Serializes values to the records `create_parse_tf_example_fn` reads.

  It takes the same `(feature_spec, label_spec)` as the parser, so unnamed
  specs (stored under their path) get the same names on both sides. With
  several dataset keys each key is its own record stream: `encode` writes
  the specs of one key, `encode_by_dataset_key` all of them.

  Example:
    >>> encoder = ExampleEncoder(feature_spec, label_spec)
    >>> record = encoder.encode({'image': pixels, 'state': state},
    ...                         {'reward': reward})
    >>> parse_fn = parsing.create_parse_tf_example_fn(feature_spec,
    ...                                               label_spec)
    >>> features, labels = parse_fn([record])

  Args:
    feature_spec: The feature spec structure.
    label_spec: The label spec structure, or None. Specs sharing a name with
      a feature spec are written once.
    jpeg_quality: JPEG quality (0-100) of `data_format='jpeg'` images.

  Raises:
    ValueError: If the specs cannot be stored (see
      `record_layout.stream_layouts`), a JPEG spec has other than 1 or 3
      channels, or `jpeg_quality` is out of range.
  """

  def __init__(self,
               feature_spec: Any,
               label_spec: Any = None,
               jpeg_quality: int = 95):
    if not 0 <= int(jpeg_quality) <= 100:
      raise ValueError(f'jpeg_quality must be in [0, 100], got {jpeg_quality}.')
    self._jpeg_quality = int(jpeg_quality)
    flat_specs = record_layout.flat_feature_and_label_specs(
        feature_spec, label_spec)
    self._layouts = record_layout.stream_layouts(flat_specs)
    # Per structure: the spec paths and their proper prefixes.
    self._declared = {}
    for structure, flat in flat_specs:
      paths = frozenset(flat.keys())
      self._declared[structure] = (paths, _proper_prefixes(paths))
    self._parse_fn = parsing.create_parse_tf_example_fn(
        feature_spec, label_spec)
    for layout in self._layouts.values():
      for name, spec in layout.specs_by_name.items():
        if spec.data_format == 'jpeg' and spec.shape[-1] not in (1, 3):
          raise ValueError(
              f'Spec {layout.describe(name)} stores JPEG images with '
              f'{spec.shape[-1]} channels; JPEG holds 1 or 3. Use '
              "data_format='png' or change the channels.")

  @property
  def dataset_keys(self) -> List[str]:
    """The record streams the specs write, in order."""
    return list(self._layouts)

  def _values_by_name(self, values_by_structure: Dict[str, Any],
                      layout: record_layout.StreamLayout) -> Dict[str, Any]:
    """Picks, checks and converts the value of every name of a stream."""
    result = {}
    for name, spec in layout.specs_by_name.items():
      given = []
      for structure, path in layout.paths_by_name[name]:
        value = _find_value(values_by_structure[structure], path)
        if value is not None:
          given.append((structure, path, value))
      if not given:
        if spec.is_optional:
          continue
        received = {
            structure: _top_level_keys(values)
            for structure, values in values_by_structure.items()
        }
        raise ValueError(
            f'Required spec {layout.describe(name)} has no value; received '
            f'keys {received}. Provide it or declare the spec '
            'is_optional=True.')
      structure, path, value = given[0]
      value = _prepare(path, spec, value)
      for other_structure, other_path, other in given[1:]:
        if not np.array_equal(value, _prepare(other_path, spec, other)):
          raise ValueError(
              f'Specs {record_layout.describe_path(structure, path)} and '
              f'{record_layout.describe_path(other_structure, other_path)} '
              f'share the name {name!r}, so the record stores one value, but '
              'they were given different values. Pass equal values or rename '
              'one spec.')
      result[name] = value
    return result

  def _check_declared(self, values_by_structure: Dict[str, Any]):
    """Raises ValueError for values under keys that no spec declares."""
    for structure, values in values_by_structure.items():
      paths, prefixes = self._declared.get(structure,
                                           (frozenset(), frozenset()))
      undeclared = _undeclared_paths(values, paths, prefixes)
      if undeclared:
        known = (f'the specs declare the {structure} {sorted(paths)}'
                 if structure in self._declared else
                 'the encoder has no label_spec')
        raise ValueError(
            f'The {structure} given hold {undeclared}, which no spec '
            f'declares; {known}. '
            'Fix the key (a value under a misspelt key would be lost) or '
            'drop the entry.')

  def encode(self,
             features: Any,
             labels: Any = None,
             dataset_key: Optional[str] = None) -> bytes:
    """Returns one serialized record of the specs of one dataset key.

    Args:
      features: Numpy-compatible values laid out like the feature spec (a
        nested dict, namedtuple or `TensorSpecStruct`; flat 'a/b' keys work
        too). Optional specs may be absent (or None); an entry under a key
        that no spec declares is an error.
      labels: The same for the label spec, or None.
      dataset_key: The stream to encode; may be omitted when the specs use a
        single dataset key.

    Returns:
      A serialized `tf.train.SequenceExample` if the stream has sequence
      specs, else a serialized `tf.train.Example`.

    Raises:
      ValueError: If a required value is missing, a value's shape or dtype
        does not match its spec, a value is outside the range of its spec
        dtype (or of float32 for a float64 spec), an entry's key is not a
        spec path, or `dataset_key` is ambiguous or unknown.
      TypeError: For a non-string value of a string spec.
    """
    key = record_layout.single_dataset_key(self._layouts, dataset_key,
                                           'ExampleEncoder.encode')
    layout = self._layouts[key]
    values_by_structure = {
        record_layout.FEATURES: features,
        record_layout.LABELS: labels if labels is not None else {}
    }
    by_name = self._values_by_name(values_by_structure, layout)
    self._check_declared(values_by_structure)
    quality = self._jpeg_quality
    if not layout.is_sequence_example:
      return tf.train.Example(features=tf.train.Features(feature={
          name: _feature(value, layout.specs_by_name[name], quality)
          for name, value in by_name.items()
      })).SerializeToString()
    context, feature_lists = {}, {}
    for name, value in by_name.items():
      spec = layout.specs_by_name[name]
      if spec.is_sequence:
        feature_lists[name] = tf.train.FeatureList(
            feature=[_feature(step, spec, quality) for step in value])
      else:
        context[name] = _feature(value, spec, quality)
    return tf.train.SequenceExample(
        context=tf.train.Features(feature=context),
        feature_lists=tf.train.FeatureLists(
            feature_list=feature_lists)).SerializeToString()

  def encode_by_dataset_key(self,
                            features: Any,
                            labels: Any = None) -> Dict[str, bytes]:
    """Returns `{dataset_key: serialized record}` for every stream.

    Args:
      features: As in `encode`, holding the values of every stream.
      labels: As in `encode`.

    Returns:
      One serialized record per dataset key.
    """
    return {key: self.encode(features, labels, key) for key in self._layouts}


  def check_serialized(self,
                       records: Sequence[bytes],
                       dataset_key: Optional[str] = None):
    """Raises ValueError unless serialized records parse by the specs.

    They are parsed as the input pipeline parses them
    (`parsing.create_parse_tf_example_fn`, images decoded), so a record that
    passes is one a reader of these specs can read.

    Example:
      >>> encoder.check_serialized([example.SerializeToString()])

    Args:
      records: Serialized records of one stream.
      dataset_key: Their stream; may be omitted when the specs use a single
        dataset key.

    Raises:
      ValueError: If a record is not a record of the stream's type, lacks a
        required feature or holds one that does not parse by its spec (the
        message names the record's index and the feature), or `dataset_key`
        is ambiguous or unknown.
    """
    key = record_layout.single_dataset_key(self._layouts, dataset_key,
                                           'ExampleEncoder.check_serialized')
    try:
      self._parse_fn({
          stream: list(records) if stream == key else []
          for stream in self._layouts
      })
    except tf.errors.InvalidArgumentError as e:
      message = _TF_OP_NOISE.sub('', ' '.join(e.message.split()))
      message = message.strip().rstrip('.')
      raise ValueError(
          f'A serialized record does not parse by the specs: {message}. '
          'Write values laid out like the specs, or fix the record.') from e


def encode_example(feature_spec: Any,
                   features: Any,
                   label_spec: Any = None,
                   labels: Any = None,
                   jpeg_quality: int = 95,
                   dataset_key: Optional[str] = None) -> bytes:
  """Serializes one example; see `ExampleEncoder` (reuse one for many).

  Example:
    >>> record = encode_example(feature_spec, {'state': np.zeros(8, 'f4')})
  """
  return ExampleEncoder(feature_spec, label_spec, jpeg_quality).encode(
      features, labels, dataset_key)
