"""remove_leftovers: a killed job's temporaries go, nothing complete does."""

import os
import time
import uuid

import pytest
import tensorflow as tf

from t2r import atomic_files
from t2r.predictors import export_dirs
from t2r.train import leftovers


def _make(path, files=('saved_model.pb',)):
  """A directory holding `files`, or a file if `files` is None."""
  if files is None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('partial')
  else:
    path.mkdir(parents=True, exist_ok=True)
    for name in files:
      (path / name).write_text('partial')
  return str(path)


def _age(root, seconds):
  """Sets the modification time of everything under root `seconds` back."""
  then = time.time() - seconds
  for directory, subdirectories, files in os.walk(root):
    for name in subdirectories + files:
      os.utime(os.path.join(directory, name), (then, then))


def _tree(root):
  return sorted(
      os.path.relpath(os.path.join(directory, name), root)
      for directory, subdirectories, files in os.walk(root)
      for name in subdirectories + files)


@pytest.fixture
def model_dir(tmp_path):
  """A model_dir with a complete checkpoint and export, and leftovers."""
  checkpoint = tf.train.Checkpoint(v=tf.Variable(1.0))
  tf.train.CheckpointManager(checkpoint, str(tmp_path), max_to_keep=2).save()
  _make(tmp_path / 'export' / '100', ['saved_model.pb', 'variables.index'])
  _make(tmp_path / 'export_best', [])
  _make(tmp_path / 'train', ['events.out.tfevents.1'])
  _make(tmp_path / 'operative_config.gin', None)
  # Not temporaries of ours, though the names look alike.
  _make(tmp_path / 'export' / 'temp-notes', None)
  _make(tmp_path / 'ckpt-2_temp.txt', None)
  _make(tmp_path / 'notes.tmp', None)
  return tmp_path


def _leftovers(model_dir):
  """Writes what jobs killed mid-write leave; returns their paths."""
  paths = [
      _make(model_dir / 'ckpt-2_temp',
            ['part-00000-of-00001.index',
             'part-00000-of-00001.data-00000-of-00001']),
      _make(model_dir / 'ckpt-3.part-00000-of-00001.index', None),  # S3.
      _make(model_dir / f'checkpoint.tmp{uuid.uuid4().hex}', None),
      _make(model_dir / os.path.basename(atomic_files.temporary_path(
          'operative_config.gin')), None),
      _make(model_dir / 'export' / export_dirs.temp_dir_name(200)),
      _make(model_dir / 'export_best' / export_dirs.temp_dir_name(7)),
  ]
  return sorted(paths)


def test_removes_only_temporaries(model_dir):
  complete = _tree(model_dir)
  left = _leftovers(model_dir)
  _age(model_dir, 3600)
  assert leftovers.remove_leftovers(str(model_dir)) == left
  assert _tree(model_dir) == complete
  assert tf.train.latest_checkpoint(str(model_dir)).endswith('ckpt-1')
  assert leftovers.remove_leftovers(str(model_dir)) == []


def test_keeps_temporaries_being_written(model_dir):
  left = _leftovers(model_dir)
  _age(model_dir, 3600)
  [being_written] = [path for path in left if 'export_best' in path]
  # A file just written inside it: another job is building this export.
  with open(os.path.join(being_written, 'variables.data'), 'w') as f:
    f.write('new')
  removed = leftovers.remove_leftovers(str(model_dir), min_age_secs=60)
  assert removed == [path for path in left if path != being_written]
  assert leftovers.remove_leftovers(str(model_dir), min_age_secs=0) == [
      being_written]


def test_a_missing_model_dir_has_no_leftovers(tmp_path):
  assert leftovers.remove_leftovers(str(tmp_path / 'missing')) == []


def test_a_negative_age_is_an_error(tmp_path):
  with pytest.raises(ValueError, match='min_age_secs must be >= 0'):
    leftovers.remove_leftovers(str(tmp_path), min_age_secs=-1)
