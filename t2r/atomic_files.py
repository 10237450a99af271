"""Atomic whole-file writes on any `tf.io.gfile` filesystem.

A reader never sees a half-written file: the content goes to a temporary name
in the same directory and is renamed onto the final path once complete. Used
for export assets, the operative gin config and result files.
"""

import os
import uuid
from typing import Union

import tensorflow as tf


def temporary_path(path: str) -> str:
  """A unique sibling of `path` for writing before the rename."""
  return f'{path}.tmp-{uuid.uuid4().hex}'


def write_atomically(path: str, content: Union[str, bytes]):
  """Writes `content` (text or bytes) to `path` via a temporary file + rename.

  Example:
    >>> write_atomically('/tmp/run/operative_config.gin', 'a.b = 1\\n')

  Args:
    path: The final file path; its directory is created if needed.
    content: `str` is written as text, `bytes` as binary.

  Raises:
    TypeError: If `content` is neither str nor bytes.
  """
  if not isinstance(content, (str, bytes)):
    raise TypeError(f'write_atomically writes str or bytes, got '
                    f'{type(content).__name__} for {path!r}.')
  tf.io.gfile.makedirs(os.path.dirname(path) or '.')
  temp_path = temporary_path(path)
  try:
    with tf.io.gfile.GFile(temp_path, 'wb' if isinstance(content, bytes)
                           else 'w') as f:
      f.write(content)
    tf.io.gfile.rename(temp_path, path, overwrite=True)
  finally:
    if tf.io.gfile.exists(temp_path):
      tf.io.gfile.remove(temp_path)
