"""RLDSInputGenerator on a small OXE-style dataset written by TFDS."""

import gin
import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from t2r import models
from t2r import specs
from t2r import train
from t2r.data import rlds_input_generator
from t2r.modes import ModeKeys
import rlds_datasets

RLDSInputGenerator = rlds_input_generator.RLDSInputGenerator
Spec = specs.ExtendedTensorSpec
LENGTHS = rlds_datasets.EPISODE_LENGTHS


@pytest.fixture(scope='module')
def dataset_dir(tmp_path_factory):
  return rlds_datasets.write_rlds_dataset(tmp_path_factory.mktemp('rlds'))


def _step_specs():
  features = specs.TensorSpecStruct()
  features['image'] = Spec((4, 4, 3), tf.uint8, name='image')
  features['state'] = Spec((2,), tf.float32, name='state')
  labels = specs.TensorSpecStruct(action=Spec((3,), tf.float32,
                                              name='action'))
  return features, labels


def _generator(dataset_dir, features, labels, batch_size=4, **kwargs):
  kwargs.setdefault('num_epochs', 1)
  generator = RLDSInputGenerator(dataset_dir, batch_size=batch_size, **kwargs)
  generator.set_feature_specifications(features)
  generator.set_label_specifications(labels)
  return generator


def _read_all(generator, mode=ModeKeys.EVAL):
  """Every (features, labels) of one pass, concatenated over batches."""
  batches = list(generator.create_dataset(mode))
  return tuple(
      {path: np.concatenate([batch[i][path].numpy() for batch in batches])
       for path in batches[0][i].keys()}
      for i in (0, 1))


def test_transitions_give_every_step_in_order(dataset_dir):
  features, labels = _read_all(_generator(dataset_dir, *_step_specs()))
  expected = [(e, t) for e, length in enumerate(LENGTHS)
              for t in range(length)]
  np.testing.assert_array_equal(features['state'], np.float32(expected))
  np.testing.assert_array_equal(
      labels['action'], [[e, t, 10 * e + t] for e, t in expected])
  np.testing.assert_array_equal(features['image'][:, 0, 0, 0],
                                [10 * e + t for e, t in expected])


def test_windows_of_k_steps_stay_inside_episodes(dataset_dir):
  features, labels = _step_specs()
  features['state'] = Spec((2,), tf.float32, name='state', is_sequence=True)
  features, _ = _read_all(_generator(dataset_dir, features, labels,
                                     window_size=3))
  starts = [(e, t) for e, length in enumerate(LENGTHS)
            for t in range(length - 2)]
  assert features['state'].shape == (len(starts), 3, 2)
  np.testing.assert_array_equal(
      features['state'],
      [[[e, t + i] for i in range(3)] for e, t in starts])
  np.testing.assert_array_equal(features['state_length'], [3] * len(starts))
  # A non-sequence spec reads the window's first step.
  np.testing.assert_array_equal(features['image'][:, 0, 0, 0],
                                [10 * e + t for e, t in starts])


def test_window_shift_spaces_the_window_starts(dataset_dir):
  features, labels = _step_specs()
  features['state'] = Spec((2,), tf.float32, name='state', is_sequence=True)
  features, _ = _read_all(_generator(dataset_dir, features, labels,
                                     window_size=2, window_shift=2))
  np.testing.assert_array_equal(
      features['state'][:, 0],
      [[0, 0], [1, 0], [1, 2], [2, 0], [2, 2]])


def test_next_state_reads_the_following_step_for_td_transitions(dataset_dir):
  features = specs.TensorSpecStruct()
  features['state/state'] = Spec((2,), tf.float32, name='state')
  features['next_state/state'] = Spec((2,), tf.float32, name='next_state')
  features['action'] = Spec((3,), tf.float32, name='action')
  labels = specs.TensorSpecStruct()
  labels['reward'] = Spec((1,), tf.float32, name='reward')
  labels['done'] = Spec((1,), tf.float32, name='done')
  features, labels = _read_all(_generator(
      dataset_dir, features, labels, window_size=2,
      key_map={'done': ('steps/is_terminal', 1)}))
  np.testing.assert_array_equal(features['next_state/state'],
                                features['state/state'] + [0, 1])
  np.testing.assert_array_equal(labels['reward'][:, 0],
                                features['state/state'][:, 1])
  last = [t == length - 2 for length in LENGTHS for t in range(length - 1)]
  np.testing.assert_array_equal(labels['done'][:, 0], np.float32(last))


def test_strings_from_steps_and_episode_metadata(dataset_dir):
  features = specs.TensorSpecStruct()
  features['instruction'] = Spec((), tf.string, name='instruction')
  features['file_path'] = Spec((), tf.string, name='file_path')
  features, _ = _read_all(_generator(
      dataset_dir, features, specs.TensorSpecStruct(),
      key_map={'instruction': 'steps/language_instruction'}))
  episodes = [e for e, length in enumerate(LENGTHS) for _ in range(length)]
  assert list(features['instruction']) == [f'task {e}'.encode()
                                           for e in episodes]
  assert list(features['file_path']) == [f'episode_{e}.npz'.encode()
                                         for e in episodes]


def test_a_step_offset_in_the_key_map_picks_the_windows_last_step(
    dataset_dir):
  features, labels = _step_specs()
  features, _ = _read_all(_generator(
      dataset_dir, features, labels, window_size=2,
      key_map={'state': ('steps/observation/state', -1)}))
  starts = [(e, t) for e, length in enumerate(LENGTHS)
            for t in range(length - 1)]
  np.testing.assert_array_equal(features['state'],
                                [[e, t + 1] for e, t in starts])


def test_missing_key_names_the_spec_and_the_available_keys(dataset_dir):
  features, labels = _step_specs()
  features['gripper'] = Spec((1,), tf.float32, name='gripper')
  generator = _generator(dataset_dir, features, labels)
  with pytest.raises(ValueError) as error:
    generator.create_dataset(ModeKeys.EVAL)
  message = str(error.value)
  assert "spec 'gripper' (name 'gripper')" in message
  assert "'steps/observation/gripper'" in message
  assert 'steps/observation/state (2,) float32' in message
  assert 'key_map' in message


def test_a_key_map_key_the_dataset_lacks_is_named(dataset_dir):
  features, labels = _step_specs()
  generator = _generator(dataset_dir, features, labels,
                         key_map={'image': 'steps/observation/rgb'})
  with pytest.raises(ValueError, match="'steps/observation/rgb'.*Available"):
    generator.key_sources()


def test_a_wrong_image_shape_names_both_shapes(dataset_dir):
  features, labels = _step_specs()
  features['image'] = Spec((8, 8, 3), tf.uint8, name='image')
  generator = _generator(dataset_dir, features, labels)
  with pytest.raises(ValueError, match=r"'image'.*\(8, 8, 3\) uint8.*"
                     r"'steps/observation/image'.*\(4, 4, 3\) uint8.*resize"):
    generator.key_sources()


def test_a_wrong_dtype_says_what_the_dataset_holds(dataset_dir):
  features, labels = _step_specs()
  features['image'] = Spec((4, 4, 3), tf.float32, name='image')
  generator = _generator(dataset_dir, features, labels)
  with pytest.raises(ValueError, match='declare the spec as uint8'):
    generator.key_sources()


def test_a_key_map_path_that_no_spec_has_is_an_error(dataset_dir):
  generator = _generator(dataset_dir, *_step_specs(),
                         key_map={'imgae': 'steps/observation/image'})
  with pytest.raises(ValueError, match=r"\['imgae'\]"):
    generator.key_sources()


def test_an_offset_outside_the_window_asks_for_a_larger_window(dataset_dir):
  features, labels = _step_specs()
  features['next_state/state'] = Spec((2,), tf.float32, name='next_state')
  generator = _generator(dataset_dir, features, labels)
  with pytest.raises(ValueError, match='window_size=2'):
    generator.key_sources()


def test_an_optional_spec_the_dataset_lacks_is_left_out(dataset_dir):
  features, labels = _step_specs()
  features['depth'] = Spec((4, 4, 1), tf.uint8, name='depth',
                           is_optional=True)
  generator = _generator(dataset_dir, features, labels)
  batch_features, _ = next(iter(generator.create_dataset(ModeKeys.EVAL)))
  assert sorted(batch_features.keys()) == ['image', 'state']


def test_a_directory_without_a_dataset_is_named(tmp_path):
  generator = _generator(str(tmp_path), *_step_specs())
  with pytest.raises(ValueError, match='not a TFDS builder directory'):
    generator.create_dataset(ModeKeys.EVAL)


def test_seeded_training_order_repeats(dataset_dir):
  def first_states():
    generator = _generator(dataset_dir, *_step_specs(), num_epochs=None,
                           seed=3, shuffle_buffer_size=20)
    features, _ = next(iter(generator.create_dataset(ModeKeys.TRAIN)))
    return features['state'].numpy()

  np.testing.assert_array_equal(first_states(), first_states())


def test_data_files_are_the_split_shards(dataset_dir):
  files = RLDSInputGenerator(dataset_dir).data_files()
  assert files and all(f.startswith(dataset_dir) for f in files)
  assert all('toy_oxe-train.tfrecord' in f for f in files)


def test_gin_configures_the_key_map_with_step_offsets(dataset_dir):
  gin.clear_config()
  try:
    gin.parse_config(f"""
        RLDSInputGenerator.dataset_dir = '{dataset_dir}'
        RLDSInputGenerator.window_size = 2
        RLDSInputGenerator.key_map = {{
            'state': ('steps/observation/state', 1)}}
    """)
    generator = RLDSInputGenerator()
  finally:
    gin.clear_config()
  generator.set_feature_specifications(_step_specs()[0])
  generator.set_label_specifications(_step_specs()[1])
  assert generator.key_sources()[0]['state'] == (
      rlds_input_generator.KeySource('steps/observation/state', 1))


class _StatePolicy(models.RegressionModel):
  """action = dense(state, image) on the RLDS step keys, found by name."""

  def __init__(self, **kwargs):
    super().__init__(**kwargs)
    self.dense = tf_keras.layers.Dense(3)

  def get_feature_specification(self, mode):
    return _step_specs()[0]

  def get_label_specification(self, mode):
    return _step_specs()[1]

  def a_func(self, features, mode, config=None, params=None):
    image = tf.reshape(tf.cast(features.image, tf.float32), [-1, 48]) / 255.0
    return {'inference_output':
                self.dense(tf.concat([features.state, image], -1))}


def test_a_t2r_model_trains_from_rlds_episodes(dataset_dir, tmp_path):
  result = train.train_eval_model(
      t2r_model=_StatePolicy,
      input_generator_train=RLDSInputGenerator(dataset_dir, batch_size=4,
                                               seed=0),
      max_train_steps=3,
      model_dir=str(tmp_path / 'model'),
      save_checkpoints_steps=3,
      show_progress=False)
  assert result['global_step'] == 3
  assert np.isfinite(result['train']['loss'])
