"""export_rlds_dataset: t2r episode records -> RLDS -> TFDS and back to t2r.

The records are BC-Z-style SequenceExamples written by TFRecordReplayWriter:
per step a JPEG image, a proprioception vector and an action label; per
episode a task id and an optional task string.
"""

import os

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from t2r import specs
from t2r.data import parsing
from t2r.data import replay_writer
from t2r.data import rlds_export
from t2r.data import rlds_input_generator
from t2r.modes import ModeKeys

Spec = specs.ExtendedTensorSpec
export_rlds_dataset = rlds_export.export_rlds_dataset
LENGTHS = ((2, 3), (4,))  # Episode lengths, per file.


def _episode_specs(with_task=True):
  features = specs.TensorSpecStruct()
  features['image'] = Spec((4, 4, 3), tf.uint8, name='image',
                           data_format='jpeg', is_sequence=True)
  features['proprioception'] = Spec((2,), tf.float32, name='proprioception',
                                    is_sequence=True)
  features['task_id'] = Spec((), tf.int64, name='task_id')
  if with_task:
    features['task'] = Spec((), tf.string, name='task', is_optional=True)
  labels = specs.TensorSpecStruct(
      action=Spec((3,), tf.float32, name='action', is_sequence=True))
  return features, labels


def _episode(index, length):
  rng = np.random.default_rng(index)
  features = {
      'image': rng.integers(0, 256, (length, 4, 4, 3), dtype=np.uint8),
      'proprioception': rng.normal(size=(length, 2)).astype(np.float32),
      'task_id': np.int64(index),
      'task': f'task {index}',
  }
  return features, {'action': rng.normal(size=(length, 3)).astype(np.float32)}


def _write_records(directory, lengths=LENGTHS, with_task=True):
  """Writes one file per entry of `lengths`; returns the glob."""
  features_spec, labels_spec = _episode_specs(with_task)
  index = 0
  for file_index, file_lengths in enumerate(lengths):
    writer = replay_writer.TFRecordReplayWriter(features_spec, labels_spec)
    episodes = []
    for length in file_lengths:
      features, labels = _episode(index, length)
      if not with_task:
        del features['task']
      episodes.append((features, labels))
      index += 1
    with writer.open(os.path.join(directory, f'demos-{file_index}.tfrecord')):
      writer.write(episodes)
  return os.path.join(directory, 'demos-*.tfrecord')


def _parsed_episodes(pattern):
  """The episodes as t2r's parser decodes them (the export's input)."""
  features_spec, labels_spec = _episode_specs()
  parse_fn = parsing.create_parse_tf_example_fn(features_spec, labels_spec)
  episodes = []
  for filename in sorted(tf.io.gfile.glob(pattern)):
    for record in tf.data.TFRecordDataset(filename):
      features, labels = parse_fn(record[None])
      length = int(features['image_length'][0])
      episodes.append({
          'image': features['image'][0, :length].numpy(),
          'proprioception': features['proprioception'][0, :length].numpy(),
          'action': labels['action'][0, :length].numpy(),
          'task_id': int(features['task_id'][0]),
          'task': features['task'][0].numpy()})
  return episodes


@pytest.fixture(scope='module')
def records(tmp_path_factory):
  return _write_records(str(tmp_path_factory.mktemp('records')))


@pytest.fixture(scope='module')
def exported(records, tmp_path_factory):
  output_dir = str(tmp_path_factory.mktemp('export') / 'demos_rlds')
  export_rlds_dataset(output_dir, records, *_episode_specs(),
                      keep_order=True)
  return output_dir


def test_tfds_loads_the_export_as_rlds_episodes(exported):
  episodes = list(tfds.builder_from_directory(exported).as_dataset(
      split='train'))
  assert len(episodes) == 3
  steps = list(episodes[2]['steps'])
  assert sorted(steps[0]) == ['action', 'is_first', 'is_last', 'is_terminal',
                              'observation']
  assert sorted(steps[0]['observation']) == ['image', 'proprioception']
  assert [bool(s['is_first']) for s in steps] == [True, False, False, False]
  assert [bool(s['is_last']) for s in steps] == [False, False, False, True]
  assert [bool(s['is_terminal']) for s in steps] == [False, False, False,
                                                     True]
  metadata = episodes[2]['episode_metadata']
  assert int(metadata['task_id']) == 2
  assert metadata['task'].numpy() == b'task 2'
  assert metadata['file_path'].numpy().decode().endswith('demos-1.tfrecord')
  assert int(metadata['record_index']) == 0


def test_round_trip_to_the_rlds_input_generator_keeps_values(records,
                                                             exported):
  features_spec, labels_spec = _episode_specs()
  generator = rlds_input_generator.RLDSInputGenerator(
      exported, window_size=2, batch_size=2, num_epochs=1)
  generator.set_feature_specifications(features_spec)
  generator.set_label_specifications(labels_spec)
  windows = [(f, l) for batch_f, batch_l in
             generator.create_dataset(ModeKeys.EVAL)
             for f, l in zip(_unbatch(batch_f), _unbatch(batch_l))]
  expected = [(episode, t) for episode in _parsed_episodes(records)
              for t in range(len(episode['action']) - 1)]
  assert len(windows) == len(expected) == 1 + 2 + 3
  for (features, labels), (episode, t) in zip(windows, expected):
    np.testing.assert_array_equal(features['image'],
                                  episode['image'][t:t + 2])
    np.testing.assert_array_equal(features['proprioception'],
                                  episode['proprioception'][t:t + 2])
    np.testing.assert_array_equal(labels['action'],
                                  episode['action'][t:t + 2])
    assert features['task_id'] == episode['task_id']
    assert features['task'] == episode['task']
    assert features['image_length'] == 2


def _unbatch(batch):
  size = len(next(iter(batch.values())))
  return [{path: value[i].numpy() for path, value in batch.items()}
          for i in range(size)]


def test_a_context_spec_mapped_to_a_step_key_is_on_every_step(records,
                                                              tmp_path):
  output_dir = str(tmp_path / 'with_instruction')
  export_rlds_dataset(output_dir, records, *_episode_specs(), keep_order=True,
                      key_map={'task': 'steps/language_instruction'})
  episode = next(iter(tfds.builder_from_directory(output_dir).as_dataset(
      split='train')))
  assert [s['language_instruction'].numpy() for s in episode['steps']] == [
      b'task 0', b'task 0']


def test_a_failed_export_leaves_no_directory(records, tmp_path):
  bad = _write_records(str(tmp_path / 'bad'), lengths=((2,),),
                       with_task=False)
  output_dir = str(tmp_path / 'out' / 'demos_rlds')
  # The first file holds the optional task, the second does not.
  with pytest.raises(ValueError, match="optional specs \\[\\].*\\['task'\\]"):
    export_rlds_dataset(output_dir, f'{records},{bad}', *_episode_specs())
  assert not os.path.exists(output_dir)
  assert os.listdir(tmp_path / 'out') == []


def test_an_existing_directory_is_kept_unless_overwrite(records, tmp_path):
  output_dir = str(tmp_path / 'demos_rlds')
  os.makedirs(output_dir)
  with pytest.raises(FileExistsError, match='overwrite=True'):
    export_rlds_dataset(output_dir, records, *_episode_specs())
  export_rlds_dataset(output_dir, records, *_episode_specs(), overwrite=True)
  builder = tfds.builder_from_directory(output_dir)
  assert builder.info.splits['train'].num_examples == 3
  assert sorted(os.listdir(tmp_path)) == ['demos_rlds']


def test_plain_examples_are_not_episodes(records, tmp_path):
  features = specs.TensorSpecStruct(
      state=Spec((2,), tf.float32, name='state'))
  with pytest.raises(ValueError, match='is_sequence=True'):
    export_rlds_dataset(str(tmp_path / 'out'), records, features)


def test_a_sequence_spec_cannot_go_to_an_episode_key(records, tmp_path):
  with pytest.raises(ValueError, match="per-episode key 'episode_metadata/x'"):
    export_rlds_dataset(str(tmp_path / 'out'), records, *_episode_specs(),
                        key_map={'image': 'episode_metadata/x'})


def test_a_shuffled_export_reads_in_training(records, tmp_path):
  output_dir = str(tmp_path / 'shuffled')
  export_rlds_dataset(output_dir, records, *_episode_specs())
  generator = rlds_input_generator.RLDSInputGenerator(output_dir,
                                                      batch_size=4, seed=0)
  generator.set_feature_specifications(_episode_specs()[0])
  generator.set_label_specifications(_episode_specs()[1])
  features, labels = next(iter(generator.create_dataset(ModeKeys.TRAIN)))
  assert features['image'].shape == (4, 1, 4, 4, 3)
  assert labels['action'].shape == (4, 1, 3)
