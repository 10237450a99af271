"""Exports t2r episode records as an RLDS dataset that TFDS loads.

An episode record is a `tf.train.SequenceExample` laid out by specs (e.g.
BC-Z's `get_bcz_episode_specs`): per-step specs (`is_sequence=True`) become
the episode's `steps`, per-episode (context) specs its episode-level
entries, at the keys of `t2r.data.rlds_layout` (`default_export_key`) or of
an explicit key map. Every step also gets RLDS's `is_first`, `is_last` and
`is_terminal`; every episode `episode_metadata/file_path` and
`episode_metadata/record_index`, the record it came from.

The dataset is written by TFDS itself (`store_as_tfds_dataset`, the adhoc
builder) into a temporary directory beside `output_dir` and renamed to
`output_dir` when complete, so a reader never sees a half-written dataset.
`tfds.builder_from_directory(output_dir)` then loads it, and
`RLDSInputGenerator(output_dir)` reads it back with the same specs.

tensorflow_datasets is imported on first use, so importing `t2r.data` stays
fast.
"""

import re
from typing import Any, Dict, Iterator, List, Mapping, Optional, Tuple, Union

from absl import logging
import gin
import numpy as np
import tensorflow as tf

from t2r import atomic_files
from t2r.data import file_patterns as file_patterns_lib
from t2r.data import parsing
from t2r.data import record_layout
from t2r.data import rlds_layout

FILE_PATH = 'episode_metadata/file_path'
RECORD_INDEX = 'episode_metadata/record_index'
_GENERATED_STEP_KEYS = (rlds_layout.IS_FIRST, rlds_layout.IS_LAST,
                        rlds_layout.IS_TERMINAL)
_IMAGE_ENCODINGS = ('png', 'jpeg')
_NAME = re.compile(r'^[a-z][a-z0-9_]*$')
_VERSION = re.compile(r'^\d+\.\d+\.\d+$')


class _Entry:
  """One exported spec: where it is read from and where it goes."""

  def __init__(self, name: str, spec: Any, key: str, described: str):
    self.name = name
    self.spec = spec
    self.key = key
    self.described = described
    self.is_sequence = bool(getattr(spec, 'is_sequence', False))
    self.paths = []  # (structure, path) pairs that read this name.


def _check_key(described: str, key: Any) -> str:
  if (not isinstance(key, str) or not key or key.startswith('/') or
      key.endswith('/') or key == rlds_layout.STEPS):
    raise ValueError(
        f'key_map entry for spec {described} must be an RLDS key path such '
        "as 'steps/observation/image' (per step) or 'episode_metadata/task' "
        f'(per episode); got {key!r}.')
  return key


def _plan(feature_spec: Any, label_spec: Any,
          key_map: Mapping[str, str]) -> List[_Entry]:
  """The exported specs, one entry per record name, with their keys.

  Raises:
    ValueError: For specs that are not one stream of SequenceExamples, a
      sequence spec mapped to a per-episode key, two specs on one key, a key
      that is both a value and a group, or a bad key_map.
  """
  flat_specs = record_layout.flat_feature_and_label_specs(feature_spec,
                                                          label_spec)
  rlds_layout.check_key_map_paths(key_map, flat_specs)
  layouts = record_layout.stream_layouts(flat_specs)
  if len(layouts) != 1:
    raise ValueError(
        f'export_rlds_dataset reads one record stream, but the specs use the '
        f'dataset keys {sorted(layouts)}; export each stream separately.')
  layout = next(iter(layouts.values()))
  if not layout.is_sequence_example:
    raise ValueError(
        'export_rlds_dataset exports episode records (SequenceExamples): '
        'declare the per-step specs with is_sequence=True; these specs hold '
        'one tf.train.Example per record.')
  entries = []
  for name, spec in layout.specs_by_name.items():
    structure, path = layout.paths_by_name[name][0]
    described = rlds_layout.describe_spec(structure, path, spec)
    mapped = [key_map[p] for _, p in layout.paths_by_name[name]
              if p in key_map]
    key = (_check_key(described, mapped[0]) if mapped else
           rlds_layout.default_export_key(path, spec))
    entry = _Entry(name, spec, key, described)
    entry.paths = layout.paths_by_name[name]
    if entry.is_sequence and not rlds_layout.is_step_key(key):
      raise ValueError(
          f'Spec {described} is per step (is_sequence=True) but is mapped '
          f"to the per-episode key {key!r}; map it to a 'steps/...' key.")
    if key in _GENERATED_STEP_KEYS and not (entry.is_sequence and
                                            spec.dtype == tf.bool and
                                            spec.shape.rank == 0):
      raise ValueError(
          f'Spec {described} is mapped to {key!r}, which RLDS defines as a '
          'per-step bool scalar; declare it so (is_sequence=True, shape (), '
          'bool) or map it elsewhere.')
    entries.append(entry)
  _check_keys_distinct(entries)
  return entries


def _check_keys_distinct(entries: List[_Entry], reserved: Tuple[str, ...] = ()):
  """Raises ValueError if two entries share a key or nest inside another."""
  owners = {key: 'the exporter' for key in reserved}
  for entry in entries:
    if entry.key in owners:
      raise ValueError(
          f'Specs {owners[entry.key]} and {entry.described} would both be '
          f'written to {entry.key!r}; map one of them elsewhere with '
          'key_map.')
    owners[entry.key] = entry.described
  keys = sorted(owners)
  for key in keys:
    for other in keys:
      if other.startswith(key + '/'):
        raise ValueError(
            f'{key!r} ({owners[key]}) cannot be a value and hold '
            f'{other!r} ({owners[other]}) too; map one of them elsewhere '
            'with key_map.')


def _feature(spec: Any, image_encoding: str) -> Any:
  """The TFDS feature that stores one spec's values losslessly."""
  tfds = rlds_layout.import_tfds()
  shape = tuple(spec.shape.as_list())
  if (spec.dtype in (tf.uint8, tf.uint16) and len(shape) == 3 and
      shape[-1] in (1, 3, 4)):
    encoding = 'png' if spec.dtype == tf.uint16 else image_encoding
    return tfds.features.Image(shape=shape, dtype=spec.dtype.as_numpy_dtype,
                               encoding_format=encoding)
  if spec.dtype == tf.string:
    return (tfds.features.Text() if not shape else
            tfds.features.Tensor(shape=shape, dtype=tf.string))
  return tfds.features.Tensor(shape=shape, dtype=spec.dtype.as_numpy_dtype)


def _nest(flat: Mapping[str, Any]) -> Dict[str, Any]:
  """{'a/b': x} -> {'a': {'b': x}}."""
  nested = {}
  for key, value in flat.items():
    node = nested
    *parents, leaf = key.split('/')
    for part in parents:
      node = node.setdefault(part, {})
    node[leaf] = value
  return nested


def _features_dict(flat: Mapping[str, Any]) -> Any:
  """A nested TFDS FeaturesDict from {'a/b': feature}."""
  features_dict = rlds_layout.import_tfds().features.FeaturesDict

  def build(node):
    return features_dict({key: build(value) if isinstance(value, dict)
                          else value for key, value in node.items()})

  return build(_nest(flat))


def _tfds_features(entries: List[_Entry], image_encoding: str,
                   write_source: bool) -> Any:
  """The episode's FeaturesDict: {'steps': Dataset(...), episode keys}."""
  tfds = rlds_layout.import_tfds()
  step_features = {key: tfds.features.Scalar(dtype=np.bool_)
                   for key in _GENERATED_STEP_KEYS}
  episode_features = {}
  if write_source:
    episode_features[FILE_PATH] = tfds.features.Text()
    episode_features[RECORD_INDEX] = tfds.features.Scalar(dtype=np.int64)
  for entry in entries:
    feature = _feature(entry.spec, image_encoding)
    if rlds_layout.is_step_key(entry.key):
      step_features[entry.key] = feature
    else:
      episode_features[entry.key] = feature
  prefix = len(rlds_layout.STEP_PREFIX)
  steps = _features_dict({key[prefix:]: feature
                          for key, feature in step_features.items()})
  return _features_dict({**episode_features,
                         rlds_layout.STEPS: tfds.features.Dataset(steps)})


class _EpisodeReader:
  """Parses episode records one at a time into RLDS episode dicts."""

  def __init__(self, feature_spec: Any, label_spec: Any,
               entries: List[_Entry], present: frozenset,
               optional_names: set, last_step_is_terminal: bool,
               write_source: bool):
    self._feature_spec = feature_spec
    self._label_spec = label_spec
    self._entries = entries
    self._present = present
    self._optional_names = set(optional_names)
    self._last_step_is_terminal = last_step_is_terminal
    self._write_source = write_source
    self._parse_fn = parsing.create_parse_tf_example_fn(
        feature_spec, label_spec, present_optional_names=present)

  def episode(self, record: bytes, filename: str,
              index: int) -> Dict[str, Any]:
    """The RLDS episode of one record (nested dicts of numpy values).

    Raises:
      ValueError: If the record does not parse by the specs, holds other
        optional specs than the first record, has per-step specs of
        different lengths or no step.
    """
    where = f'record {index} of {filename}'
    present = parsing.optional_names_present_in_record(
        record, self._feature_spec, self._label_spec,
        source_description=where) & self._optional_names
    if present != self._present:
      raise ValueError(
          f'{where} holds the optional specs {sorted(present)} but the first '
          f'record holds {sorted(self._present)}; an RLDS dataset has one '
          'feature set for all episodes. Export the records separately or '
          'drop the optional specs.')
    try:
      features, labels = self._parse_fn(tf.constant([record]))
    except (ValueError, tf.errors.InvalidArgumentError) as e:
      raise ValueError(f'{where} does not parse by the specs: {e}') from e
    parsed = {record_layout.FEATURES: features, record_layout.LABELS: labels}
    step_values, episode_values, lengths = {}, {}, {}
    for entry in self._entries:
      if entry.name not in present and getattr(entry.spec, 'is_optional',
                                               False):
        continue
      structure, path = entry.paths[0]
      value = parsed[structure][path][0]
      if entry.is_sequence:
        length = int(parsed[structure][path + record_layout.LENGTH_SUFFIX][0])
        lengths[entry.described] = length
        step_values[entry.key] = value[:length].numpy()
      elif rlds_layout.is_step_key(entry.key):
        step_values[entry.key] = value.numpy()  # Repeated on every step.
      else:
        episode_values[entry.key] = value.numpy()
    if len(set(lengths.values())) > 1:
      raise ValueError(
          f'{where}: the per-step specs have different lengths {lengths}; '
          'every RLDS step holds all of them.')
    num_steps = next(iter(lengths.values()))
    if not num_steps:
      raise ValueError(f'{where} has no step; an RLDS episode needs one.')
    prefix = len(rlds_layout.STEP_PREFIX)
    steps = []
    for t in range(num_steps):
      step = {rlds_layout.IS_FIRST: t == 0,
              rlds_layout.IS_LAST: t == num_steps - 1,
              rlds_layout.IS_TERMINAL: (self._last_step_is_terminal and
                                        t == num_steps - 1)}
      for entry in self._entries:
        if entry.key not in step_values:
          continue
        values = step_values[entry.key]
        step[entry.key] = values[t] if entry.is_sequence else values
      steps.append(_nest({key[prefix:]: value for key, value in step.items()}))
    if self._write_source:
      episode_values[FILE_PATH] = filename
      episode_values[RECORD_INDEX] = np.int64(index)
    return {**_nest(episode_values), rlds_layout.STEPS: steps}


def _records(filenames: List[str],
             compression_type: Optional[str]) -> Iterator[Tuple[bytes, str,
                                                                int]]:
  """Yields (record, file name, index in the file), in file order."""
  for filename in filenames:
    compression = (compression_type if compression_type is not None else
                   file_patterns_lib.detect_compression_type(filename))
    for index, record in enumerate(
        tf.data.TFRecordDataset(filename, compression)):
      yield record.numpy(), filename, index


def _split_files(file_patterns: Union[str, Mapping[str, str]]
                ) -> Dict[str, List[str]]:
  if isinstance(file_patterns, str):
    file_patterns = {'train': file_patterns}
  if not isinstance(file_patterns, Mapping) or not file_patterns:
    raise ValueError(
        'file_patterns must be a comma-separated glob string (the train '
        'split) or a non-empty dict {split name: globs}, got '
        f'{file_patterns!r}.')
  files = {}
  for split, patterns in file_patterns.items():
    if not isinstance(split, str) or not _NAME.match(split):
      raise ValueError(f'Split names are lower-case identifiers such as '
                       f"'train' or 'val', got {split!r}.")
    _, files[split] = file_patterns_lib.get_data_format_and_filenames(
        patterns)
  return files


def _first_present(files: Dict[str, List[str]], feature_spec: Any,
                   label_spec: Any, compression_type: Optional[str],
                   optional_names: set) -> frozenset:
  """The optional spec names of the first record (the dataset's features)."""
  split, filenames = next(iter(files.items()))
  for record, filename, index in _records(filenames, compression_type):
    return parsing.optional_names_present_in_record(
        record, feature_spec, label_spec,
        source_description=f'record {index} of {filename}'
    ) & optional_names
  raise ValueError(
      f'The files of split {split!r} hold no record: {filenames[:5]}. An '
      'RLDS split needs at least one episode.')


def _replace_directory(source: str, destination: str, overwrite: bool):
  """Renames `source` onto `destination` (moving an old one out first)."""
  previous = None
  if tf.io.gfile.exists(destination):
    if not overwrite:
      raise FileExistsError(
          f'{destination!r} exists; pass overwrite=True to replace it.')
    previous = atomic_files.temporary_path(destination)
    tf.io.gfile.rename(destination, previous)
  tf.io.gfile.rename(source, destination)
  if previous is not None:
    tf.io.gfile.rmtree(previous)


@gin.configurable
def export_rlds_dataset(output_dir: str,
                        file_patterns: Union[str, Mapping[str, str]],
                        feature_spec: Any,
                        label_spec: Any = None,
                        key_map: Optional[Mapping[str, str]] = None,
                        name: str = 't2r_episodes',
                        version: str = '1.0.0',
                        description: Optional[str] = None,
                        image_encoding: str = 'png',
                        last_step_is_terminal: bool = True,
                        keep_order: bool = False,
                        write_source: bool = True,
                        compression_type: Optional[str] = None,
                        overwrite: bool = False) -> str:
  """Writes episode records as an RLDS dataset in a TFDS builder directory.

  Example:
    >>> episode_spec = bcz_specs.get_bcz_episode_specs()
    >>> export_rlds_dataset('/data/bcz_rlds', '/data/bcz/demos-*.tfrecord',
    ...                     episode_spec.features, episode_spec.labels)
    '/data/bcz_rlds'
    >>> episodes = tfds.builder_from_directory('/data/bcz_rlds').as_dataset(
    ...     split='train')
    >>> next(iter(episodes))['steps']          # a dataset of steps
    >>> # steps/observation/image, steps/observation/proprioception,
    >>> # steps/action, steps/is_first, ...; episode_metadata/task_id, ...

  Args:
    output_dir: The builder directory to create (it must not exist unless
      `overwrite`); any `tf.io.gfile` filesystem.
    file_patterns: Comma-separated globs of the records (the 'train' split),
      or `{split: globs}` for several splits.
    feature_spec: The feature spec structure the records were written with.
    label_spec: The label spec structure, or None.
    key_map: `{spec path: RLDS key}` replacing the default keys
      (`rlds_layout.default_export_key`), e.g. `{'features/task':
      'steps/language_instruction'}`: a per-episode spec at a per-step key
      is repeated on every step.
    name: The TFDS dataset name (lower-case identifier).
    version: The dataset version, 'X.Y.Z'.
    description: The dataset description; None names the source patterns.
    image_encoding: How uint8 images (H, W, 1|3|4) are stored: 'png'
      (lossless, the default: values read back equal what the records
      decoded to) or 'jpeg' (smaller, lossy). uint16 images are PNG.
    last_step_is_terminal: `is_terminal` of each episode's last step (True:
      the episode ended in a terminal state, as a finished demonstration;
      False: it was cut off).
    keep_order: Store the episodes in record order (TFDS `disable_shuffling`;
      readers then cannot shuffle files). False lets TFDS shuffle them, as
      it does by default.
    write_source: Add `episode_metadata/file_path` and
      `episode_metadata/record_index` (where each episode came from).
    compression_type: '', 'GZIP', 'ZLIB' or None (detect from each file).
    overwrite: Replace an existing `output_dir` (the old one is removed
      after the new one is in place).

  Returns:
    `output_dir`, now loadable with `tfds.builder_from_directory`.

  Raises:
    ValueError: For bad arguments, specs that do not describe one stream of
      episode records, a bad key map, a split without records, or a record
      that does not parse by the specs or whose optional specs differ from
      the first record's.
    FileExistsError: If `output_dir` exists and `overwrite` is False.
  """
  tfds = rlds_layout.import_tfds()
  if not isinstance(output_dir, str) or not output_dir:
    raise ValueError(f'output_dir must be a directory path, got '
                     f'{output_dir!r}.')
  output_dir = output_dir.rstrip('/')
  if not isinstance(name, str) or not _NAME.match(name):
    raise ValueError(f'name must be a lower-case identifier such as '
                     f"'t2r_episodes' (a TFDS dataset name), got {name!r}.")
  if not isinstance(version, str) or not _VERSION.match(version):
    raise ValueError(f"version must be 'X.Y.Z' such as '1.0.0', got "
                     f'{version!r}.')
  if image_encoding not in _IMAGE_ENCODINGS:
    raise ValueError(f'image_encoding must be one of '
                     f'{list(_IMAGE_ENCODINGS)}, got {image_encoding!r}.')
  if key_map is not None and not isinstance(key_map, Mapping):
    raise ValueError(f'key_map must be a dict {{spec path: RLDS key}}, got '
                     f'{key_map!r}.')
  if tf.io.gfile.exists(output_dir) and not overwrite:
    raise FileExistsError(
        f'{output_dir!r} exists; pass overwrite=True to replace it.')
  files = _split_files(file_patterns)
  entries = _plan(feature_spec, label_spec, dict(key_map or {}))
  optional_names = {entry.name for entry in entries
                    if getattr(entry.spec, 'is_optional', False)}
  present = _first_present(files, feature_spec, label_spec, compression_type,
                           optional_names)
  entries = [entry for entry in entries
             if entry.name not in optional_names or entry.name in present]
  _check_keys_distinct(entries,
                       (FILE_PATH, RECORD_INDEX) if write_source else ())
  reader = _EpisodeReader(feature_spec, label_spec, entries, present,
                          optional_names, last_step_is_terminal, write_source)

  def examples(filenames):
    file_index = {filename: i for i, filename in enumerate(filenames)}
    for record, filename, index in _records(filenames, compression_type):
      yield (f'{file_index[filename]:05d}-{index:09d}',
             reader.episode(record, filename, index))

  temp_dir = atomic_files.temporary_path(output_dir)
  try:
    builder = tfds.dataset_builders.store_as_tfds_dataset(
        name=name,
        version=version,
        features=_tfds_features(entries, image_encoding, write_source),
        split_datasets={split: examples(filenames)
                        for split, filenames in files.items()},
        data_dir=temp_dir,
        description=description or (
            f'Episodes exported by t2r.data.rlds_export from {file_patterns}.'),
        release_notes={version: 'Exported from t2r episode records.'},
        disable_shuffling=keep_order)
    _replace_directory(str(builder.data_dir), output_dir, overwrite)
  finally:
    if tf.io.gfile.exists(temp_dir):
      tf.io.gfile.rmtree(temp_dir)
  logging.info('Exported %s as an RLDS dataset to %s.', file_patterns,
               output_dir)
  return output_dir
