"""Which record stream holds which spec, and in which kind of record.

The parser and the encoder derive the same layout from the specs, so what one
writes the other reads:

* specs are grouped by `dataset_key`: each key is its own stream of records;
* a stream holds `tf.train.SequenceExample`s if any of its specs
  `is_sequence`, else `tf.train.Example`s;
* a spec is stored under its name (`specs.spec_name`); specs that share a
  name (e.g. the same spec in features and labels) are stored once;
* a `<path>_length` spec that `specs.add_sequence_length_specs` added for a
  sequence spec at `<path>` is not stored: the parser computes it.
"""

from typing import Any, Dict, List, NamedTuple, Optional, Tuple

import tensorflow as tf

from t2r import specs

LENGTH_SUFFIX = '_length'
FEATURES = 'features'
LABELS = 'labels'


class StreamLayout(NamedTuple):
  """The specs stored in one record stream.

  Attributes:
    dataset_key: The stream's key ('' is the default stream).
    is_sequence_example: Records are `tf.train.SequenceExample`s.
    specs_by_name: The stored specs (`ExtendedTensorSpec`s, plain
      `tf.TensorSpec`s converted), keyed by the name used in the records.
    paths_by_name: Every (structure, path) that reads each name; structure
      is 'features' or 'labels'.
  """
  dataset_key: str
  is_sequence_example: bool
  specs_by_name: Dict[str, Any]
  paths_by_name: Dict[str, List[Tuple[str, str]]]

  def describe(self, name: str) -> str:
    """Returns e.g. "'state/image' (name 'image')" for messages."""
    return f'{_describe_paths(self.paths_by_name[name])} (name {name!r})'


def describe_path(structure: str, path: str) -> str:
  """"'a'" for a feature path, "'a' in labels" for a label path."""
  return repr(path) + ('' if structure == FEATURES else f' in {structure}')


def _describe_paths(paths: List[Tuple[str, str]]) -> str:
  return ', '.join(describe_path(structure, path) for structure, path in paths)


def is_derived_length(flat_spec: Any, path: str) -> bool:
  """True if `path` is the `_length` spec of a sequence spec in `flat_spec`."""
  if not path.endswith(LENGTH_SUFFIX):
    return False
  sequence_spec = flat_spec.get(path[:-len(LENGTH_SUFFIX)])
  return bool(getattr(sequence_spec, 'is_sequence', False))


def flat_feature_and_label_specs(feature_spec: Any,
                                 label_spec: Any) -> List[Tuple[str, Any]]:
  """Returns `[(FEATURES, flat features), (LABELS, flat labels)]`.

  The label entry is left out when `label_spec` is None.
  """
  flat = [(FEATURES, specs.flatten_spec_structure(feature_spec))]
  if label_spec is not None:
    flat.append((LABELS, specs.flatten_spec_structure(label_spec)))
  return flat


def _check_storable(path: str, spec: Any):
  """Raises TypeError or ValueError for a spec that records cannot hold."""
  if not isinstance(spec, tf.TensorSpec):
    raise TypeError(f'Spec structure leaf {path} is a {type(spec).__name__}; '
                    'expected a tf.TensorSpec or ExtendedTensorSpec.')
  specs.record_dtype(spec)  # Raises TypeError for dtypes records cannot hold.
  if not spec.shape.is_fully_defined():
    shape = (
        tuple(spec.shape.as_list()) if spec.shape.rank is not None else None)
    raise ValueError(
        f'Spec {path} (name {spec.name!r}) has shape {shape}; records store '
        'fixed-size tensors, so every dimension must be known. '
        'Declare varlen_default_value to pad a variable-length list, or '
        'is_sequence=True for a per-timestep feature.')


def _same_storage(a: specs.ExtendedTensorSpec,
                  b: specs.ExtendedTensorSpec) -> bool:
  """True if both specs are stored and parsed alike (names aside)."""
  return (a == b and a.data_format == b.data_format and
          a.is_sequence == b.is_sequence and
          a.varlen_default_value == b.varlen_default_value)


def stream_layouts(
    flat_specs: List[Tuple[str, Any]]) -> Dict[str, StreamLayout]:
  """Returns the layout of every record stream the specs read.

  Example:
    >>> layouts = stream_layouts(
    ...     flat_feature_and_label_specs(feature_spec, label_spec))
    >>> layouts[''].is_sequence_example
    False

  Args:
    flat_specs: (structure, flat `TensorSpecStruct`) pairs, as returned by
      `flat_feature_and_label_specs`.

  Returns:
    A `StreamLayout` per dataset key, in order of first appearance.

  Raises:
    ValueError: If two specs share a name but differ, or a shape is not fully
      defined.
    TypeError: If a leaf is not a spec or has a dtype records cannot hold.
  """
  layouts = {}
  for structure, flat in flat_specs:
    for path, spec in flat.items():
      if is_derived_length(flat, path):
        continue
      entry = (structure, path)
      full_path = describe_path(structure, path)
      _check_storable(full_path, spec)
      spec = specs.ExtendedTensorSpec.from_spec(spec)
      key = spec.dataset_key
      if key not in layouts:
        layouts[key] = StreamLayout(key, False, {}, {})
      layout = layouts[key]
      name = specs.spec_name(spec, path)
      if name in layout.specs_by_name:
        if not _same_storage(layout.specs_by_name[name], spec):
          raise ValueError(
              f'Specs {layout.describe(name)} and {full_path} share the '
              f'name {name!r} but differ: {layout.specs_by_name[name]!r} vs '
              f'{spec!r}. The name is the key in the records; give one of '
              'them another name.')
        layout.paths_by_name[name].append(entry)
      else:
        layout.specs_by_name[name] = spec
        layout.paths_by_name[name] = [entry]
  return {
      key: layout._replace(is_sequence_example=any(
          spec.is_sequence for spec in layout.specs_by_name.values()))
      for key, layout in layouts.items()
  }


def single_dataset_key(layouts: Dict[str, StreamLayout],
                       dataset_key: Optional[str], what: str) -> str:
  """Resolves the stream a caller means when it may omit `dataset_key`.

  Args:
    layouts: The streams of the specs.
    dataset_key: The key the caller passed, or None.
    what: The caller, for the error message.

  Returns:
    `dataset_key`, or the only key when it is None.

  Raises:
    ValueError: If the key is unknown, or None while there are several.
  """
  if dataset_key is None:
    if len(layouts) != 1:
      raise ValueError(
          f'{what}: the specs read several record streams '
          f'(dataset_keys {list(layouts)}); pass dataset_key to say which.')
    return next(iter(layouts))
  if dataset_key not in layouts:
    raise ValueError(f'{what}: dataset_key {dataset_key!r} is not used by any '
                     f'spec; the specs use {list(layouts)}.')
  return dataset_key
