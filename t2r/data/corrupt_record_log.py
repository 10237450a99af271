"""Counts and logs the corrupt data an input pipeline skipped.

With `skip_corrupt_records=True` an input generator drops unreadable records
instead of failing. Every skipped record, and every damaged part of a file,
is printed to stderr with where it came from and why, and remembered here,
so a job can report (or test) how much data it lost.

The log is written by ops inside the tf.data graph (two hash tables), not by
Python callbacks: a `tf.py_function` in an input pipeline can keep a failing
process from exiting (when the pipeline is torn down at interpreter exit, a
worker waiting inside the callback for the GIL never gets it, and the
teardown waits for the worker forever).
"""

import sys
from typing import Dict, List

import tensorflow as tf


def _hash(where: tf.Tensor) -> tf.Tensor:
  return tf.strings.to_hash_bucket_fast(where, 2**62)


class CorruptRecordLog:
  """Tally of the records skipped and of the files read incompletely.

  A record is identified by where it came from ('record 7 of
  /data/a.tfrecord'), so a record that several epochs skip counts once.

  Example:
    >>> log = CorruptRecordLog()
    >>> log.record_skipped(tf.constant(['record 7 of /data/a.tfrecord']),
    ...                    tf.constant(['feature `image` does not decode']))
    >>> log.skipped_records
    1
    >>> log.skipped
    {'record 7 of /data/a.tfrecord': 'feature `image` does not decode'}

  Args:
    print_skipped: Print a line per skipped record to stderr (`t2r inspect`
      turns it off and reports them itself).
  """

  def __init__(self, print_skipped: bool = True):
    self._print_skipped = print_skipped
    # 'record 7 of /data/a.tfrecord' -> 1.
    self._skipped = tf.lookup.experimental.MutableHashTable(
        tf.string, tf.int64, default_value=0)
    # Hash of 'record 7 of /data/a.tfrecord' -> why it was skipped (there
    # is no string -> string table kernel).
    self._reasons = tf.lookup.experimental.MutableHashTable(
        tf.int64, tf.string, default_value='')
    # '/data/a.tfrecord' -> its unreadable bytes.
    self._damaged_files = tf.lookup.experimental.MutableHashTable(
        tf.string, tf.int64, default_value=0)

  @property
  def skipped_records(self) -> int:
    """The number of distinct records skipped because they were corrupt.

    A damaged part of a file counts as one record: the records it held
    cannot be told apart.
    """
    return int(self._skipped.size())

  @property
  def truncated_files(self) -> List[str]:
    """The files with unreadable (damaged or cut off) parts, sorted."""
    names, _ = self._damaged_files.export()
    return sorted(name.decode() for name in names.numpy())

  @property
  def skipped(self) -> Dict[str, str]:
    """{where: reason} of every record skipped so far, sorted by where."""
    names, _ = self._skipped.export()
    reasons = self._reasons.lookup(_hash(names))
    return dict(sorted(zip((n.decode() for n in names.numpy()),
                           (r.decode() for r in reasons.numpy()))))

  @property
  def unreadable_bytes(self) -> Dict[str, int]:
    """{file: bytes that could not be read as records} of damaged files."""
    names, counts = self._damaged_files.export()
    return dict(sorted(zip((n.decode() for n in names.numpy()),
                           (int(c) for c in counts.numpy()))))

  def record_skipped(self, where: tf.Tensor,
                     reasons: tf.Tensor) -> tf.Operation:
    """Returns an op that logs and counts skipped records.

    Args:
      where: 1-D strings, where each record came from ('record 7 of
        /data/a.tfrecord').
      reasons: 1-D strings, why each was skipped.

    Returns:
      The op; it prints one line per record to stderr.
    """
    lines = tf.strings.join(['Skipped corrupt ', where, ': ', reasons,
                             ' (skip_corrupt_records=True).'])
    inserted = self._skipped.insert(
        where, tf.ones_like(where, dtype=tf.int64))
    explained = self._reasons.insert(_hash(where), reasons)
    if not self._print_skipped:
      return tf.group(inserted, explained)
    printed = tf.cond(
        tf.size(lines) > 0,
        lambda: tf.print(tf.strings.reduce_join(lines, separator='\n'),
                         output_stream=sys.stderr),
        tf.no_op)
    return tf.group(printed, inserted, explained)

  def file_damaged(self, filename: tf.Tensor,
                   unreadable_bytes: tf.Tensor) -> tf.Operation:
    """Returns an op that records a file's unreadable bytes (not logged).

    The damaged parts themselves are logged and counted with
    `record_skipped`.

    Args:
      filename: Scalar string.
      unreadable_bytes: Scalar int64, the bytes of the file that could not
        be read as records.
    """
    return self._damaged_files.insert(filename[None], unreadable_bytes[None])
