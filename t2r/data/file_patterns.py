"""Resolve T2R file patterns ('tfrecord:/data/train-*,/more/*') to files.

A *file pattern string* is a comma-separated list of globs, read through
`tf.io.gfile` so that local paths, `gs://` and other filesystems work. Each
glob may carry a record format prefix ('tfrecord:'); without one, the format
is TFRecord. Every glob must match at least one file: a silently empty glob
usually means a typo in a data path, and training on a subset of the intended
data is worse than failing.
"""

import re
from typing import Dict, List, Optional, Tuple

import tensorflow as tf

# The record formats this library can read. T2R also read 'recordio' and
# 'sstable', which have no open-source TensorFlow reader.
SUPPORTED_DATA_FORMATS = ('tfrecord',)
DEFAULT_DATA_FORMAT = 'tfrecord'

# A format prefix is a word followed by ':' that is not the '://' of a URL
# scheme ('gs://bucket' has no prefix, 'tfrecord:gs://bucket' has one).
_PREFIX = re.compile(r'^([A-Za-z_][A-Za-z0-9_]*):(?!//)(.*)$')

_GZIP_MAGIC = b'\x1f\x8b'


def _split_prefix(pattern: str) -> Tuple[Optional[str], str]:
  """Returns (format or None, glob) for one comma-separated entry."""
  match = _PREFIX.match(pattern)
  if match is None:
    return None, pattern
  return match.group(1).lower(), match.group(2)


def get_data_format_and_filenames(file_patterns: str) -> Tuple[str, List[str]]:
  """Returns the record format and the sorted files of a pattern string.

  Example:
    >>> get_data_format_and_filenames('tfrecord:/data/a-*.tfrecord,/data/b')
    ('tfrecord', ['/data/a-00000.tfrecord', '/data/a-00001.tfrecord',
                  '/data/b'])

  Args:
    file_patterns: Comma-separated globs, each optionally prefixed with a
      record format ('tfrecord:'). Whitespace around entries is ignored.

  Returns:
    A pair `(data_format, filenames)`: the format ('tfrecord') and every
    matching file, sorted and without duplicates (so the order is the same on
    every worker and every run).

  Raises:
    TypeError: If `file_patterns` is not a string.
    ValueError: If the string is empty, a prefix names an unknown format, the
      entries use different formats, or a glob matches no file.
  """
  if not isinstance(file_patterns, str):
    raise TypeError(
        'file_patterns must be a comma-separated string of globs such as '
        f"'tfrecord:/data/train-*', got {file_patterns!r} "
        f'({type(file_patterns).__name__}). Join a list with ",".')
  entries = [entry.strip() for entry in file_patterns.split(',')]
  entries = [entry for entry in entries if entry]
  if not entries:
    raise ValueError(
        f'file_patterns {file_patterns!r} holds no pattern; pass one or more '
        "comma-separated globs such as 'tfrecord:/data/train-*'.")
  data_formats = set()
  filenames = set()
  for entry in entries:
    data_format, glob = _split_prefix(entry)
    if data_format is not None and data_format not in SUPPORTED_DATA_FORMATS:
      raise ValueError(
          f'Unknown record format prefix {data_format + ":"!r} in file '
          f'pattern {entry!r}; supported prefixes are '
          f'{[f + ":" for f in SUPPORTED_DATA_FORMATS]}, or no prefix for '
          'TFRecord files.')
    data_formats.add(data_format or DEFAULT_DATA_FORMAT)
    matches = tf.io.gfile.glob(glob)
    if not matches:
      raise ValueError(
          f'File pattern {glob!r} (from {file_patterns!r}) matches no file. '
          'Check the path and that the data has been written.')
    filenames.update(matches)
  if len(data_formats) > 1:
    raise ValueError(
        f'file_patterns {file_patterns!r} mixes record formats '
        f'{sorted(data_formats)}; use one input generator per format.')
  return data_formats.pop(), sorted(filenames)


def get_data_format_and_filenames_map(
    dataset_map: Dict[str, str]) -> Tuple[str, Dict[str, List[str]]]:
  """Resolves a `{dataset_key: file_patterns}` map (one record stream each).

  Args:
    dataset_map: Maps each dataset key of a multi-stream spec to its file
      pattern string.

  Returns:
    A pair `(data_format, {dataset_key: filenames})`.

  Raises:
    ValueError: As `get_data_format_and_filenames`, naming the dataset key;
      also if the map is empty or the streams use different formats.
  """
  if not isinstance(dataset_map, dict) or not dataset_map:
    raise ValueError(
        'dataset_map must be a non-empty dict {dataset_key: file_patterns}, '
        f'got {dataset_map!r}.')
  data_formats = set()
  filenames = {}
  for key, patterns in dataset_map.items():
    try:
      data_format, filenames[key] = get_data_format_and_filenames(patterns)
    except ValueError as e:
      raise ValueError(f'dataset_map[{key!r}]: {e}') from e
    data_formats.add(data_format)
  if len(data_formats) > 1:
    raise ValueError(f'dataset_map {dataset_map!r} mixes record formats '
                     f'{sorted(data_formats)}.')
  return data_formats.pop(), filenames


def detect_compression_type(filename: str) -> str:
  """Returns 'GZIP' if the file starts with the gzip magic bytes, else ''.

  TFRecord files written with `tf.io.TFRecordOptions(compression_type='GZIP')`
  cannot be read as uncompressed files; detecting the format from the first
  two bytes lets one pattern string point at either kind. ZLIB streams have
  no reliable magic number: pass `compression_type='ZLIB'` explicitly.

  Args:
    filename: A file readable through `tf.io.gfile`.

  Returns:
    'GZIP' or '' (the `compression_type` of `tf.data.TFRecordDataset`).
  """
  with tf.io.gfile.GFile(filename, 'rb') as f:
    return 'GZIP' if f.read(2) == _GZIP_MAGIC else ''
