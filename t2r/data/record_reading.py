"""Reads TFRecord files as (record, filename) pairs, naming corrupt files.

`tf.data.TFRecordDataset` reports a damaged file as `DataLossError:
corrupted record at 12` without saying which file, and inside an interleave
over thousands of files that is not actionable. Here every file is read in
chunks whose bytes are counted; when a file ends, the count is compared with
the file's size (TFRecord framing adds 16 bytes per record). A file that
could not be read to its end fails with its name, or, with
`skip_corrupt=True`, has its unreadable tail skipped and logged (together
with the records of the chunk the damage fell in: up to 63 readable records
before it). The cost is one scan step per chunk of records, not per record.

GZIP/ZLIB files are not checked this way (their size says nothing about the
records they hold): a corrupt compressed file fails with TensorFlow's error,
or with `skip_corrupt=True` is cut short with TensorFlow's warning (not
counted in the `CorruptRecordLog`).
"""

import concurrent.futures
from typing import List, Optional

import tensorflow as tf

from t2r.data import corrupt_record_log

# Records read per chunk: the integrity check runs once per chunk.
_CHUNK_SIZE = 64
# Bytes TFRecord framing adds per record: length, length CRC, data CRC.
_FRAMING_BYTES = 16
_UNCHECKED_SIZE = -1


def file_sizes(filenames: List[str], compression_type: str) -> List[int]:
  """Returns each file's size, or -1 for all when the files are compressed.

  Sizes are read through `tf.io.gfile` in parallel threads, since on remote
  filesystems each is a round trip.
  """
  if compression_type:
    return [_UNCHECKED_SIZE] * len(filenames)
  with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
    return list(pool.map(lambda f: tf.io.gfile.stat(f).length, filenames))


def _chunk_bytes(chunk: tf.Tensor) -> tf.Tensor:
  lengths = tf.cast(tf.strings.length(chunk), tf.int64)
  return tf.reduce_sum(lengths + _FRAMING_BYTES)


def read_records_with_filenames(
    filename: tf.Tensor,
    file_size: tf.Tensor,
    compression_type: str,
    buffer_size: Optional[int],
    skip_corrupt: bool,
    log: corrupt_record_log.CorruptRecordLog) -> tf.data.Dataset:
  """Returns the records of one file, each paired with the file name.

  Meant as the map function of an interleave over (filename, size) pairs.

  Args:
    filename: Scalar string tensor.
    file_size: Scalar int64 tensor, the file's size from `file_sizes`
      (ignored for compressed files).
    compression_type: '', 'GZIP' or 'ZLIB'.
    buffer_size: Read buffer of `tf.data.TFRecordDataset` in bytes, or None.
    skip_corrupt: Skip (and log) an unreadable tail instead of failing.
    log: Where skips are counted.

  Returns:
    A dataset of `(serialized_record, filename)` pairs.
  """
  # (chunk, is_end): a checked file ends with an end marker.
  chunks = tf.data.TFRecordDataset(
      filename, compression_type=compression_type,
      buffer_size=buffer_size).batch(_CHUNK_SIZE).map(
          lambda chunk: (chunk, False))
  if not compression_type:
    chunks = _checked_chunks(chunks, filename, file_size, skip_corrupt, log)
  elif skip_corrupt:
    chunks = chunks.ignore_errors(log_warning=True)
  return chunks.map(lambda chunk, _: (chunk, tf.fill(tf.shape(chunk), filename))
                   ).unbatch()


def _checked_chunks(chunks: tf.data.Dataset, filename: tf.Tensor,
                    file_size: tf.Tensor, skip_corrupt: bool,
                    log: corrupt_record_log.CorruptRecordLog):
  """The (chunk, is_end) pairs of a file, checked at the end for completeness.

  A read error ends the file early: it is ignored where it happens and
  reported (raised or logged) at the end marker, where the bytes read fall
  short of the file size.
  """
  end_marker = tf.data.Dataset.from_tensors((tf.constant([], tf.string), True))
  tagged = chunks.ignore_errors().concatenate(end_marker)

  def log_truncated(name, num_bytes, size):
    log.file_truncated(name.numpy().decode(), int(num_bytes), int(size))
    return True

  def count_and_check(total, element):
    chunk, is_end = element
    total += _chunk_bytes(chunk)
    complete = tf.logical_or(tf.logical_not(is_end), tf.equal(total, file_size))
    if skip_corrupt:
      report = tf.cond(
          complete, lambda: tf.constant(True),
          lambda: tf.py_function(log_truncated, [filename, total, file_size],
                                 tf.bool))
    else:
      report = tf.debugging.Assert(complete, [
          'Corrupt or truncated TFRecord file', filename, ': only', total,
          'of its', file_size,
          'bytes could be read as records. Rewrite or remove the file, or '
          'pass skip_corrupt_records=True to the input generator to skip '
          'unreadable data.'
      ], summarize=3)
    with tf.control_dependencies([report]):
      return total, (tf.identity(chunk), is_end)

  return tagged.scan(tf.constant(0, tf.int64), count_and_check).filter(
      lambda chunk, is_end: tf.logical_not(is_end))
