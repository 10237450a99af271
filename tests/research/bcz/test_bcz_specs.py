"""BC-Z episode records: task embeddings, the layout, writing and reading."""

import numpy as np
import pytest
import tensorflow as tf

from research.bcz import bcz_specs
from t2r.data import episode_checks

_TASKS = ['pick the red block', 'push the duck to the left', 'reach the bowl']


def _episode(num_steps, task='reach the bowl', seed=0, reset_seed=None,
             size=16, moving=True):
  rng = np.random.default_rng(seed)
  # Smooth frames: JPEG keeps them within a few levels.
  ramp = np.linspace(0, 200, size, dtype=np.float32)
  frames = np.stack([(ramp[:, None, None] + 5 * t + np.zeros((size, size, 3)))
                     .astype(np.uint8) for t in range(num_steps)])
  poses = rng.uniform(-0.5, 0.5, (num_steps, 7)).astype(np.float32)
  poses[:, 6] = rng.uniform(0, 1, num_steps)
  actions = rng.uniform(-0.01, 0.01, (num_steps, 7)).astype(np.float32)
  actions[:, 6] = rng.integers(0, 2, num_steps)
  if not moving:
    poses[:] = poses[0]
    actions[:, :6] = 0.0
    actions[:, 6] = 0.0
  table = bcz_specs.TaskTable(_TASKS, embedding_size=8)
  return bcz_specs.make_episode(frames, poses, actions, reset_seed=reset_seed,
                                **table.context(task))


def test_task_embedding_is_a_fixed_unit_vector_per_text():
  first = bcz_specs.task_embedding('pick the red block', 32)
  assert first.shape == (32,) and first.dtype == np.float32
  assert np.linalg.norm(first) == pytest.approx(1.0, abs=1e-6)
  np.testing.assert_array_equal(
      first, bcz_specs.task_embedding('pick the red block', 32))
  other = bcz_specs.task_embedding('reach the bowl', 32)
  assert abs(float(first @ other)) < 0.7
  # Pinned: records store the vector, so it must never change (SHA-256
  # seeded, not Python's per-process salted hash).
  np.testing.assert_allclose(
      bcz_specs.task_embedding('reach the bowl', 4),
      [-0.20403409, 0.22623658, 0.91274697, 0.27217662], rtol=1e-6)
  assert bcz_specs.task_embedding('Reach the bowl', 4).tolist() != (
      bcz_specs.task_embedding('reach the bowl', 4).tolist())


@pytest.mark.parametrize('text, size, error, message', [
    (3, 8, TypeError, 'str'),
    ('', 8, ValueError, 'non-empty'),
    ('a', 0, ValueError, 'positive int'),
])
def test_task_embedding_rejects_bad_arguments(text, size, error, message):
  with pytest.raises(error, match=message):
    bcz_specs.task_embedding(text, size)


def test_task_table_ids_embeddings_and_errors():
  table = bcz_specs.TaskTable(_TASKS, embedding_size=8)
  assert table.num_tasks == 3 and table.task_id('reach the bowl') == 2
  np.testing.assert_array_equal(table.embeddings[1],
                                bcz_specs.task_embedding(_TASKS[1], 8))
  assert sorted(table.context(_TASKS[0])) == ['task', 'task_embedding',
                                               'task_id']
  with pytest.raises(ValueError, match="Unknown task 'fly'"):
    table.task_id('fly')
  with pytest.raises(ValueError, match='distinct'):
    bcz_specs.TaskTable(['a', 'a'])
  with pytest.raises(ValueError, match=r'expected \(8,\)'):
    bcz_specs.TaskTable(['a'], 8, embedding_fn=lambda text, size: [0.0])
  # A sentence encoder plugs in as embedding_fn.
  custom = bcz_specs.TaskTable(['a', 'b'], 2,
                               embedding_fn=lambda t, s: [len(t), 0.0])
  np.testing.assert_array_equal(custom.embedding('b'), [1.0, 0.0])


def test_episode_layout_is_sequence_steps_and_context():
  spec = bcz_specs.get_bcz_episode_specs(image_size=64, task_embedding_size=32)
  assert [p for p, s in spec.items() if s.is_sequence] == [
      bcz_specs.IMAGE, bcz_specs.PROPRIOCEPTION, bcz_specs.ACTION,
      bcz_specs.TARGET_POSITION]
  assert spec[bcz_specs.TARGET_POSITION].is_optional
  image = spec[bcz_specs.IMAGE]
  assert (image.shape, image.dtype, image.data_format, image.name) == (
      (64, 64, 3), tf.uint8, 'jpeg', 'image')
  assert spec[bcz_specs.PROPRIOCEPTION].shape == (7,)
  assert spec[bcz_specs.ACTION].shape == (7,)
  assert spec[bcz_specs.TASK_EMBEDDING].shape == (32,)
  assert spec[bcz_specs.TASK_ID].dtype == tf.int64
  assert spec[bcz_specs.RESET_SEED].is_optional
  assert spec[bcz_specs.TASK].is_optional


def test_written_records_are_sequence_examples_with_steps_and_context(
    tmp_path):
  paths = bcz_specs.write_episodes(str(tmp_path / 'demos.tfrecord'),
                                   [_episode(3, reset_seed=11)])
  record = next(iter(tf.data.TFRecordDataset(paths))).numpy()
  example = tf.train.SequenceExample.FromString(record)
  assert sorted(example.feature_lists.feature_list) == [
      'action', 'image', 'proprioception']
  assert len(example.feature_lists.feature_list['image'].feature) == 3
  assert sorted(example.context.feature) == [
      'reset_seed', 'task', 'task_embedding', 'task_id']


def test_episodes_round_trip_through_the_spec_writer_and_parser(tmp_path):
  episodes = [_episode(6, task=_TASKS[0], seed=1, reset_seed=5),
              _episode(2, task=_TASKS[2], seed=2)]
  paths = bcz_specs.write_episodes(str(tmp_path / 'demos.tfrecord'), episodes,
                                   max_records_per_file=1)
  assert len(paths) == 2
  read = list(bcz_specs.read_episodes(str(tmp_path / 'demos-*.tfrecord'),
                                      image_size=16, task_embedding_size=8))
  assert len(read) == 2
  for (features, labels), parsed in zip(episodes, read):
    np.testing.assert_array_equal(parsed['proprioception'],
                                  features['proprioception'])
    np.testing.assert_array_equal(parsed['action'], labels['action'])
    np.testing.assert_array_equal(parsed['task_embedding'],
                                  features['task_embedding'])
    assert parsed['task_id'] == features['task_id']
    assert parsed['task'] == features['task']
    assert parsed['image'].shape == features['image'].shape
    assert np.abs(parsed['image'].astype(int) -
                  features['image'].astype(int)).max() <= 4  # JPEG.
  assert read[0]['reset_seed'] == 5
  assert 'reset_seed' not in read[1]


def test_target_positions_round_trip_as_an_optional_label(tmp_path):
  features, labels = _episode(4)
  targets = np.arange(12, dtype=np.float32).reshape(4, 3) / 10
  with_targets = bcz_specs.make_episode(
      features['image'], features['proprioception'], labels['action'],
      features['task_id'], features['task_embedding'],
      target_positions=targets)
  paths = bcz_specs.write_episodes(str(tmp_path / 'demos.tfrecord'),
                                   [with_targets, _episode(2)],
                                   max_records_per_file=1)
  read = list(bcz_specs.read_episodes(paths, image_size=16,
                                      task_embedding_size=8))
  np.testing.assert_array_equal(read[0]['target_position'], targets)
  assert 'target_position' not in read[1]


def test_read_episodes_feed_the_idle_check(tmp_path):
  paths = bcz_specs.write_episodes(
      str(tmp_path / 'demos.tfrecord'),
      [_episode(12), _episode(12, moving=False)])
  report = episode_checks.check_episodes(
      bcz_specs.read_episodes(paths, image_size=16, task_embedding_size=8),
      idle_kwargs={'min_steps': 5})
  assert report.kept_indices == [0] and report.idle_indices == [1]


@pytest.mark.parametrize('change, message', [
    ({'images': np.zeros((3, 16, 16, 3), np.float32)}, 'uint8'),
    ({'actions': np.zeros((2, 7), np.float32)}, 'step counts'),
    ({'proprioception': np.zeros((3, 6), np.float32)}, r'\(7,\)'),
    ({'actions': np.full((3, 7), 2.0, np.float32)}, 'gripper'),
    ({'actions': np.full((3, 7), np.nan, np.float32)}, 'NaN'),
    ({'task_id': 1.5}, 'task_id must be an int'),
    ({'target_positions': np.zeros((2, 3), np.float32)}, 'step counts'),
    ({'target_positions': np.zeros((3, 2), np.float32)}, r'\(3,\)'),
])
def test_make_episode_explains_bad_values(change, message):
  values = {'images': np.zeros((3, 16, 16, 3), np.uint8),
            'proprioception': np.zeros((3, 7), np.float32),
            'actions': np.zeros((3, 7), np.float32),
            'task_id': 0, 'task_embedding': np.zeros(8, np.float32)}
  values.update(change)
  with pytest.raises((ValueError, TypeError), match=message):
    bcz_specs.make_episode(**values)


def test_read_episodes_without_files_is_an_error(tmp_path):
  with pytest.raises(ValueError, match='no file matches'):
    list(bcz_specs.read_episodes(str(tmp_path / 'none-*.tfrecord')))
