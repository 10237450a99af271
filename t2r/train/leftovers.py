"""Removes what a killed job left half-written in its model_dir.

Everything in a model_dir is written under a temporary name and renamed
when complete, so a job killed mid-write leaves only temporaries behind;
readers skip them, but they pile up. These are, and nothing else is:

* `ckpt-<step>_temp/` (a file too on some filesystems) and, on S3,
  `ckpt-<step>.part-*`: the shards `tf.train.CheckpointManager` writes before
  merging them into `ckpt-<step>.index` / `.data-*`;
* `checkpoint.tmp<32 hex>`: the CheckpointManager's state file before its
  rename;
* `<name>.tmp-<32 hex>`: t2r's atomic files (`atomic_files`, e.g. the
  operative gin config);
* `<export root>/temp-<step>-<32 hex>/` in any directory right under
  model_dir (`export/`, `export_best/`, ...): exports before their rename
  (`export_dirs.temp_dir_name`).

Complete checkpoints and exports never match. Another job sharing the
model_dir (an evaluator exporting its best models) may be writing a
temporary right now, so entries modified within `min_age_secs` are kept.
"""

import os
import re
import time
from typing import List

from absl import logging
import tensorflow as tf

from t2r.predictors import export_dirs

_UUID_HEX = '[0-9a-f]{32}'
# Names right in model_dir.
_MODEL_DIR_TEMPORARIES = re.compile(
    r'ckpt-\d+_temp|ckpt-\d+\.part-.+|'
    f'checkpoint\\.tmp{_UUID_HEX}|.+\\.tmp-{_UUID_HEX}')
# Names in the directories right under model_dir (the export roots).
_EXPORT_TEMPORARIES = re.compile(
    f'{re.escape(export_dirs.TEMP_PREFIX)}\\d+-{_UUID_HEX}')


def _newest_mtime_secs(path: str) -> float:
  """The newest modification time of `path` or anything under it."""
  times = [tf.io.gfile.stat(path).mtime_nsec]
  if tf.io.gfile.isdir(path):
    for directory, subdirectories, files in tf.io.gfile.walk(path):
      times += [
          tf.io.gfile.stat(os.path.join(directory, name)).mtime_nsec
          for name in subdirectories + files
      ]
  return max(times) / 1e9


def _temporaries(model_dir: str) -> List[str]:
  """The paths in model_dir whose names are temporary ones."""
  found = []
  for name in tf.io.gfile.listdir(model_dir):
    name = name.rstrip('/')
    path = os.path.join(model_dir, name)
    if _MODEL_DIR_TEMPORARIES.fullmatch(name):
      found.append(path)
    elif tf.io.gfile.isdir(path):
      found += [
          os.path.join(path, child.rstrip('/'))
          for child in tf.io.gfile.listdir(path)
          if _EXPORT_TEMPORARIES.fullmatch(child.rstrip('/'))
      ]
  return sorted(found)


def remove_leftovers(model_dir: str, min_age_secs: float = 60.0) -> List[str]:
  """Deletes the temporary checkpoints, exports and files of killed jobs.

  Call it on the chief before training starts.

  Example:
    >>> remove_leftovers('/tmp/model')
    ['/tmp/model/ckpt-500_temp', '/tmp/model/export/temp-500-3f...']

  Args:
    model_dir: The job's model_dir (any `tf.io.gfile` filesystem); a missing
      one has no leftovers.
    min_age_secs: Temporaries modified (anything under them) within this
      many seconds are kept: another job may be writing them. 0 removes all,
      for when no other job writes to model_dir.

  Returns:
    The removed paths, sorted.

  Raises:
    ValueError: If `min_age_secs` is negative.
  """
  if min_age_secs < 0:
    raise ValueError(
        f'min_age_secs must be >= 0 (seconds), got {min_age_secs!r}.')
  if not tf.io.gfile.isdir(model_dir):
    return []
  cutoff = time.time() - min_age_secs
  removed = []
  for path in _temporaries(model_dir):
    try:
      if _newest_mtime_secs(path) > cutoff:
        logging.info('Keeping %s: modified in the last %g s, so it may be '
                     'being written.', path, min_age_secs)
        continue
      if tf.io.gfile.isdir(path):
        tf.io.gfile.rmtree(path)
      else:
        tf.io.gfile.remove(path)
    except tf.errors.NotFoundError:
      continue  # Renamed or removed meanwhile by its writer.
    logging.info('Removed %s, left half-written by an earlier job.', path)
    removed.append(path)
  return removed
