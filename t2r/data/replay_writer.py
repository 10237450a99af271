"""Writes replay records (transitions, episodes) to TFRecord files atomically.

A collector writes while a trainer lists the same directory for new files.
Each file is written under a temporary name in the same directory,
`.<final name>.tmp-<random>`, and renamed to its final name when complete,
so a reader never opens a partial file.

Nothing written is lost without a word: a writer that is never closed is
completed (renamed) when it is garbage collected or the interpreter exits,
with a `RuntimeWarning` naming the file. Only a process that dies outright
(SIGKILL, a machine failure) leaves its current file as a temporary, never
read; with `max_records_per_file` or `max_bytes_per_file` the writer
completes small files as it goes, so such a death loses only the last one.

Reader glob patterns that never match the temporary names: patterns whose
file part ends in a literal suffix (`*.tfrecord`, `replay-*.gz`) or starts
with a literal character other than '.' (`replay-*`). Unsafe: a bare `*` or
`*tfrecord*` (`tf.io.gfile.glob`'s `*` also matches a leading '.').

With `open(path, file_metadata={...})` every file of that `open` gets a
sidecar `.<final name>.t2r.json` (`t2r.provenance.write_sidecar`: the
metadata and the file's record count), written atomically just before the
file is renamed, so a complete file always has its sidecar. Collectors
record there which export collected the file (`run_env`).
"""

import os
import uuid
import warnings
import weakref
from typing import Any, List, Mapping, Optional

import gin
import tensorflow as tf

from t2r import provenance
from t2r.data import encoding

_COMPRESSION_TYPES = ('', 'GZIP', 'ZLIB')


def _temporary_path(path: str) -> str:
  directory, base = os.path.split(path)
  return os.path.join(directory, f'.{base}.tmp-{uuid.uuid4().hex[:12]}')


def _shard_path(path: str, index: int) -> str:
  """'dir/replay.tfrecord.gz', 3 -> 'dir/replay-00003.tfrecord.gz'."""
  directory, base = os.path.split(path)
  stem, dot, extensions = base.partition('.')
  return os.path.join(directory, f'{stem}-{index:05d}{dot}{extensions}')


def _check_limit(name: str, value: Optional[int]):
  if value is not None and (isinstance(value, bool) or
                            not isinstance(value, int) or value < 1):
    raise ValueError(f'{name} must be a positive int or None, got {value!r}.')


class _CurrentFile:
  """The file being written, under its temporary name.

  It is all the state that completing the file needs, so the writer's
  finalizer can hold it without holding (and keeping alive) the writer.
  """

  def __init__(self, options: tf.io.TFRecordOptions, overwrite: bool):
    self._options = options
    self._overwrite = overwrite
    self._writer = None
    self._temporary = None
    self.final = None
    self.num_records = 0
    self.num_bytes = 0
    self.completed_paths = []
    # The sidecar content of the files (None: no sidecar).
    self.metadata = None

  @property
  def is_open(self) -> bool:
    return self._writer is not None

  def start(self, final: str):
    """Opens a temporary file that `complete` renames to `final`.

    Raises:
      ValueError: If `final` exists and overwriting is off.
    """
    if not self._overwrite and tf.io.gfile.exists(final):
      raise ValueError(
          f'TFRecordReplayWriter: {final!r} already exists. Choose a new '
          'name (e.g. with a timestamp) or pass overwrite=True.')
    self.final = final
    self._temporary = _temporary_path(final)
    self._writer = tf.io.TFRecordWriter(self._temporary, self._options)
    self.num_records = self.num_bytes = 0

  def append(self, record: bytes):
    self._writer.write(record)
    self.num_records += 1
    self.num_bytes += len(record)

  def flush(self):
    if self._writer is not None:
      self._writer.flush()

  def complete(self):
    """Closes the file and renames it to its final name (if one is open)."""
    if self._writer is None:
      return
    self._writer.close()
    self._writer = None
    if self.metadata is not None:
      provenance.write_sidecar(
          self.final, {**self.metadata, 'num_records': self.num_records})
    tf.io.gfile.rename(self._temporary, self.final, overwrite=self._overwrite)
    self.completed_paths.append(self.final)

  def discard(self):
    """Closes and deletes the file (if one is open)."""
    if self._writer is None:
      return
    self._writer.close()
    self._writer = None
    tf.io.gfile.remove(self._temporary)

  def complete_abandoned(self):
    """The finalizer: completes a file whose writer was never closed."""
    if self._writer is None:
      return
    warnings.warn(
        f'TFRecordReplayWriter: {self.final!r} was never closed; completing '
        f'it with its {self.num_records} records now (the writer was garbage '
        'collected or the interpreter is exiting). Call close(), or write '
        'inside `with writer.open(path):`.', RuntimeWarning)
    self.complete()


@gin.configurable
class TFRecordReplayWriter:
  """Writes serialized records or spec values to atomically appearing files.

  Example:
    >>> with TFRecordReplayWriter(feature_spec, label_spec) as writer:
    ...   writer.open('/tmp/replay/episode_0001.tfrecord')
    ...   writer.write([(features_0, labels_0), (features_1, labels_1)])
    >>> # '/tmp/replay/episode_0001.tfrecord' now exists, complete.

  `open` returns the writer, so `with writer.open(path): ...` works too.
  Leaving the `with` block by an exception deletes the unfinished file; a
  writer never closed completes it when collected or at exit (with a
  warning).

  Args:
    feature_spec: Specs to encode value dicts with (see
      `encoding.ExampleEncoder`), and to check serialized records and protos
      against; without it `write` takes serialized records or protos only,
      unchecked.
    label_spec: Label specs to encode `(features, labels)` pairs with.
    compression_type: None (or ''), 'GZIP' or 'ZLIB'; readers pass the same
      to `tf.data.TFRecordDataset`.
    max_records_per_file: If set, a file is completed after this many records
      and the next one opened: `open('dir/replay.tfrecord')` then writes
      'dir/replay-00000.tfrecord', 'dir/replay-00001.tfrecord', ...
    max_bytes_per_file: If set, a file is completed once its serialized
      records (before compression) reach this many bytes, numbered as with
      `max_records_per_file`; both may be set.
    jpeg_quality: JPEG quality of encoded JPEG images.
    dataset_key: The stream to encode, when the specs have several.
    overwrite: Replace existing files; by default an existing final file is
      an error.

  Raises:
    ValueError: On an unknown compression type or a limit that is not a
      positive int.
  """

  def __init__(self,
               feature_spec: Any = None,
               label_spec: Any = None,
               compression_type: Optional[str] = None,
               max_records_per_file: Optional[int] = None,
               max_bytes_per_file: Optional[int] = None,
               jpeg_quality: int = 95,
               dataset_key: Optional[str] = None,
               overwrite: bool = False):
    compression_type = (compression_type or '').upper()
    if compression_type not in _COMPRESSION_TYPES:
      raise ValueError(
          f'compression_type must be None, "GZIP" or "ZLIB", got '
          f'{compression_type!r}.')
    _check_limit('max_records_per_file', max_records_per_file)
    _check_limit('max_bytes_per_file', max_bytes_per_file)
    self._max_records_per_file = max_records_per_file
    self._max_bytes_per_file = max_bytes_per_file
    self._encoder = (
        encoding.ExampleEncoder(feature_spec, label_spec, jpeg_quality)
        if feature_spec is not None else None)
    self._dataset_key = dataset_key
    self._path = None  # What open() was given.
    self._shard_index = 0
    self._file = _CurrentFile(
        tf.io.TFRecordOptions(compression_type=compression_type), overwrite)
    weakref.finalize(self, self._file.complete_abandoned)

  @property
  def written_paths(self) -> List[str]:
    """The completed (renamed) files, in order."""
    return list(self._file.completed_paths)

  def open(self, path: str,
           file_metadata: Optional[Mapping[str, Any]] = None
          ) -> 'TFRecordReplayWriter':
    """Starts writing to `path` (or its shards); closes an open file first.

    Example:
      >>> writer.open('/replay/a.tfrecord',
      ...             file_metadata=provenance.collector_metadata(policy))

    Args:
      path: The final file name (any `tf.io.gfile` filesystem). Its
        directory is created if needed.
      file_metadata: JSON values written to the sidecar of each file of
        this `open` (see the module docstring); None writes no sidecar.

    Returns:
      This writer.

    Raises:
      ValueError: If the file (or first shard) exists and `overwrite` is
        False.
    """
    self.close()
    self._path = path
    self._shard_index = 0
    self._file.metadata = (dict(file_metadata) if file_metadata is not None
                           else None)
    tf.io.gfile.makedirs(os.path.dirname(path) or '.')
    self._start_file()
    return self

  def _start_file(self):
    rotates = (self._max_records_per_file is not None or
               self._max_bytes_per_file is not None)
    self._file.start(
        _shard_path(self._path, self._shard_index) if rotates else self._path)

  def _is_full(self) -> bool:
    return ((self._max_records_per_file is not None and
             self._file.num_records >= self._max_records_per_file) or
            (self._max_bytes_per_file is not None and
             self._file.num_bytes >= self._max_bytes_per_file))

  def _serialize(self, record: Any) -> bytes:
    if isinstance(record, bytes):
      return record
    if hasattr(record, 'SerializeToString'):
      return record.SerializeToString()
    is_pair = type(record) is tuple  # pylint: disable=unidiomatic-typecheck
    if isinstance(record, (Mapping, tuple)):
      if self._encoder is None:
        raise TypeError(
            'TFRecordReplayWriter got values but has no feature_spec to '
            'encode them with; pass feature_spec= (and label_spec=) or write '
            'serialized records / tf.train.Example protos.')
      if is_pair and len(record) != 2:
        raise TypeError(
            f'TFRecordReplayWriter.write got a tuple of {len(record)} '
            'entries; a record tuple is (features, labels).')
      features, labels = record if is_pair else (record, None)
      return self._encoder.encode(features, labels, self._dataset_key)
    raise TypeError(
        'TFRecordReplayWriter.write expects bytes, a proto, a dict or '
        'namedtuple of feature values, a (features, labels) tuple or a list '
        f'of those, got {type(record).__name__}.')

  def _serialize_all(self, records: List[Any]) -> List[bytes]:
    """Serializes and checks every record, before anything is written."""
    serialized = []
    for index, record in enumerate(records):
      try:
        serialized.append(self._serialize(record))
      except (ValueError, TypeError) as e:
        raise type(e)(
            f'TFRecordReplayWriter.write: record {index} of the '
            f'{len(records)} given: {e} Nothing of this call was written.'
        ) from e
    given_serialized = any(
        isinstance(record, bytes) or hasattr(record, 'SerializeToString')
        for record in records)
    if self._encoder is not None and given_serialized:
      try:
        self._encoder.check_serialized(serialized, self._dataset_key)
      except ValueError as e:
        raise ValueError(
            f'TFRecordReplayWriter.write (of {len(records)} records): {e} '
            'This writer checks serialized records against its feature_spec; '
            'nothing of this call was written.') from e
    return serialized

  def write(self, transitions: Any):
    """Appends records to the current file: all of them, or none.

    Every record is encoded and checked before the first is written, so a
    call that raises leaves the file as it was and can be retried.

    Args:
      transitions: One record or a list of records. A record is a serialized
        string, a proto (`tf.train.Example`, `SequenceExample`), a dict /
        `TensorSpecStruct` / namedtuple of feature values, or a `(features,
        labels)` tuple of values (values need `feature_spec`). With
        `feature_spec`, serialized strings and protos must parse by it.

    Raises:
      ValueError: If no file is open, values do not match the spec, a key is
        not a spec path, or a serialized record does not parse by the spec.
      TypeError: For a record of another type.
    """
    if self._path is None:
      raise ValueError('TFRecordReplayWriter.write called before open(path).')
    records = transitions if isinstance(transitions, list) else [transitions]
    for record in self._serialize_all(records):
      if not self._file.is_open:  # The previous shard was completed.
        self._shard_index += 1
        self._start_file()
      self._file.append(record)
      if self._is_full():
        self._file.complete()

  def flush(self):
    """Flushes buffered records to the temporary file."""
    self._file.flush()

  def close(self):
    """Completes the current file: it appears under its final name."""
    self._file.complete()
    self._path = None

  def _discard(self):
    self._file.discard()
    self._path = None

  def __enter__(self) -> 'TFRecordReplayWriter':
    return self

  def __exit__(self, exc_type, exc_value, traceback):
    if exc_type is None:
      self.close()
    else:
      self._discard()
