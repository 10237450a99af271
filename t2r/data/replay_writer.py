"""Writes replay records (transitions, episodes) to TFRecord files atomically.

A collector writes while a trainer lists the same directory for new files.
Each file is written under a temporary name in the same directory,
`.<final name>.tmp-<random>`, and renamed to its final name when complete,
so a reader never opens a partial file; if the process dies, only a
temporary file remains.

Reader glob patterns that never match the temporary names: patterns whose
file part ends in a literal suffix (`*.tfrecord`, `replay-*.gz`) or starts
with a literal character other than '.' (`replay-*`). Unsafe: a bare `*` or
`*tfrecord*` (`tf.io.gfile.glob`'s `*` also matches a leading '.').
"""

import os
import uuid
from typing import Any, List, Mapping, Optional

import gin
import tensorflow as tf

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


@gin.configurable
class TFRecordReplayWriter:
  """Writes serialized records or spec values to atomically appearing files.

  Example:
    >>> with TFRecordReplayWriter(feature_spec, label_spec) as writer:
    ...   writer.open('/tmp/replay/episode_0001.tfrecord')
    ...   writer.write([(features_0, labels_0), (features_1, labels_1)])
    >>> # '/tmp/replay/episode_0001.tfrecord' now exists, complete.

  `open` returns the writer, so `with writer.open(path): ...` works too.
  Leaving the `with` block by an exception deletes the unfinished file.

  Args:
    feature_spec: Specs to encode value dicts with (see
      `encoding.ExampleEncoder`); without it `write` takes serialized records
      or protos only.
    label_spec: Label specs to encode `(features, labels)` pairs with.
    compression_type: None (or ''), 'GZIP' or 'ZLIB'; readers pass the same
      to `tf.data.TFRecordDataset`.
    max_records_per_file: If set, a file is completed after this many records
      and the next one opened: `open('dir/replay.tfrecord')` then writes
      'dir/replay-00000.tfrecord', 'dir/replay-00001.tfrecord', ...
    jpeg_quality: JPEG quality of encoded JPEG images.
    dataset_key: The stream to encode, when the specs have several.
    overwrite: Replace existing files; by default an existing final file is
      an error.

  Raises:
    ValueError: On an unknown compression type or a non-positive
      `max_records_per_file`.
  """

  def __init__(self,
               feature_spec: Any = None,
               label_spec: Any = None,
               compression_type: Optional[str] = None,
               max_records_per_file: Optional[int] = None,
               jpeg_quality: int = 95,
               dataset_key: Optional[str] = None,
               overwrite: bool = False):
    compression_type = (compression_type or '').upper()
    if compression_type not in _COMPRESSION_TYPES:
      raise ValueError(
          f'compression_type must be None, "GZIP" or "ZLIB", got '
          f'{compression_type!r}.')
    if max_records_per_file is not None and max_records_per_file < 1:
      raise ValueError('max_records_per_file must be a positive int or None, '
                       f'got {max_records_per_file!r}.')
    self._options = tf.io.TFRecordOptions(compression_type=compression_type)
    self._max_records_per_file = max_records_per_file
    self._encoder = (
        encoding.ExampleEncoder(feature_spec, label_spec, jpeg_quality)
        if feature_spec is not None else None)
    self._dataset_key = dataset_key
    self._overwrite = overwrite
    self._path = None  # What open() was given.
    self._shard_index = 0
    self._writer = None
    self._temporary = None
    self._final = None
    self._records_in_file = 0
    self._written_paths = []

  @property
  def written_paths(self) -> List[str]:
    """The completed (renamed) files, in order."""
    return list(self._written_paths)

  def open(self, path: str) -> 'TFRecordReplayWriter':
    """Starts writing to `path` (or its shards); closes an open file first.

    Args:
      path: The final file name (any `tf.io.gfile` filesystem). Its
        directory is created if needed.

    Returns:
      This writer.

    Raises:
      ValueError: If the file (or first shard) exists and `overwrite` is
        False.
    """
    self.close()
    self._path = path
    self._shard_index = 0
    tf.io.gfile.makedirs(os.path.dirname(path) or '.')
    self._open_file()
    return self

  def _open_file(self):
    final = (
        _shard_path(self._path, self._shard_index)
        if self._max_records_per_file else self._path)
    if not self._overwrite and tf.io.gfile.exists(final):
      raise ValueError(
          f'TFRecordReplayWriter: {final!r} already exists. Choose a new '
          'name (e.g. with a timestamp) or pass overwrite=True.')
    self._final = final
    self._temporary = _temporary_path(final)
    self._writer = tf.io.TFRecordWriter(self._temporary, self._options)
    self._records_in_file = 0

  def _serialize(self, record: Any) -> bytes:
    if isinstance(record, bytes):
      return record
    if hasattr(record, 'SerializeToString'):
      return record.SerializeToString()
    if isinstance(record, (Mapping, tuple)):
      if self._encoder is None:
        raise TypeError(
            'TFRecordReplayWriter got values but has no feature_spec to '
            'encode them with; pass feature_spec= (and label_spec=) or write '
            'serialized records / tf.train.Example protos.')
      features, labels = record if isinstance(record, tuple) else (record,
                                                                   None)
      return self._encoder.encode(features, labels, self._dataset_key)
    raise TypeError(
        'TFRecordReplayWriter.write expects bytes, a proto, a dict of '
        'feature values, a (features, labels) tuple or a list of those, got '
        f'{type(record).__name__}.')

  def write(self, transitions: Any):
    """Appends records to the current file.

    Args:
      transitions: One record or a list of records. A record is a serialized
        string, a proto (`tf.train.Example`, `SequenceExample`), a dict /
        `TensorSpecStruct` of feature values, or a `(features, labels)` tuple
        of values (values need `feature_spec`).

    Raises:
      ValueError: If no file is open, or values do not match the spec.
      TypeError: For a record of another type.
    """
    if self._path is None:
      raise ValueError('TFRecordReplayWriter.write called before open(path).')
    records = transitions if isinstance(transitions, list) else [transitions]
    for record in records:
      serialized = self._serialize(record)
      if self._writer is None:  # The previous shard was completed.
        self._shard_index += 1
        self._open_file()
      self._writer.write(serialized)
      self._records_in_file += 1
      if self._records_in_file == self._max_records_per_file:
        self._finish_file()

  def flush(self):
    """Flushes buffered records to the temporary file."""
    if self._writer is not None:
      self._writer.flush()

  def _finish_file(self):
    self._writer.close()
    self._writer = None
    tf.io.gfile.rename(self._temporary, self._final, overwrite=self._overwrite)
    self._written_paths.append(self._final)

  def close(self):
    """Completes the current file: it appears under its final name."""
    if self._writer is not None:
      self._finish_file()
    self._path = None

  def _discard(self):
    if self._writer is not None:
      self._writer.close()
      self._writer = None
      tf.io.gfile.remove(self._temporary)
    self._path = None

  def __enter__(self) -> 'TFRecordReplayWriter':
    return self

  def __exit__(self, exc_type, exc_value, traceback):
    if exc_type is None:
      self.close()
    else:
      self._discard()
