"""Writing (and damaging) TFRecord files in the data tests."""

from typing import Iterable

import tensorflow as tf


def write_records(path, records: Iterable[bytes],
                  compression_type: str = '') -> str:
  """Writes `records` to a TFRecord file at `path`; returns the path."""
  with tf.io.TFRecordWriter(str(path), compression_type) as writer:
    for record in records:
      writer.write(record)
  return str(path)


def corrupt_copy(source, destination, damage: str = 'flip') -> str:
  """Copies `source` to `destination` with damage; returns the copy's path.

  Args:
    source: A TFRecord file.
    destination: Where the damaged copy goes.
    damage: 'flip' inverts a byte in the middle (a failed CRC); 'truncate'
      cuts the last 10 bytes off, as a writer that died would.

  Returns:
    The path of the copy.
  """
  with open(source, 'rb') as f:
    data = bytearray(f.read())
  if damage == 'flip':
    data[len(data) // 2] ^= 0xFF
  else:
    data = data[:-10]
  with open(destination, 'wb') as f:
    f.write(bytes(data))
  return str(destination)
