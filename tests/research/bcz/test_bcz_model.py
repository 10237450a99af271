"""BCZModel: examples cut from episode records, FiLM conditioning, training,
the MDN head, export and serving."""

import functools
import os

import gin
import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from research.bcz import bcz_model
from research.bcz import bcz_specs
from t2r import data
from t2r import layers
from t2r import models
from t2r import policies
from t2r import specs
from t2r.export.default_export_generator import DefaultExportGenerator
from t2r.modes import ModeKeys
from t2r.predictors import ExportedSavedModelPredictor
# Registers train_eval_model, which the configs bind.
import t2r.train.train_eval  # pylint: disable=unused-import,g-bad-import-order

_SIZE = 32
_EMBEDDING = 8
_TASKS = ('push left', 'push right')
_CONFIG_DIR = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))), 'research', 'bcz', 'configs')


@pytest.fixture(autouse=True)
def _seed():
  tf_keras.utils.set_random_seed(0)


def _demo(task_index: int, num_steps: int, seed: int,
          with_target: bool = False):
  """A scripted demo: the frame shows where to push, the task says which way.

  The x action is +0.02 for the first task and -0.02 for the second; the
  gripper closes half way through. With `with_target` the episode's
  'target_position' of step t is (column / size, t, 0.1): where the bright
  stripe is, and the step (to check which steps are cut).
  """
  rng = np.random.default_rng(seed)
  frames = rng.integers(0, 30, (num_steps, _SIZE, _SIZE, 3), dtype=np.uint8)
  column = int(rng.integers(0, _SIZE - 8))
  frames[:, :, column:column + 8] = 220
  poses = np.zeros((num_steps, 7), np.float32)
  actions = np.zeros((num_steps, 7), np.float32)
  actions[:, 0] = 0.02 if task_index == 0 else -0.02
  actions[:, 1] = (column - _SIZE / 2) / _SIZE * 0.02
  actions[:, 6] = np.arange(num_steps) >= num_steps // 2
  poses[1:, :6] = np.cumsum(actions[:-1, :6], axis=0)
  poses[1:, 6] = actions[:-1, 6]
  targets = None
  if with_target:
    targets = np.stack([np.full(num_steps, column / _SIZE),
                        np.arange(num_steps), np.full(num_steps, 0.1)],
                       axis=1)
  table = bcz_specs.TaskTable(list(_TASKS), embedding_size=_EMBEDDING)
  return bcz_specs.make_episode(frames, poses, actions, reset_seed=seed,
                                target_positions=targets,
                                **table.context(_TASKS[task_index]))


@pytest.fixture(scope='module')
def records(tmp_path_factory):
  """SequenceExample files of 12 demos, written by the spec writer."""
  directory = tmp_path_factory.mktemp('bcz')
  episodes = [_demo(i % 2, num_steps=6 + i % 5, seed=i) for i in range(12)]
  return bcz_specs.write_episodes(str(directory / 'demos.tfrecord'), episodes)


@pytest.fixture(scope='module')
def train_data(records):
  """The TRAIN pipeline over the records, built once (tracing is slow).

  Every model of the same specs (the CPU, MDN and ResNet variants here) can
  train on it: the preprocessor depends on the specs only.
  """
  # A seeded preprocessor: the same steps are cut on every run.
  model = _model(preprocessor_cls=functools.partial(bcz_model.BCZPreprocessor,
                                                    seed=0))
  return _dataset(model, records, ModeKeys.TRAIN)


@pytest.fixture(scope='module')
def eval_batch(records):
  """All 12 episodes cut for EVAL (4 evenly spaced steps each), eagerly."""
  model = _model()
  return model.preprocessor.preprocess(*_parsed(model, records, ModeKeys.EVAL),
                                       ModeKeys.EVAL)


def _eval_metrics(model, batch):
  """`model_eval_fn` on one batch, run eagerly (no tracing)."""
  features, labels = batch
  outputs = model.inference_network_fn(features, labels, ModeKeys.EVAL)
  metrics = model.model_eval_fn(features, labels, outputs, ModeKeys.EVAL)
  return {name: float(value) for name, value in metrics.items()}


def _adam(learning_rate=3e-3):
  return lambda: models.create_adam_optimizer(learning_rate=learning_rate)


def _small_tower():
  return layers.FiLMConvTower(filters=(8, 8), kernel_sizes=(5, 3),
                              strides=(2, 2))


def _model(**kwargs):
  kwargs.setdefault('image_tower', _small_tower)
  kwargs.setdefault('head_hidden_sizes', (32,))
  return bcz_model.BCZModel(image_size=_SIZE, task_embedding_size=_EMBEDDING,
                            num_waypoints=3, **kwargs)


def _dataset(model, records, mode, batch_size=4, **kwargs):
  generator = data.DefaultRecordInputGenerator(
      file_patterns=','.join(records), batch_size=batch_size, seed=0,
      **kwargs)
  generator.set_specification_from_model(model, mode)
  return generator.create_dataset(mode)


def _parsed(model, records, mode=ModeKeys.TRAIN):
  """All episodes parsed by the preprocessor's in specs, eagerly."""
  preprocessor = model.preprocessor
  parse_fn = data.create_parse_tf_example_fn(
      preprocessor.get_in_feature_specification(mode),
      preprocessor.get_in_label_specification(mode))
  serialized = [r.numpy() for r in tf.data.TFRecordDataset(records)]
  return parse_fn(serialized)


def _step_features(episode_features, step=0):
  return {'image': episode_features['image'][step],
          'proprioception': episode_features['proprioception'][step],
          'task_embedding': episode_features['task_embedding']}


# -- Records and specs --------------------------------------------------------


def test_records_match_the_model_specs(records):
  model = _model()
  episode = bcz_specs.get_bcz_episode_specs(_SIZE, _EMBEDDING)
  preprocessor = model.preprocessor
  in_features = preprocessor.get_in_feature_specification(ModeKeys.TRAIN)
  assert in_features['image'] == episode[bcz_specs.IMAGE]
  assert in_features['image'].name == 'image'
  assert in_features['image'].is_sequence
  assert in_features['proprioception'] == episode[bcz_specs.PROPRIOCEPTION]
  assert in_features['task_embedding'] == episode[bcz_specs.TASK_EMBEDDING]
  assert preprocessor.get_in_label_specification(ModeKeys.TRAIN)[
      'action'] == episode[bcz_specs.ACTION]
  # The export takes one step, as a robot observes it.
  predict = preprocessor.get_in_feature_specification(ModeKeys.PREDICT)
  assert not predict['image'].is_sequence
  assert (predict['image'].dtype, predict['image'].data_format) == (
      tf.uint8, 'jpeg')
  features, labels = _parsed(model, records)
  specs.validate_and_flatten(in_features, features, ignore_batch=True)
  features, labels = preprocessor.preprocess(features, labels, ModeKeys.TRAIN)
  specs.validate_and_flatten(model.get_feature_specification(ModeKeys.TRAIN),
                             features, ignore_batch=True)
  specs.validate_and_flatten(model.get_label_specification(ModeKeys.TRAIN),
                             labels, ignore_batch=True)
  assert features['image'].shape == (12 * 4, _SIZE, _SIZE, 3)
  assert features['image'].dtype == tf.float32


def test_labels_are_the_next_waypoints_of_each_step(tmp_path):
  actions = np.zeros((4, 7), np.float32)
  actions[:, 0] = [1, 2, 3, 4]
  actions[:, 3] = [0.1, 0.2, 0.3, 0.4]
  actions[:, 6] = [0, 0, 1, 1]
  poses = np.zeros((4, 7), np.float32)
  poses[:, 1] = [0, 5, 7, 8]
  poses[:, 6] = [0, 0, 0, 1]
  frames = np.zeros((4, _SIZE, _SIZE, 3), np.uint8)
  frames[:] = np.array([10, 90, 170, 250], np.uint8)[:, None, None, None]
  paths = bcz_specs.write_episodes(
      str(tmp_path / 'one.tfrecord'),
      [bcz_specs.make_episode(frames, poses, actions, task_id=0,
                              task_embedding=np.ones(_EMBEDDING))])
  # EVAL takes S evenly spaced steps: with S = T, every step once.
  model = _model(preprocessor_cls=lambda **kw: bcz_model.BCZPreprocessor(
      samples_per_episode=4, **kw))
  features, labels = model.preprocessor.preprocess(
      *_parsed(model, paths, ModeKeys.EVAL), ModeKeys.EVAL)
  np.testing.assert_allclose(features['image'].numpy()[:, 0, 0, 0],
                             np.array([10, 90, 170, 250]) / 255, atol=0.02)
  np.testing.assert_array_equal(features['proprioception'].numpy()[:, 1],
                                [0, 5, 7, 8])
  # Waypoint i of step t sums the actions t..t+i; past the end the robot
  # holds still (no more deltas, the last gripper command).
  np.testing.assert_allclose(labels['xyz_residual'].numpy()[..., 0],
                             [[1, 3, 6], [2, 5, 9], [3, 7, 7], [4, 4, 4]])
  np.testing.assert_allclose(labels['axis_angle_residual'].numpy()[..., 0],
                             [[.1, .3, .6], [.2, .5, .9], [.3, .7, .7],
                              [.4, .4, .4]], rtol=1e-6)
  np.testing.assert_array_equal(labels['gripper'].numpy()[..., 0],
                                [[0, 0, 1], [0, 1, 1], [1, 1, 1], [1, 1, 1]])
  np.testing.assert_array_equal(labels['waypoint_mask'].numpy(),
                                [[1, 1, 1], [1, 1, 1], [1, 1, 0], [1, 0, 0]])
  # From the proprioception: pose(t + i + 1) - pose(t).
  model = _model(preprocessor_cls=lambda **kw: bcz_model.BCZPreprocessor(
      samples_per_episode=4, waypoint_source='proprioception', **kw))
  _, labels = model.preprocessor.preprocess(
      *_parsed(model, paths, ModeKeys.EVAL), ModeKeys.EVAL)
  np.testing.assert_allclose(labels['xyz_residual'].numpy()[..., 1],
                             [[5, 7, 8], [2, 3, 3], [1, 1, 1], [0, 0, 0]])
  np.testing.assert_array_equal(labels['gripper'].numpy()[..., 0],
                                [[0, 0, 1], [0, 1, 1], [1, 1, 1], [1, 1, 1]])
  np.testing.assert_array_equal(labels['waypoint_mask'].numpy(),
                                [[1, 1, 1], [1, 1, 0], [1, 0, 0], [0, 0, 0]])


def test_training_steps_are_random_in_range_and_seeded(records):

  def cut(seed, episodes):
    model = _model(preprocessor_cls=lambda **kw: bcz_model.BCZPreprocessor(
        samples_per_episode=16, seed=seed, **kw))
    features, labels = _parsed(model, records)
    features = {k: v[:episodes] for k, v in features.items()}
    labels = {k: v[:episodes] for k, v in labels.items()}
    return model.preprocessor.preprocess(features, labels, ModeKeys.TRAIN)[1]

  first = cut(7, 12)['xyz_residual'].numpy()
  np.testing.assert_array_equal(first, cut(7, 12)['xyz_residual'].numpy())
  assert not np.array_equal(first, cut(8, 12)['xyz_residual'].numpy())
  # Another batch (fewer episodes) draws other steps for the same episodes.
  assert not np.array_equal(first[:16 * 6],
                            cut(7, 6)['xyz_residual'].numpy())
  # Episode 0 has 6 steps of x = +0.02: waypoint 0 is 0.02 at every step,
  # waypoint 2 is 0.06 before the last two steps.
  episode = first[:16]
  np.testing.assert_allclose(episode[:, 0, 0], 0.02, rtol=1e-6)
  distance = np.abs(episode[:, 2, 0, None] - np.array([0.02, 0.04, 0.06]))
  assert distance.min(axis=1).max() < 1e-6


# -- FiLM conditioning ---------------------------------------------------------


@pytest.mark.parametrize('conditioning', ['task_embedding', 'task_id'])
def test_the_task_changes_the_output(conditioning):
  model = _model(conditioning=conditioning, num_tasks=2)
  image = np.random.default_rng(0).random((1, _SIZE, _SIZE, 3), np.float32)
  features = {'image': image, 'proprioception': np.zeros((1, 7), np.float32)}
  table = bcz_specs.TaskTable(list(_TASKS), embedding_size=_EMBEDDING)
  actions = []
  for task in _TASKS:
    if conditioning == 'task_embedding':
      features['task_embedding'] = table.embedding(task)[None]
    else:
      features['task_id'] = np.array([table.task_id(task)], np.int64)
    actions.append(model(specs.TensorSpecStruct(features))['action'].numpy())
  assert np.abs(actions[0] - actions[1]).max() > 1e-4
  # PREDICT adds no noise: the same task gives the same action.
  np.testing.assert_array_equal(
      actions[-1], model(specs.TensorSpecStruct(features))['action'].numpy())


# -- Training -----------------------------------------------------------------


def test_cpu_variant_loss_falls_on_sequence_records(train_data, eval_batch):
  batch_features, batch_labels = next(iter(train_data))
  assert batch_features['image'].shape == (16, _SIZE, _SIZE, 3)
  assert batch_labels['xyz_residual'].shape == (16, 3, 3)
  model = _model(create_optimizer_fn=_adam())
  model.compile()
  before = _eval_metrics(model, eval_batch)
  model.fit(train_data, steps_per_epoch=40, epochs=1, verbose=0)
  after = _eval_metrics(model, eval_batch)
  # Seeds 0-2 gave loss ratios of 0.20-0.29 and xyz ratios of 0.01-0.02.
  assert after['loss'] < 0.5 * before['loss']
  assert after['xyz_loss'] < 0.2 * before['xyz_loss']
  assert after['first_xyz_error'] < before['first_xyz_error']
  assert after['gripper_loss'] < before['gripper_loss']
  assert {'axis_angle_loss', 'first_gripper_accuracy'} <= set(after)


def test_resnet18_variant_trains_exports_and_serves(records, train_data,
                                                   tmp_path):
  model = bcz_model.BCZModel(
      image_size=_SIZE, task_embedding_size=_EMBEDDING, num_waypoints=3,
      image_tower=layers.FiLMResNet, head_hidden_sizes=(32,),
      create_optimizer_fn=_adam(1e-3))
  assert isinstance(model.image_tower, layers.FiLMResNet)
  # Eager steps: tracing ResNet-18's train step would take longer than the
  # two steps (the traced train step is the CPU variant's, the same code);
  # the export traces the network in PREDICT.
  model.compile(run_eagerly=True)
  history = model.fit(train_data, steps_per_epoch=2, epochs=1, verbose=0)
  assert np.isfinite(history.history['loss']).all()
  assert int(model.global_step.numpy()) == 2
  path = DefaultExportGenerator(export_tf_example_signature=False).export(
      model, str(tmp_path / 'export'))
  assert os.path.basename(path) == '2'
  predictor = ExportedSavedModelPredictor(str(tmp_path / 'export'),
                                          timeout=0)
  assert predictor.restore()
  assert predictor.global_step == 2
  episode = next(bcz_specs.read_episodes(records, _SIZE, _EMBEDDING))
  step = _step_features(episode)
  outputs = predictor.predict(step)
  assert outputs['action'].shape == (1, 7)
  assert outputs['waypoints'].shape == outputs['action_chunk'].shape == (
      1, 3, 7)
  np.testing.assert_allclose(outputs['action'], outputs['waypoints'][:, 0])
  assert 0.0 <= outputs['action'][0, 6] <= 1.0
  # The export computes what the model does (uint8 image in, float inside).
  expected = model(specs.TensorSpecStruct(
      image=tf.image.convert_image_dtype(step['image'][None], tf.float32),
      proprioception=step['proprioception'][None],
      task_embedding=step['task_embedding'][None]))['action']
  np.testing.assert_allclose(outputs['action'], expected, atol=1e-4)
  # FiLM in the exported ResNet: another task, another action.
  other = bcz_specs.task_embedding(_TASKS[1], _EMBEDDING)
  assert not np.allclose(predictor.predict(dict(step, task_embedding=other))[
      'action'], outputs['action'], atol=1e-5)
  # A policy acts on an observation holding the step's features.
  action, _ = policies.RegressionPolicy(
      predictor, action_key='action').sample_action(step, 0.0)
  np.testing.assert_allclose(action, outputs['action'][0], atol=1e-6)
  predictor.close()


def test_mdn_head_trains_and_predicts_the_mode(records, train_data,
                                               eval_batch):
  model = _model(head='mdn', mdn_num_components=3,
                 create_optimizer_fn=_adam())
  # Eager steps are faster than tracing for 30 of them; the traced train
  # step is the waypoint head's (test_cpu_variant_loss_falls...).
  model.compile(run_eagerly=True)
  before = _eval_metrics(model, eval_batch)
  model.fit(train_data, steps_per_epoch=30, epochs=1, verbose=0)
  after = _eval_metrics(model, eval_batch)
  # Seeds 0-2: the NLL fell by 1.4 in 20 steps, 2.4 in 40.
  assert after['nll'] < before['nll'] - 1.0
  assert after['first_xyz_error'] < before['first_xyz_error']
  episode = next(bcz_specs.read_episodes(records, _SIZE, _EMBEDDING))
  features = specs.TensorSpecStruct(
      image=tf.image.convert_image_dtype(episode['image'][:2], tf.float32),
      proprioception=episode['proprioception'][:2],
      task_embedding=np.tile(episode['task_embedding'], (2, 1)))
  outputs = model(features)
  assert sorted(outputs) == ['action', 'action_chunk', 'waypoints']
  waypoints = outputs['waypoints'].numpy()
  gripper = waypoints[..., 6]
  assert gripper.min() >= 0.0 and gripper.max() <= 1.0
  # The chunk's deltas add up to the waypoints.
  np.testing.assert_allclose(
      np.cumsum(outputs['action_chunk'].numpy()[..., :6], axis=1),
      waypoints[..., :6], atol=1e-6)
  # The mode is the mean of the heaviest component.
  network = model.inference_network_fn(features, None, ModeKeys.PREDICT)
  heaviest = tf.argmax(network['mdn_logits'], axis=-1).numpy()
  means = network['mdn_means'].numpy()[np.arange(2), heaviest]
  np.testing.assert_allclose(waypoints[..., :6],
                             means.reshape(2, 3, 7)[..., :6], atol=1e-6)


def test_history_variant_sees_the_last_frames(records):
  model = _model(history_length=2, create_optimizer_fn=_adam())
  assert model.get_feature_specification(ModeKeys.TRAIN)['image'].shape == (
      2, _SIZE, _SIZE, 3)
  assert model.preprocessor.get_in_feature_specification(ModeKeys.PREDICT)[
      'image'].shape == (2, _SIZE, _SIZE, 3)
  model.compile(run_eagerly=True)
  features, labels = model.preprocessor.preprocess(
      *_parsed(model, records, ModeKeys.EVAL), ModeKeys.EVAL)
  frames = features['image'].numpy()
  assert frames.shape == (48, 2, _SIZE, _SIZE, 3)
  # EVAL's first step of an episode is step 0 (for 6..10 steps, S = 4):
  # its previous frame is the first frame again.
  np.testing.assert_array_equal(frames[0, 0], frames[0, 1])
  assert not np.array_equal(frames[1, 0], frames[1, 1])
  history = model.fit(tf.data.Dataset.from_tensors((features, labels)),
                      verbose=0)
  assert np.isfinite(history.history['loss']).all()
  outputs = model(specs.TensorSpecStruct(
      image=features['image'][:1],
      proprioception=features['proprioception'][:1],
      task_embedding=features['task_embedding'][:1]))
  assert outputs['action'].shape == (1, 7)


# -- Configuration ------------------------------------------------------------


@pytest.mark.parametrize('files, tower, head', [
    (['bcz_cpu.gin'], layers.FiLMConvTower, layers.WaypointHead),
    (['bcz_resnet18.gin'], layers.FiLMResNet, layers.WaypointHead),
    (['bcz_cpu.gin', 'bcz_mdn.gin'], layers.FiLMConvTower, layers.MDNHead),
    (['bcz_cpu.gin', 'bcz_target_position.gin'], layers.FiLMConvTower,
     layers.WaypointHead),
])
def test_gin_configs_build_the_model(files, tower, head):
  gin.clear_config()
  try:
    gin.parse_config_files_and_bindings(
        [os.path.join(_CONFIG_DIR, f) for f in files], [])
    model = bcz_model.BCZModel()
    assert isinstance(model.image_tower, tower)
    assert isinstance(model.head, head)
    assert model.num_waypoints == 10
    assert model.preprocessor.samples_per_episode == 4
    assert model.get_feature_specification(ModeKeys.TRAIN)['image'].shape == (
        64, 64, 3)
  finally:
    gin.clear_config()


# -- The auxiliary target-position label ----------------------------------


@pytest.fixture(scope='module')
def target_records(tmp_path_factory):
  """12 demos whose records hold 'target_position' (see `_demo`)."""
  directory = tmp_path_factory.mktemp('bcz_target')
  episodes = [_demo(i % 2, num_steps=6 + i % 5, seed=i, with_target=True)
              for i in range(12)]
  return bcz_specs.write_episodes(str(directory / 'demos.tfrecord'), episodes)


def test_target_position_label_is_cut_at_the_steps_of_the_waypoints(
    target_records):
  model = _model(target_position_weight=100.0)
  assert model.get_label_specification(ModeKeys.TRAIN)[
      'target_position'].shape == (3,)
  features, labels = model.preprocessor.preprocess(
      *_parsed(model, target_records, ModeKeys.EVAL), ModeKeys.EVAL)
  targets = labels['target_position'].numpy()
  # EVAL cuts steps floor((k + 0.5) / 4 * T), k = 0..3, of each episode.
  expected_steps = [int((k + 0.5) / 4 * (6 + i % 5)) for i in range(12)
                    for k in range(4)]
  np.testing.assert_array_equal(targets[:, 1], expected_steps)
  # The same steps as the proprioception (the pose of step t is the sum of
  # the actions before it: x is +-0.02 * t).
  np.testing.assert_allclose(np.abs(features['proprioception'][:, 0]),
                             0.02 * targets[:, 1], atol=1e-6)
  np.testing.assert_allclose(targets[:, 2], 0.1)


def test_target_position_head_learns_where_the_stripe_is(target_records):
  model = _model(target_position_weight=100.0,
                 create_optimizer_fn=_adam(),
                 preprocessor_cls=functools.partial(
                     bcz_model.BCZPreprocessor, seed=0))
  model.compile()
  features, labels = model.preprocessor.preprocess(
      *_parsed(model, target_records, ModeKeys.EVAL), ModeKeys.EVAL)

  def stripe_error():
    """Mean abs error of the target's x: the stripe's column / size."""
    outputs = model.inference_network_fn(features, labels, ModeKeys.EVAL)
    return float(tf.reduce_mean(tf.abs(
        outputs['target_position'][:, 0] - labels['target_position'][:, 0])))

  before = stripe_error()
  model.fit(_dataset(model, target_records, ModeKeys.TRAIN),
            steps_per_epoch=60, epochs=1, verbose=0)
  after = stripe_error()
  assert 'target_position_loss' in _eval_metrics(model, (features, labels))
  # (The y label, the step, is not in the frame: only x is learnable.)
  assert after < 0.5 * before, (before, after)


def test_target_position_is_an_export_output(target_records, tmp_path):
  model = _model(target_position_weight=1.0)
  model.build_from_specs()
  DefaultExportGenerator(export_tf_example_signature=False).export(
      model, str(tmp_path / 'export'))
  predictor = ExportedSavedModelPredictor(str(tmp_path / 'export'),
                                          timeout=0)
  assert predictor.restore()
  episode = next(bcz_specs.read_episodes(target_records, _SIZE, _EMBEDDING))
  assert episode['target_position'].shape == (len(episode['action']), 3)
  outputs = predictor.predict(_step_features(episode))
  assert outputs['target_position'].shape == (1, 3)
  predictor.close()


def test_records_without_target_positions_are_refused_by_name(records):
  model = _model(target_position_weight=1.0)
  with pytest.raises((ValueError, tf.errors.InvalidArgumentError),
                     match='target_position'):
    next(iter(_dataset(model, records, ModeKeys.TRAIN)))


@pytest.mark.parametrize('kwargs, error, message', [
    ({'head': 'gmm'}, ValueError, 'head must be one of'),
    ({'target_position_weight': -1.0}, ValueError, 'target_position_weight'),
    ({'conditioning': 'task_id'}, ValueError, 'num_tasks'),
    ({'num_waypoints': 0}, ValueError, 'num_waypoints'),
    ({'task_embedding_noise_std': -1.0}, ValueError, 'noise_std'),
    ({'image_tower': lambda: 'tower'}, TypeError, 'tf_keras layer'),
])
def test_bad_model_arguments_are_explained(kwargs, error, message):
  with pytest.raises(error, match=message):
    bcz_model.BCZModel(**kwargs)


def test_bad_preprocessor_arguments_are_explained():
  with pytest.raises(ValueError, match='samples_per_episode'):
    bcz_model.BCZPreprocessor(samples_per_episode=0)
  with pytest.raises(ValueError, match='waypoint_source'):
    bcz_model.BCZPreprocessor(waypoint_source='images')
