"""GrowingReplayInputGenerator: a replay that grows while the trainer reads it.

Replay files are written with TFRecordReplayWriter as collectors would, named
by `replay_file_name` under `<root>/policy_<tag>/`. Every record holds a float
id `x`; each file holds its own ids, so the ids read tell which files were
read.
"""

import os
import re
import sys
import threading
import time

import gin
import numpy as np
import pytest
import tensorflow as tf

from t2r import specs
from t2r import train
from t2r.data import replay_input_generator
from t2r.data import replay_writer
from t2r.modes import ModeKeys

GrowingReplayInputGenerator = replay_input_generator.GrowingReplayInputGenerator
replay_file_name = replay_input_generator.replay_file_name

_TRAIN_TESTS = os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), 'train')
_SPEC = specs.TensorSpecStruct(
    x=specs.ExtendedTensorSpec((1,), tf.float32, name='x'))


def _write(root, global_step, ids, tag='a'):
  """Writes a complete replay file of records with ids `ids`; its path."""
  path = os.path.join(str(root), f'policy_{tag}',
                      replay_file_name(global_step, tag))
  writer = replay_writer.TFRecordReplayWriter(_SPEC)
  with writer.open(path):
    writer.write([{'x': np.array([i], np.float32)} for i in ids])
  return path


def _dataset(generator, mode=ModeKeys.EVAL, input_context=None):
  generator.set_feature_specifications(_SPEC)
  generator.set_label_specifications(specs.TensorSpecStruct())
  return generator.create_dataset(mode, input_context=input_context)


def _ids(dataset, num_batches=None):
  if num_batches is not None:
    dataset = dataset.take(num_batches)
  return [int(x) for features, _ in dataset for x in features.x[:, 0]]


def test_replay_file_names_sort_by_global_step():
  names = [replay_file_name(step, 'collect', timestamp=0.0, pid=7)
           for step in (100, 9, 10)]
  assert sorted(names) == [names[1], names[2], names[0]]
  assert names[1] == 'gs000000000009_collect_19700101T000000000000Z_7.tfrecord'


def test_replay_file_names_of_one_step_sort_by_time():
  later = replay_file_name(5, 'collect', timestamp=2.5, pid=1)
  earlier = replay_file_name(5, 'collect', timestamp=1.0, pid=99)
  assert sorted([later, earlier]) == [earlier, later]


@pytest.mark.parametrize('kwargs, match', [
    (dict(global_step=-1, tag='a'), 'global_step'),
    (dict(global_step=1, tag='.hidden'), 'tag'),
    (dict(global_step=1, tag='a/b'), 'tag'),
    (dict(global_step=1, tag='a', extension='tfrecord'), 'extension'),
])
def test_replay_file_name_rejects_what_would_break_the_order(kwargs, match):
  with pytest.raises(ValueError, match=match):
    replay_file_name(**kwargs)


def test_a_file_completed_after_the_iterator_was_created_is_read_by_it(
    tmp_path):
  _write(tmp_path, 1, range(4))
  iterator = iter(_dataset(GrowingReplayInputGenerator(
      f'{tmp_path}/policy_*/*.tfrecord', batch_size=2, shuffle_buffer_size=4,
      seed=0, wait_for_files_secs=0), ModeKeys.TRAIN))
  assert set(_ids([next(iterator)])) <= {0, 1, 2, 3}
  _write(tmp_path, 2, range(100, 104), tag='b')
  seen = set()
  for _ in range(200):
    seen.update(_ids([next(iterator)]))
    if seen >= {100, 101, 102, 103}:
      break
  assert seen == {0, 1, 2, 3, 100, 101, 102, 103}


def test_the_window_reads_only_the_newest_files_by_name(tmp_path):
  # By path, policy_a/gs3 sorts before policy_b/gs2; by name it is newer.
  _write(tmp_path, 1, [1], tag='b')
  _write(tmp_path, 2, [2], tag='b')
  _write(tmp_path, 3, [3], tag='a')
  _write(tmp_path, 4, [4], tag='b')
  generator = GrowingReplayInputGenerator(
      f'{tmp_path}/policy_*/', newest_files=2, num_passes=3, batch_size=1,
      wait_for_files_secs=0)
  assert _ids(_dataset(generator)) == [3, 4] * 3


def test_a_directory_stands_for_its_files_read_oldest_first(tmp_path):
  for step in (3, 1, 2):
    _write(tmp_path, step, [step])
  generator = GrowingReplayInputGenerator(
      str(tmp_path / 'policy_a'), num_passes=2, batch_size=1,
      wait_for_files_secs=0)
  assert _ids(_dataset(generator)) == [1, 2, 3, 1, 2, 3]


def test_temporary_files_are_never_read_even_with_a_bare_star(tmp_path):
  directory = tmp_path / 'policy_a'
  _write(tmp_path, 1, [1, 2])
  unfinished = replay_writer.TFRecordReplayWriter(_SPEC).open(
      str(directory / replay_file_name(2, 'a')))
  try:
    unfinished.write([{'x': np.array([99.0], np.float32)}])
    unfinished.flush()
    assert any(name.startswith('.') for name in os.listdir(directory))
    generator = GrowingReplayInputGenerator(
        f'{directory}/*', num_passes=2, batch_size=1, wait_for_files_secs=0)
    assert _ids(_dataset(generator)) == [1, 2, 1, 2]
  finally:
    unfinished.close()


def test_the_offline_mix_follows_its_weight(tmp_path):
  _write(tmp_path, 1, range(8))
  offline = replay_writer.TFRecordReplayWriter(_SPEC)
  with offline.open(str(tmp_path / 'demos' / 'demos.tfrecord')):
    offline.write([{'x': np.array([i], np.float32)}
                   for i in range(1000, 1008)])
  generator = GrowingReplayInputGenerator(
      f'{tmp_path}/policy_*/', offline_file_patterns=f'{tmp_path}/demos/*',
      offline_weight=0.25, batch_size=20, seed=0, wait_for_files_secs=0)
  ids = _ids(_dataset(generator, ModeKeys.TRAIN), num_batches=20)
  offline_fraction = np.mean([i >= 1000 for i in ids])
  assert len(ids) == 400
  assert abs(offline_fraction - 0.25) < 0.07


@pytest.mark.parametrize('wait, when', [(0, 'waiting is off'),
                                        (0.2, 'after waiting')])
def test_no_complete_file_fails_naming_the_pattern(tmp_path, wait, when):
  directory = tmp_path / 'policy_a'
  unfinished = replay_writer.TFRecordReplayWriter().open(
      str(directory / 'gs1.tfrecord'))
  unfinished.write([b'not counted'])
  unfinished.flush()
  pattern = f'{directory}/*'
  try:
    with pytest.raises(ValueError) as raised:
      _dataset(GrowingReplayInputGenerator(pattern,
                                           wait_for_files_secs=wait))
  finally:
    unfinished.close()
  message = str(raised.value)
  assert f'no complete file matches the replay file pattern {pattern!r}' in (
      message)
  assert when in message and 'wait_for_files_secs' in message


def test_complete_files_without_records_count_as_no_data_yet(tmp_path):
  replay_writer.TFRecordReplayWriter().open(
      str(tmp_path / 'gs1.tfrecord')).close()
  with pytest.raises(ValueError,
                     match='1 complete file.s. match, but none holds a '
                     'record'):
    _dataset(GrowingReplayInputGenerator(f'{tmp_path}/*',
                                         wait_for_files_secs=0))


def test_create_dataset_waits_for_the_first_file(tmp_path):
  collector = threading.Thread(
      target=lambda: (time.sleep(0.5), _write(tmp_path, 1, [7])))
  collector.start()
  try:
    generator = GrowingReplayInputGenerator(
        f'{tmp_path}/policy_*/', num_passes=1, batch_size=1,
        wait_for_files_secs=60)
    assert _ids(_dataset(generator)) == [7]
  finally:
    collector.join()


def test_files_deleted_while_reading_fail_naming_the_pattern(tmp_path):
  path = _write(tmp_path, 1, [1])
  pattern = f'{tmp_path}/policy_*/'
  dataset = _dataset(GrowingReplayInputGenerator(pattern, batch_size=1,
                                                 wait_for_files_secs=0))
  os.remove(path)
  with pytest.raises(tf.errors.InvalidArgumentError,
                     match=re.escape(
                         'No complete file matches the replay file pattern '
                         f'{pattern} any more')):
    next(iter(dataset))


@pytest.mark.parametrize('num_files', [1, 4])
def test_input_pipelines_read_disjoint_shares(tmp_path, num_files):
  for step in range(num_files):
    _write(tmp_path, step, range(10 * step, 10 * step + 4))
  shares = []
  for pipeline in range(2):
    generator = GrowingReplayInputGenerator(
        f'{tmp_path}/policy_a/', num_passes=1, batch_size=2,
        wait_for_files_secs=0)
    shares.append(set(_ids(_dataset(generator, input_context=(
        tf.distribute.InputContext(2, pipeline, 2))))))
  assert not shares[0] & shares[1]
  assert shares[0] | shares[1] == {
      10 * step + i for step in range(num_files) for i in range(4)}


@pytest.mark.parametrize('kwargs, error, match', [
    (dict(file_patterns=['/replay/*']), TypeError, 'comma-separated string'),
    (dict(file_patterns=' , '), ValueError, 'holds no glob'),
    (dict(file_patterns='recordio:/r/*'), ValueError, 'recordio:'),
    (dict(file_patterns='/r/*', newest_files=0), ValueError, 'newest_files'),
    (dict(file_patterns='/r/*', wait_for_files_secs=-1), ValueError,
     'wait_for_files_secs'),
    (dict(file_patterns='/r/*', offline_file_patterns='/d/*',
          offline_weight=1.5), ValueError, 'offline_weight'),
    (dict(file_patterns='/r/*', offline_file_patterns='/d/*', num_passes=1),
     ValueError, 'num_passes'),
])
def test_invalid_arguments_are_rejected(kwargs, error, match):
  with pytest.raises(error, match=match):
    GrowingReplayInputGenerator(**kwargs)


def test_it_is_gin_configurable(tmp_path):
  gin.clear_config()
  try:
    gin.parse_config(f"""
GrowingReplayInputGenerator.file_patterns = '{tmp_path}/policy_*/'
GrowingReplayInputGenerator.wait_for_files_secs = 0
""")
    with pytest.raises(ValueError, match=re.escape(
        f"pattern '{tmp_path}/policy_*/' (waiting is off")):
      _dataset(GrowingReplayInputGenerator())
  finally:
    gin.clear_config()


@pytest.fixture
def tiny_model():
  sys.path.insert(0, _TRAIN_TESTS)
  try:
    import tiny_model as module  # pylint: disable=g-import-not-at-top
  finally:
    sys.path.remove(_TRAIN_TESTS)
  return module


def test_it_feeds_train_eval_model(tmp_path, tiny_model):
  model = tiny_model.LinearModel()
  writer = replay_writer.TFRecordReplayWriter(
      model.get_feature_specification(ModeKeys.TRAIN),
      model.get_label_specification(ModeKeys.TRAIN))
  features, labels = next(tiny_model.linear_batches(8))
  with writer.open(str(tmp_path / 'replay' / replay_file_name(1, 'a'))):
    writer.write([({'state': features['state'][i]},
                   {'target': labels['target'][i]}) for i in range(8)])
  gin.clear_config()
  try:
    result = train.train_eval_model(
        t2r_model=tiny_model.LinearModel,
        input_generator_train=GrowingReplayInputGenerator(
            f'{tmp_path}/replay/', newest_files=10, batch_size=4,
            wait_for_files_secs=0),
        max_train_steps=3, model_dir=str(tmp_path / 'model'),
        save_checkpoints_steps=3, seed=0, show_progress=False)
  finally:
    gin.clear_config()
  assert result['global_step'] == 3
  assert np.isfinite(result['train']['loss'])
