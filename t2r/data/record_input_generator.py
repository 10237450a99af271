"""`DefaultRecordInputGenerator`: the spec-derived pipeline over TFRecords.

  files (shuffled in TRAIN) -> parallel interleave of TFRecord readers
  -> shuffle + repeat -> batch serialized records -> parse + decode (one
  batched parse per batch) -> preprocess(mode) -> prefetch

Records carry where they came from ('record 7 of /data/a.tfrecord') through
the pipeline, so a damaged file, a corrupt record or an undecodable image
fails naming its file, record and feature (or is skipped and counted with
`skip_corrupt_records=True`); the checks cost the fast path a few percent of
CPU at most (see benchmarks/input_pipeline.py). No stage calls back into
Python, so a failing job always exits (see `corrupt_record_log`).
"""

import os
from typing import Dict, Iterator, List, Optional, Tuple

from absl import logging
import gin
import tensorflow as tf

from t2r import specs
from t2r.data import abstract_input_generator
from t2r.data import corrupt_record_log
from t2r.data import file_patterns as file_patterns_lib
from t2r.data import guarded_parsing
from t2r.data import parsing
from t2r.data import record_reading
from t2r.modes import ModeKeys

_COMPRESSION_TYPES = (None, '', 'GZIP', 'ZLIB')


def check_reader_arguments(compression_type: Optional[str],
                           **positive_or_none: Optional[int]):
  """Checks a record reader's compression type and positive int arguments.

  Example:
    >>> check_reader_arguments('GZIP', num_epochs=None, cycle_length=4)

  Args:
    compression_type: None, '', 'GZIP' or 'ZLIB'.
    **positive_or_none: {argument name: value}, each None or an int > 0.

  Raises:
    ValueError: Naming the first bad argument and its value.
  """
  for name, value in positive_or_none.items():
    if value is not None and (isinstance(value, bool) or
                              not isinstance(value, int) or value <= 0):
      raise ValueError(f'{name} must be a positive int or None, got '
                       f'{value!r}.')
  if compression_type not in _COMPRESSION_TYPES:
    raise ValueError(
        f'compression_type must be one of {list(_COMPRESSION_TYPES)}, got '
        f'{compression_type!r}.')
# Files an error message lists by name.
_FILES_SHOWN = 5
# Records skip mode reads at most to find a good one for the optional specs.
_RECORDS_PROBED = 1000


def _num_cpus() -> int:
  return max(2, len(os.sched_getaffinity(0)) if hasattr(
      os, 'sched_getaffinity') else os.cpu_count() or 2)


def _records_in_order(filenames: List[str], compression_type: str,
                      skip_corrupt: bool) -> Iterator[Tuple[bytes, str]]:
  """Yields (record, file name) in file order, eagerly.

  Raises:
    ValueError: For a damaged file (unless skip_corrupt: its rest is
      skipped).
  """
  for filename in filenames:
    try:
      for record in tf.data.TFRecordDataset(filename, compression_type):
        yield record.numpy(), filename
    except tf.errors.DataLossError as e:
      if not skip_corrupt:
        raise ValueError(
            f'{filename} is corrupt ({e.message}); rewrite or remove the '
            'file, or pass skip_corrupt_records=True.') from e


class NoRecordsError(ValueError):
  """Files match the pattern, but none holds a (readable) record.

  A `ValueError`; its own class so that a reader of a directory that is
  still being written (`GrowingReplayInputGenerator`) can tell "no record
  yet, wait" from other errors.
  """


def _no_records_error(patterns: str, filenames: List[str],
                      skip_corrupt: bool) -> NoRecordsError:
  """The error for a stream whose files hold no record."""
  shown = ', '.join(f'{name} ({tf.io.gfile.stat(name).length} bytes)'
                    for name in filenames[:_FILES_SHOWN])
  if len(filenames) > _FILES_SHOWN:
    shown += f' and {len(filenames) - _FILES_SHOWN} more'
  readable = ' readable' if skip_corrupt else ''
  return NoRecordsError(
      f'File pattern {patterns!r} matches {len(filenames)} file(s), but none '
      f'holds a{readable} record: {shown}. The dataset would be empty. Check '
      'that the files were written completely (a writer that died leaves '
      'empty files) and that the pattern names the right files.')


@gin.configurable
class DefaultRecordInputGenerator(
    abstract_input_generator.AbstractInputGenerator):
  """Reads, parses and preprocesses TFRecords of tf.train.(Sequence)Examples.

  Example:
    >>> generator = DefaultRecordInputGenerator(
    ...     file_patterns='tfrecord:/data/train-*', batch_size=32, seed=1)
    >>> generator.set_specification_from_model(model, ModeKeys.TRAIN)
    >>> dataset = generator.create_dataset(ModeKeys.TRAIN)

  Order: in TRAIN, files and records are shuffled; EVAL and PREDICT read the
  files in sorted order. With a `seed` the order is the same on every run
  (interleave and parallel maps keep their order); without one, TRAIN lets
  parallel stages deliver out of order for throughput.

  Several record streams (specs with different `dataset_key`s, e.g. one file
  set per camera) are read from `dataset_map` and zipped record by record in
  file order, so the i-th records of all streams form one example; their
  files are then not shuffled (the zipped records still are).

  Bad data: a damaged or truncated TFRecord file, or a record that does not
  parse or decode (a broken wire format, a missing feature, a value out of
  the dtype's range, a broken JPEG), fails the iteration (also inside
  tf-keras `fit`) with a `tf.errors.InvalidArgumentError` naming the file,
  and for records the record's index, the feature and the reason. Files
  that hold no record at all fail at once, in `create_dataset`.

  Args:
    file_patterns: Comma-separated globs (optionally 'tfrecord:'-prefixed),
      for specs with a single dataset key.
    dataset_map: `{dataset_key: file_patterns}` for specs with several
      dataset keys. Exactly one of `file_patterns` and `dataset_map`.
    batch_size: Examples per batch (global batch size under a strategy).
    shuffle_buffer_size: Records in the TRAIN shuffle buffer.
    num_epochs: Passes over the data; None repeats forever (training, or
      evaluation for a fixed number of steps), 1 gives a finite single pass
      (e.g. a full evaluation).
    drop_remainder: Drop a last partial batch (static batch dimension).
      None: drop it when repeating forever (no partial batch can occur, and
      the batch dimension becomes static), keep it for a finite number of
      epochs so every record is seen.
    seed: Seed of the file and record shuffles; also makes the order
      deterministic.
    cycle_length: Files read concurrently; None uses the number of CPUs.
    compression_type: 'GZIP', 'ZLIB', '' (none) or None (detect GZIP from the
      first file's magic bytes).
    read_buffer_size_bytes: Read buffer per file; None uses TensorFlow's.
    skip_corrupt_records: Skip (and log to stderr, see `skipped_records`)
      records that cannot be read or parsed instead of failing; the readable
      records of a damaged file are kept. Batches that held a bad record come
      out smaller, so the batch dimension is not static.
    use_decode_hints: Follow the preprocessor's `decode_hints(mode)`:
      decode only the JPEG crop window it keeps, or decode at a DCT-scaled
      size when it shrinks the images (see `t2r.data.decode_hints` for the
      accuracy). False decodes every image in full.

  Raises:
    ValueError: For invalid arguments (both or neither of file_patterns and
      dataset_map, a non-positive buffer size, an unknown compression); from
      `create_dataset`, for a pattern whose files hold no record.
  """

  def __init__(self,
               file_patterns: Optional[str] = None,
               dataset_map: Optional[Dict[str, str]] = None,
               batch_size: int = 32,
               shuffle_buffer_size: int = 500,
               num_epochs: Optional[int] = None,
               drop_remainder: Optional[bool] = None,
               seed: Optional[int] = None,
               cycle_length: Optional[int] = None,
               compression_type: Optional[str] = None,
               read_buffer_size_bytes: Optional[int] = None,
               skip_corrupt_records: bool = False,
               use_decode_hints: bool = True):
    super().__init__(batch_size=batch_size)
    if bool(file_patterns) == bool(dataset_map):
      raise ValueError(
          'Pass exactly one of file_patterns (a comma-separated glob string) '
          'and dataset_map ({dataset_key: file_patterns} for specs with '
          f'several dataset keys); got file_patterns={file_patterns!r}, '
          f'dataset_map={dataset_map!r}.')
    check_reader_arguments(compression_type,
                           shuffle_buffer_size=shuffle_buffer_size,
                           num_epochs=num_epochs, cycle_length=cycle_length,
                           read_buffer_size_bytes=read_buffer_size_bytes)
    self._file_patterns = file_patterns
    self._dataset_map = dataset_map
    self._shuffle_buffer_size = shuffle_buffer_size
    self._num_epochs = num_epochs
    self._drop_remainder = drop_remainder
    self._seed = seed
    self._cycle_length = cycle_length
    self._compression_type = compression_type
    self._read_buffer_size_bytes = read_buffer_size_bytes
    self._skip_corrupt_records = skip_corrupt_records
    self._use_decode_hints = bool(use_decode_hints)
    self._corrupt_log = corrupt_record_log.CorruptRecordLog()

  @property
  def skipped_records(self) -> int:
    """Distinct records skipped as corrupt so far (`skip_corrupt_records`).

    A damaged part of a file counts as one record.
    """
    return self._corrupt_log.skipped_records

  @property
  def truncated_files(self) -> List[str]:
    """Files with unreadable (damaged or cut off) parts found so far."""
    return self._corrupt_log.truncated_files

  def data_files(self) -> List[str]:
    """The files the patterns match now (after the specs are set), sorted."""
    return sorted({name for names in self._filenames_by_stream().values()
                   for name in names})

  def _is_deterministic(self, mode: str) -> bool:
    return self._seed is not None or mode != ModeKeys.TRAIN

  def _parses_with_decode_hints(self) -> bool:
    return self._use_decode_hints

  def _filenames_by_stream(self) -> Dict[Optional[str], List[str]]:
    """Files per dataset key (key None: the single stream of file_patterns)."""
    keys = specs.dataset_keys([self._feature_spec, self._label_spec])
    if self._file_patterns:
      if len(keys) > 1:
        raise ValueError(
            f'The specs read several record streams (dataset keys {keys}); '
            'pass dataset_map={dataset_key: file_patterns} instead of '
            'file_patterns.')
      _, filenames = file_patterns_lib.get_data_format_and_filenames(
          self._file_patterns)
      return {None: filenames}
    missing = [key for key in keys if key not in self._dataset_map]
    if missing:
      raise ValueError(
          f'The specs read the dataset keys {keys} but dataset_map only has '
          f'{sorted(self._dataset_map)}; add file patterns for {missing}.')
    _, filenames = file_patterns_lib.get_data_format_and_filenames_map(
        {key: self._dataset_map[key] for key in keys})
    return filenames

  def _present_optional_names(self, filenames_by_stream, compression) -> set:
    """Which optional specs the records hold, from each stream's 1st record.

    With skip_corrupt_records, from its first record that parses.

    Raises:
      NoRecordsError: If a stream's files hold no record (an empty dataset
        would fail much later, in tf-keras, without naming a file).
      ValueError: If a stream's first record (with skip_corrupt_records: its
        first 1000) is corrupt.
    """
    present = set()
    for key, filenames in filenames_by_stream.items():
      probed = 0
      for record, filename in _records_in_order(filenames, compression[key],
                                                self._skip_corrupt_records):
        try:
          present |= parsing.optional_names_present_in_record(
              record, self._feature_spec, self._label_spec, dataset_key=key,
              source_description=filename)
          break
        except ValueError:
          # Skip mode decides from the first good record.
          probed += 1
          if not self._skip_corrupt_records or probed == _RECORDS_PROBED:
            raise
      else:
        patterns = (self._file_patterns if key is None else
                    f'{self._dataset_map[key]} (dataset_key {key!r})')
        raise _no_records_error(patterns, filenames,
                                self._skip_corrupt_records)
    return present

  def _create_dataset(self, mode, batch_size, input_context):
    records, present = self._records(self._filenames_by_stream(), mode,
                                     input_context)
    records = records.repeat(self._num_epochs)
    drop_remainder = self._drop_remainder
    if drop_remainder is None:
      drop_remainder = self._num_epochs is None
    return self._parse(
        records.batch(batch_size, drop_remainder=drop_remainder), present,
        mode)

  def _records(
      self, filenames_by_stream: Dict[Optional[str], List[str]], mode: str,
      input_context: Optional[tf.distribute.InputContext]
  ) -> Tuple[tf.data.Dataset, set]:
    """Shuffled (in TRAIN) (record, where) pairs and the optional names.

    Args:
      filenames_by_stream: Files per dataset key (None: a single stream).
      mode: A `ModeKeys` value.
      input_context: The distribution input context, or None.

    Returns:
      `(records, present)`: a dataset of `(serialized, where)` pairs (`where`
      as in 'record 7 of /data/a.tfrecord'; `{dataset_key: ...}` dicts for
      several streams), one pass over the files; and the names of the
      optional specs the records hold.

    Raises:
      ValueError: If a stream's files hold no record.
    """
    compression = {
        key: (self._compression_type if self._compression_type is not None
              else file_patterns_lib.detect_compression_type(filenames[0]))
        for key, filenames in filenames_by_stream.items()
    }
    present = self._present_optional_names(filenames_by_stream, compression)
    is_train = mode == ModeKeys.TRAIN
    deterministic = self._is_deterministic(mode)
    single_stream = len(filenames_by_stream) == 1
    streams = {
        key: self._read_stream(filenames, compression[key],
                               shuffle_files=is_train and single_stream,
                               deterministic=deterministic or
                               not single_stream,
                               input_context=input_context if single_stream
                               else None)
        for key, filenames in filenames_by_stream.items()
    }
    if single_stream:
      records = next(iter(streams.values()))
    else:
      records = tf.data.Dataset.zip(streams).map(
          lambda pairs: ({k: p[0] for k, p in pairs.items()},
                         {k: p[1] for k, p in pairs.items()}))
      if input_context is not None:
        records = records.shard(input_context.num_input_pipelines,
                                input_context.input_pipeline_id)
    if is_train:
      records = records.shuffle(
          self._shuffle_buffer_size, seed=self._seed,
          reshuffle_each_iteration=True)
    return records, present

  def _parse(self, batches: tf.data.Dataset, present: set,
             mode: str) -> tf.data.Dataset:
    """Parses batches of (serialized, where) into (features, labels)."""
    deterministic = self._is_deterministic(mode)
    parse_fn = parsing.create_parse_tf_example_fn(
        self._feature_spec, self._label_spec, present_optional_names=present,
        image_decode_hints=self._active_decode_hints())
    dataset = guarded_parsing.parse_batches(
        batches, parse_fn, self._feature_spec, self._label_spec,
        present_optional_names=frozenset(present),
        skip_corrupt=self._skip_corrupt_records, log=self._corrupt_log,
        num_parallel_batches=_num_cpus(), deterministic=deterministic)
    options = tf.data.Options()
    options.deterministic = deterministic
    return dataset.with_options(options)

  def _read_stream(self, filenames: List[str], compression_type: str,
                   shuffle_files: bool, deterministic: bool,
                   input_context: Optional[tf.distribute.InputContext]):
    """(record, where) pairs of one stream, read by a parallel interleave."""
    sizes = record_reading.file_sizes(filenames, compression_type)
    files = tf.data.Dataset.from_tensor_slices(
        (tf.constant(filenames, tf.string), tf.constant(sizes, tf.int64)))
    shard_records = False
    if input_context is not None and input_context.num_input_pipelines > 1:
      if len(filenames) >= input_context.num_input_pipelines:
        files = files.shard(input_context.num_input_pipelines,
                            input_context.input_pipeline_id)
      else:
        logging.warning(
            'Only %d files for %d input pipelines: every pipeline reads all '
            'files and keeps its share of the records.', len(filenames),
            input_context.num_input_pipelines)
        shard_records = True
    if shuffle_files:
      files = files.shuffle(len(filenames), seed=self._seed,
                            reshuffle_each_iteration=True)

    # Plain TensorFlow code: autograph would only slow down tracing.
    @tf.autograph.experimental.do_not_convert
    def read(filename, size):
      return self._read_file(filename, size, compression_type)

    records = files.interleave(
        read,
        cycle_length=min(self._cycle_length or _num_cpus(), len(filenames)),
        block_length=1,
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=deterministic)
    if shard_records:
      records = records.shard(input_context.num_input_pipelines,
                              input_context.input_pipeline_id)
    return records

  def _read_file(self, filename: tf.Tensor, size: tf.Tensor,
                 compression_type: str) -> tf.data.Dataset:
    """One file's (record, where) pairs, read with this generator's options.

    The map function of the file interleave, with the read buffer, the
    corrupt-record handling and the log of this generator. A subclass that
    builds its own dataset of files (`GrowingReplayInputGenerator`, which
    re-lists a growing directory) reads each file with it.

    Args:
      filename: Scalar string tensor.
      size: Scalar int64 tensor, the file's size in bytes (see
        `record_reading.file_sizes`): a file whose records do not add up to
        it is damaged. Ignored for compressed files.
      compression_type: '', 'GZIP' or 'ZLIB'.

    Returns:
      A dataset of `(serialized_record, where)` string pairs, `where` as in
      'record 7 of /data/a.tfrecord'.
    """
    return record_reading.read_records_with_filenames(
        filename, size, compression_type, self._read_buffer_size_bytes,
        self._skip_corrupt_records, self._corrupt_log)
