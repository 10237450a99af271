"""Small JSON status files through which flywheel processes report progress.

Every process of a flywheel (trainer, collectors, evaluator) writes
`root_dir/status/<name>.json` now and then, atomically (temp + rename), and
the launcher reads them all to draw its status line. The directory is the
only shared state, so a process on another machine reports the same way.

Example:
  >>> write_status('/tmp/run', 'collector-0', {'episodes': 40})
  >>> read_statuses('/tmp/run')['collector-0']['episodes']
  40
"""

import json
import os
import time
import uuid
from typing import Any, Dict

import tensorflow as tf

_SUFFIX = '.json'


def status_dir(root_dir: str) -> str:
  return os.path.join(root_dir, 'status')


def write_status(root_dir: str, name: str, status: Dict[str, Any]):
  """Replaces `root_dir/status/<name>.json` with `status` plus a timestamp.

  Args:
    root_dir: The flywheel's root directory.
    name: The process name ('trainer', 'collector-0', ...).
    status: JSON-serializable values.
  """
  directory = status_dir(root_dir)
  tf.io.gfile.makedirs(directory)
  final = os.path.join(directory, name + _SUFFIX)
  temporary = os.path.join(directory, f'.{name}.tmp-{uuid.uuid4().hex[:8]}')
  with tf.io.gfile.GFile(temporary, 'w') as f:
    f.write(json.dumps(dict(status, updated=time.time())))
  tf.io.gfile.rename(temporary, final, overwrite=True)


def read_statuses(root_dir: str) -> Dict[str, Dict[str, Any]]:
  """{name: status} of every status file (unreadable ones are skipped)."""
  statuses = {}
  for path in tf.io.gfile.glob(os.path.join(status_dir(root_dir),
                                            '[!.]*' + _SUFFIX)):
    try:
      with tf.io.gfile.GFile(path) as f:
        statuses[os.path.basename(path)[:-len(_SUFFIX)]] = json.loads(
            f.read())
    except (ValueError, tf.errors.OpError):
      continue  # Replaced while being read: the next poll sees it.
  return statuses
