"""Counts and logs the corrupt data an input pipeline skipped.

With `skip_corrupt_records=True` an input generator drops unreadable records
instead of failing; every skip is logged with the file it came from and
counted here, so a job can report (or test) how much data it lost.
"""

import threading
from typing import List

from absl import logging


class CorruptRecordLog:
  """Thread-safe tally of skipped records and of files read incompletely.

  tf.data calls `record_skipped` / `file_truncated` from its worker threads
  (through `tf.py_function`), only when something was skipped.

  Example:
    >>> log = CorruptRecordLog()
    >>> log.record_skipped('/data/a.tfrecord', "feature 'image': bad JPEG")
    >>> log.skipped_records
    1
  """

  def __init__(self):
    self._lock = threading.Lock()
    self._skipped_records = 0
    self._truncated_files = []

  @property
  def skipped_records(self) -> int:
    """The number of records dropped because they could not be parsed."""
    with self._lock:
      return self._skipped_records

  @property
  def truncated_files(self) -> List[str]:
    """Files whose unreadable tail was skipped (once per file and epoch)."""
    with self._lock:
      return list(self._truncated_files)

  def record_skipped(self, filename: str, reason: str):
    with self._lock:
      self._skipped_records += 1
      total = self._skipped_records
    logging.warning(
        'Skipped a corrupt record of %s (%d skipped so far): %s', filename,
        total, reason)

  def file_truncated(self, filename: str, bytes_read: int, file_size: int):
    with self._lock:
      self._truncated_files.append(filename)
    logging.warning(
        'Skipped the unreadable rest of %s: only %d of its %d bytes could be '
        'read as TFRecords (corrupt or truncated file).', filename, bytes_read,
        file_size)
