"""The layout of an export root: which directories are complete exports.

An export root (e.g. `model_dir/export/`) holds one SavedModel per version in
a directory named by its global step (`export/1200/`). Writers build a version
under a temporary name (`export/temp-1200-<hex>/`) and rename it when it is
complete, so readers that only accept all-digit names never see a partial
export. As a second guard (on filesystems where a directory rename is not
atomic), a version counts only once the files written last are present.

Both sides use this module: the export generators to name and prune versions,
the predictors to pick the newest complete one.
"""

import os
import uuid
from typing import List, Optional, Tuple

import tensorflow as tf

from t2r.specs import proto_conversion

TEMP_PREFIX = 'temp-'
_SAVED_MODEL_FILES = ('saved_model.pb', 'saved_model.pbtxt')


def version_dir_name(version: int) -> str:
  """The directory name of export `version` (a non-negative global step)."""
  if isinstance(version, bool) or not isinstance(version, int) or version < 0:
    raise ValueError(f'An export version is a non-negative int (the global '
                     f'step), got {version!r}.')
  return str(version)


def temp_dir_name(version: int) -> str:
  """A unique temporary name under which export `version` is written."""
  return f'{TEMP_PREFIX}{version_dir_name(version)}-{uuid.uuid4().hex}'


def saved_model_file(path: str) -> Optional[str]:
  """The `saved_model.pb` (or `.pbtxt`) in export `path`, or None."""
  for name in _SAVED_MODEL_FILES:
    candidate = os.path.join(path, name)
    if tf.io.gfile.exists(candidate):
      return candidate
  return None


def is_complete_export(path: str) -> bool:
  """True if `path` holds a SavedModel and its t2r assets.

  Complete is not loadable: a damaged `saved_model.pb` passes this check
  (predictors skip exports that fail to load, see
  `ExportedSavedModelPredictor`).
  """
  has_saved_model = saved_model_file(path) is not None
  assets = os.path.join(path, proto_conversion.ASSETS_DIRNAME,
                        proto_conversion.ASSETS_FILENAME)
  return has_saved_model and tf.io.gfile.exists(assets)


def list_exports(export_root: str) -> List[Tuple[int, str]]:
  """Returns (version, path) of the complete exports, oldest first.

  Temporary directories, other names and incomplete versions are skipped.

  Example:
    >>> list_exports('/tmp/model/export')
    [(100, '/tmp/model/export/100'), (200, '/tmp/model/export/200')]

  Args:
    export_root: The directory holding version directories; a missing
      directory has no exports.

  Returns:
    A list sorted by version.
  """
  if not tf.io.gfile.isdir(export_root):
    return []
  versions = []
  for name in tf.io.gfile.listdir(export_root):
    name = name.rstrip('/')
    if not name.isdigit():
      continue
    path = os.path.join(export_root, name)
    if is_complete_export(path):
      versions.append((int(name), path))
  return sorted(versions)


def latest_export(export_root: str) -> Optional[Tuple[int, str]]:
  """Returns (version, path) of the newest complete export, or None."""
  exports = list_exports(export_root)
  return exports[-1] if exports else None
