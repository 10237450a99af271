"""Reads TFRecord files as (record, where) pairs, naming damaged files.

`tf.data.TFRecordDataset` reports a damaged file as `DataLossError: corrupted
record at 12` without saying which file, and inside an interleave over
thousands of files that is not actionable. Here every record comes with
where it came from ('record 7 of /data/a.tfrecord'), which the parser's
errors quote, and every file is checked for completeness: records are read
up to the first one that cannot be read, in chunks whose bytes are counted
(TFRecord framing adds 16 bytes per record), and at the end the count is
compared with the file's size. A file that could not be read to its end
fails, saying how many of its records and bytes could be read and where the
damage starts.

With `skip_corrupt=True` every readable record is kept: the damaged record
is stepped over by its declared length and reading resumes after it (the
records there are checked as usual); when that fails too (a damaged length,
a record cut off, junk after the last record), the rest of the file is
unreadable. Each damaged part is logged with its bytes and counts as one
skipped record in the `CorruptRecordLog`, which also lists the file.

The cost of the check is one scan step per chunk of 64 records. Only ops of
the tf.data graph are used (no Python callbacks; see `corrupt_record_log`).

GZIP/ZLIB files are not checked this way (their size says nothing about the
records they hold): a corrupt compressed file fails with TensorFlow's error,
or with `skip_corrupt=True` is cut short at the damage with TensorFlow's
warning (not counted in the `CorruptRecordLog`).
"""

import concurrent.futures
from typing import List, Optional, Tuple

import tensorflow as tf

from t2r.data import corrupt_record_log

# Records read per chunk: the integrity check runs once per chunk.
_CHUNK_SIZE = 64
# Bytes TFRecord framing adds per record: length, length CRC, data CRC.
_FRAMING_BYTES = 16
# The length field that starts every record.
_LENGTH_BYTES = 8
_UNCHECKED_SIZE = -1
# Damaged records stepped over in a row before the rest counts as lost.
_MAX_STEPS_WITHOUT_RECORDS = 4
# tf.data.TFRecordDataset's default read buffer.
_DEFAULT_BUFFER_SIZE = 256 * 1024


def file_sizes(filenames: List[str], compression_type: str) -> List[int]:
  """Returns each file's size, or -1 for all when the files are compressed.

  Sizes are read through `tf.io.gfile` in parallel threads, since on remote
  filesystems each is a round trip.
  """
  if compression_type:
    return [_UNCHECKED_SIZE] * len(filenames)
  with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
    return list(pool.map(lambda f: tf.io.gfile.stat(f).length, filenames))


def describe_records(filename: tf.Tensor, indices: tf.Tensor) -> tf.Tensor:
  """'record <index> of <filename>' for each index (any shape)."""
  return tf.strings.join(
      ['record ', tf.strings.as_string(indices), ' of ', filename])


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
  """Returns the records of one file, each paired with where it came from.

  Meant as the map function of an interleave over (filename, size) pairs.

  Example:
    >>> files = tf.data.Dataset.from_tensor_slices(
    ...     (names, file_sizes(names, '')))
    >>> records = files.interleave(lambda name, size:
    ...     read_records_with_filenames(name, size, '', None, False, log))
    >>> next(iter(records))
    (<record bytes>, b'record 0 of /data/a.tfrecord')

  Args:
    filename: Scalar string tensor.
    file_size: Scalar int64 tensor, the file's size from `file_sizes`
      (ignored for compressed files).
    compression_type: '', 'GZIP' or 'ZLIB'.
    buffer_size: Read buffer of `tf.data.TFRecordDataset` in bytes, or None.
    skip_corrupt: Skip (and log) unreadable parts instead of failing.
    log: Where skips are counted.

  Returns:
    A dataset of `(serialized_record, where)` string pairs, `where` as in
    'record 7 of /data/a.tfrecord'.
  """
  records = tf.data.TFRecordDataset(
      filename, compression_type=compression_type, buffer_size=buffer_size)
  if compression_type:
    if skip_corrupt:
      records = records.ignore_errors(log_warning=True)
    chunks = records.batch(_CHUNK_SIZE).enumerate().map(
        lambda index, chunk: (chunk, describe_records(
            filename, index * _CHUNK_SIZE + tf.range(
                tf.size(chunk, out_type=tf.int64)))))
    return chunks.unbatch()
  # Reading stops at the first record that cannot be read; the check at the
  # end of the file tells a damaged file from a complete one.
  end_marker = tf.data.Dataset.from_tensors((tf.constant([], tf.string),
                                             True))
  tagged = records.ignore_errors().batch(_CHUNK_SIZE).map(
      lambda chunk: (chunk, False)).concatenate(end_marker)
  counted = tagged.scan((tf.constant(0, tf.int64), tf.constant(0, tf.int64)),
                        lambda state, element: _count(filename, state,
                                                      element))
  if not skip_corrupt:
    checked = counted.map(
        lambda chunk, where, is_end, num_bytes, count: _check_complete(
            filename, file_size, chunk, where, is_end, num_bytes, count))
    return checked.filter(lambda chunk, where, is_end: tf.logical_not(is_end)
                          ).map(lambda chunk, where, _: (chunk, where)
                                ).unbatch()

  def records_and_recovered(chunk, where, is_end, num_bytes, count):
    damaged = tf.logical_and(is_end, num_bytes < file_size)
    recovered = tf.data.Dataset.from_tensors((num_bytes, count)).flat_map(
        lambda offset, index: _recovered(filename, file_size, offset, index,
                                         buffer_size, log))
    return tf.data.Dataset.from_tensors((chunk, where)).unbatch().concatenate(
        recovered.take(tf.where(damaged, tf.constant(-1, tf.int64), 0)))

  return counted.flat_map(records_and_recovered)


def _count(filename: tf.Tensor, state: Tuple[tf.Tensor, tf.Tensor],
           element: Tuple[tf.Tensor, tf.Tensor]):
  """Scan step: adds a chunk's bytes and records to the running totals."""
  num_bytes, count = state
  chunk, is_end = element
  size = tf.size(chunk, out_type=tf.int64)
  where = describe_records(filename, count + tf.range(size))
  num_bytes += _chunk_bytes(chunk)
  count += size
  return (num_bytes, count), (chunk, where, is_end, num_bytes, count)


def _check_complete(filename, file_size, chunk, where, is_end, num_bytes,
                    count):
  """Fails at the end marker of a file whose bytes were not all read."""
  complete = tf.logical_or(tf.logical_not(is_end),
                           tf.equal(num_bytes, file_size))
  message = tf.strings.join([
      'Corrupt or truncated TFRecord file ', filename, ': its first ',
      tf.strings.as_string(count), ' records (',
      tf.strings.as_string(num_bytes), ' of its ',
      tf.strings.as_string(file_size), ' bytes) could be read, then the '
      'record at byte ', tf.strings.as_string(num_bytes), ' is damaged or '
      'cut off. Rewrite or remove the file, or pass skip_corrupt_records=True '
      'to the input generator to skip unreadable data.'
  ])
  with tf.control_dependencies([tf.debugging.Assert(complete, [message])]):
    return tf.identity(chunk), where, is_end


def _records_from(filename: tf.Tensor, offset: tf.Tensor,
                  buffer_size: Optional[int]) -> tf.data.Dataset:
  """The records of an uncompressed file from byte `offset` to the first bad.

  (`tf.data.TFRecordDataset` has no offset argument; its op has.)
  """
  variant = tf.raw_ops.TFRecordDatasetV2(
      filenames=filename, compression_type='',
      buffer_size=tf.constant(buffer_size or _DEFAULT_BUFFER_SIZE, tf.int64),
      byte_offsets=offset)
  return tf.data.experimental.from_variant(
      variant, tf.TensorSpec([], tf.string)).ignore_errors()


def _declared_length(filename: tf.Tensor, file_size: tf.Tensor,
                     offset: tf.Tensor) -> tf.Tensor:
  """The data length the record at `offset` declares; -1 if it is cut off."""
  footer = file_size - offset - _LENGTH_BYTES

  def read():
    field = tf.data.FixedLengthRecordDataset(
        filename, _LENGTH_BYTES, header_bytes=offset,
        footer_bytes=footer).get_single_element()
    return tf.io.decode_raw(field, tf.int64, little_endian=True)[0]

  return tf.cond(footer >= 0, read, lambda: tf.constant(-1, tf.int64))


def _readable(filename: tf.Tensor, offset: tf.Tensor,
              buffer_size: Optional[int]) -> Tuple[tf.Tensor, tf.Tensor]:
  """(records, bytes) readable from `offset` up to the first bad record."""
  # Batched rather than reduced: `reduce` serializes the dataset, which the
  # offset reader cannot do.
  sizes = _records_from(filename, offset, buffer_size).map(
      lambda record: tf.cast(tf.strings.length(record), tf.int64) +
      _FRAMING_BYTES).batch(2**62).concatenate(
          tf.data.Dataset.from_tensors(tf.zeros([0], tf.int64))).take(
              1).get_single_element()
  return tf.size(sizes, out_type=tf.int64), tf.reduce_sum(sizes)


def _recovered(filename: tf.Tensor, file_size: tf.Tensor, offset: tf.Tensor,
               index: tf.Tensor, buffer_size: Optional[int],
               log: corrupt_record_log.CorruptRecordLog) -> tf.data.Dataset:
  """The readable records after the damaged record at byte `offset`.

  Steps over each damaged record by the length it declares, as long as that
  length fits in the file; logs every damaged part.

  Args:
    filename: Scalar string.
    file_size: Scalar int64.
    offset: Where the damaged record starts (the bytes read before it).
    index: The damaged record's index in the file.
    buffer_size: As for `read_records_with_filenames`.
    log: Where the damaged parts are counted.

  Returns:
    A dataset of `(serialized_record, where)` pairs.
  """
  zero = tf.constant(0, tf.int64)

  def step(offset, index, readable, failures, segments, damaged, reasons):
    """Steps over the damaged record at `offset`."""
    next_offset = offset + _FRAMING_BYTES + _declared_length(
        filename, file_size, offset)
    fits = tf.logical_and(next_offset > offset, next_offset <= file_size)
    count, num_bytes = tf.cond(
        tf.logical_and(fits, next_offset < file_size),
        lambda: _readable(filename, next_offset, buffer_size),
        lambda: (zero, zero))
    # A record that fits but is followed by another unreadable one: step
    # over that one as well, a few times at most (a damaged length that
    # happens to fit lands in the middle of data).
    failures = tf.where(count > 0, zero, failures + 1)
    stepped = tf.logical_and(fits, failures <= _MAX_STEPS_WITHOUT_RECORDS)
    end = tf.where(stepped, next_offset, file_size)
    reason = tf.strings.join([
        'bytes ', tf.strings.as_string(offset), ' to ',
        tf.strings.as_string(end), ' of its ',
        tf.strings.as_string(file_size), ' bytes ',
        tf.where(stepped, 'are a damaged record, skipped',
                 'cannot be read (a damaged record length, a record cut off, '
                 'or data after the last record)')
    ])
    position = damaged.size()
    segments = segments.write(position, tf.stack([end, count, index + 1]))
    damaged = damaged.write(position, describe_records(filename, index))
    reasons = reasons.write(position, reason)
    return (tf.where(stepped, next_offset + num_bytes, file_size),
            index + 1 + count, readable + num_bytes, failures, segments,
            damaged, reasons)

  _, _, readable, _, segments, damaged, reasons = tf.while_loop(
      lambda offset, *_: offset < file_size, step,
      (offset, index, offset, zero,
       tf.TensorArray(tf.int64, size=0, dynamic_size=True),
       tf.TensorArray(tf.string, size=0, dynamic_size=True),
       tf.TensorArray(tf.string, size=0, dynamic_size=True)))
  logged = tf.group(
      log.record_skipped(damaged.stack(), reasons.stack()),
      log.file_damaged(filename, file_size - readable))
  with tf.control_dependencies([logged]):
    segments = tf.identity(segments.stack())

  def segment_records(start, count, first_index):
    return _records_from(filename, start, buffer_size).take(count).enumerate(
        ).map(lambda position, record: (record, describe_records(
            filename, first_index + position)))

  return tf.data.Dataset.from_tensor_slices(
      (segments[:, 0], segments[:, 1], segments[:, 2])).flat_map(
          segment_records)
