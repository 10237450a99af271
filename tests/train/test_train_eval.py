"""train_eval_model: learning, resume, model_dir contents, eval-only mode."""

import glob
import os
import shutil
import threading

import gin
import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from t2r import train
from t2r.data import multi_eval_input_generator
from t2r.data import record_input_generator
from t2r.data import synthetic_input_generators
from t2r.export import default_export_generator
import event_files
import job_util
import tiny_model

_BINDINGS = """
create_adam_optimizer.learning_rate = 0.1
train/GeneratorInputGenerator.generator_fn = @linear_batches
train/GeneratorInputGenerator.batch_size = 16
eval/GeneratorInputGenerator.generator_fn = @eval/linear_batches
eval/GeneratorInputGenerator.batch_size = 16
eval/linear_batches.seed = 1
train_eval_model.t2r_model = @LinearModel
train_eval_model.input_generator_train = @train/GeneratorInputGenerator()
train_eval_model.input_generator_eval = @eval/GeneratorInputGenerator()
train_eval_model.eval_steps = 4
train_eval_model.save_checkpoints_steps = 20
train_eval_model.save_summary_steps = 10
train_eval_model.log_every_n_steps = 10
train_eval_model.keep_checkpoint_max = 2
"""


def _configure(model_dir, max_train_steps, extra=''):
  gin.parse_config(_BINDINGS + f"""
train_eval_model.model_dir = '{model_dir}'
train_eval_model.max_train_steps = {max_train_steps}
""" + extra)


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
  """A model_dir trained for 60 steps, and train_eval_model's result."""
  gin.clear_config()
  tf_keras.utils.set_random_seed(0)
  model_dir = str(tmp_path_factory.mktemp('trained'))
  _configure(model_dir, 60)
  result = train.train_eval_model()
  gin.clear_config()
  return model_dir, result


def test_loss_falls_on_a_learnable_problem(trained):
  _, result = trained
  assert result['global_step'] == 60
  # y = x w has unit-variance inputs: predicting 0 costs ~14.25 per example.
  assert result['eval']['loss'] < 0.5
  assert result['train']['loss'] < 14.0


def test_checkpoints_every_n_steps_keeping_the_newest(trained):
  model_dir, _ = trained
  state = tf.train.get_checkpoint_state(model_dir)
  names = [os.path.basename(p) for p in state.all_model_checkpoint_paths]
  assert names == ['ckpt-40', 'ckpt-60']
  assert job_util.checkpoint_step(model_dir) == 60


def test_operative_config_records_the_gin_values(trained):
  model_dir, _ = trained
  with open(os.path.join(model_dir, train.OPERATIVE_CONFIG_FILENAME)) as f:
    config = f.read()
  assert 'train_eval_model.max_train_steps = 60' in config
  assert 'create_adam_optimizer.learning_rate = 0.1' in config
  assert not glob.glob(os.path.join(model_dir, '*.tmp-*'))


def test_train_summaries_keyed_by_global_step(trained):
  model_dir, _ = trained
  tags = event_files.steps_by_tag(os.path.join(model_dir, 'train'))
  for tag in ('loss', 'learning_rate', 'global_step/sec'):
    assert tags[tag] == [10, 20, 30, 40, 50, 60], tag
  assert tags['state']  # The model's add_summaries image.


def test_eval_summaries_at_each_evaluation(trained):
  model_dir, _ = trained
  tags = event_files.steps_by_tag(os.path.join(model_dir, 'eval'))
  assert tags['loss'] == [20, 40, 60]
  assert tags['state'] == [20, 40, 60]


def test_rerun_with_more_steps_resumes(trained, tmp_path):
  model_dir = str(tmp_path / 'model')
  shutil.copytree(trained[0], model_dir)
  _configure(model_dir, 70)
  result = train.train_eval_model()
  assert result['global_step'] == 70
  assert job_util.checkpoint_step(model_dir) == 70
  # Training went on from step 60: the new run summarized only step 70.
  train_steps = event_files.steps_by_tag(os.path.join(model_dir, 'train'))['loss']
  assert train_steps == [10, 20, 30, 40, 50, 60, 70]
  assert result['eval']['loss'] < 0.5


def test_rerun_at_max_train_steps_trains_nothing(trained, tmp_path):
  model_dir = str(tmp_path / 'model')
  shutil.copytree(trained[0], model_dir)
  _configure(model_dir, 60)
  assert train.train_eval_model() == {
      'global_step': 60, 'train': {}, 'eval': {}}


def test_checkpoint_of_another_model_is_rejected(trained, tmp_path):
  model_dir = str(tmp_path / 'model')
  shutil.copytree(trained[0], model_dir)

  class WiderModel(tiny_model.LinearModel):

    def __init__(self, **kwargs):
      super().__init__(**kwargs)
      self.extra = tf_keras.layers.Dense(1)

    def inference_network_fn(self, features, labels, mode, config=None,
                             params=None):
      return {'prediction': self.extra(self.dense(features.state))}

  _configure(model_dir, 80)
  with pytest.raises(ValueError, match='does not match the model'):
    train.train_eval_model(t2r_model=WiderModel)


def test_export_hooks_run_after_each_checkpoint(tmp_path):
  calls = []
  _configure(str(tmp_path), 40)
  train.train_eval_model(
      export_hooks=[lambda model, directory, step: calls.append(
          (directory, step, tf.train.latest_checkpoint(directory)))])
  assert calls == [(str(tmp_path), 20, str(tmp_path / 'ckpt-20')),
                   (str(tmp_path), 40, str(tmp_path / 'ckpt-40'))]


class _RecordingHook:
  """An export hook that records its calls and its train-end call."""

  def __init__(self):
    self.calls = []

  def __call__(self, model, directory, step):
    self.calls.append(('save', step))

  def at_train_end(self, model, directory, step):
    self.calls.append(('end', step, tf.train.latest_checkpoint(directory)))


def test_export_hooks_at_train_end_run_once_after_the_final_save(tmp_path):
  hook = _RecordingHook()
  _configure(str(tmp_path), 25)
  train.train_eval_model(export_hooks=[hook])
  assert hook.calls == [('save', 20), ('save', 25),
                        ('end', 25, str(tmp_path / 'ckpt-25'))]


def test_export_hooks_at_train_end_run_when_nothing_is_left_to_train(
    trained, tmp_path):
  model_dir = str(tmp_path / 'model')
  shutil.copytree(trained[0], model_dir)
  hook = _RecordingHook()
  _configure(model_dir, 60)
  train.train_eval_model(export_hooks=[hook])
  assert hook.calls == [('end', 60, os.path.join(model_dir, 'ckpt-60'))]


def test_stops_exactly_at_max_train_steps_between_checkpoints(tmp_path):
  _configure(str(tmp_path), 25)
  assert train.train_eval_model()['global_step'] == 25
  assert job_util.checkpoint_step(str(tmp_path)) == 25


def test_continuous_eval_evaluates_checkpoints_as_they_appear(tmp_path):
  model_dir = str(tmp_path)
  eval_generator = synthetic_input_generators.GeneratorInputGenerator(
      tiny_model.linear_batches, batch_size=8)
  results = {}

  def evaluate():
    results.update(train.train_eval_model(
        t2r_model=tiny_model.LinearModel, input_generator_train=None,
        input_generator_eval=eval_generator, model_dir=model_dir,
        max_train_steps=40, eval_steps=2, eval_timeout_secs=60))

  # The evaluator starts first and waits for the trainer's checkpoints.
  evaluator = threading.Thread(target=evaluate)
  evaluator.start()
  _configure(model_dir, 40, 'train_eval_model.input_generator_eval = None')
  train.train_eval_model()
  evaluator.join(timeout=90)
  assert not evaluator.is_alive()
  assert results['global_step'] == 40
  assert event_files.steps_by_tag(os.path.join(model_dir, 'eval'))['loss'][-1] == 40


def test_model_instance_from_another_strategy_scope_is_rejected(tmp_path):
  strategy = tf.distribute.MirroredStrategy(['/cpu:0'])
  _configure(str(tmp_path), 10)
  with pytest.raises(ValueError, match='outside the scope'):
    train.train_eval_model(t2r_model=tiny_model.LinearModel(),
                           strategy=strategy)


def test_mirrored_strategy_trains_a_model_class(tmp_path):
  strategy = tf.distribute.MirroredStrategy(['/cpu:0'])
  _configure(str(tmp_path), 20)
  assert train.train_eval_model(strategy=strategy)['global_step'] == 20


@pytest.mark.parametrize('name, value', [
    ('max_train_steps', 0),
    ('save_checkpoints_steps', -1),
    ('keep_checkpoint_max', 1.5),
    ('eval_steps', 0),
    ('steps_per_execution', True),
])
def test_invalid_intervals_are_rejected(tmp_path, name, value):
  _configure(str(tmp_path), 10)
  with pytest.raises(ValueError, match=f'{name} must be a positive int'):
    train.train_eval_model(**{name: value})


def test_no_input_generator_is_rejected(tmp_path):
  with pytest.raises(ValueError, match='needs input_generator_train'):
    train.train_eval_model(t2r_model=tiny_model.LinearModel,
                           model_dir=str(tmp_path))


def test_non_t2r_model_is_rejected(tmp_path):
  _configure(str(tmp_path), 10)
  with pytest.raises(TypeError, match='must be a T2RModel'):
    train.train_eval_model(t2r_model=lambda: object())


def test_model_instance_trains_under_the_default_strategy(tmp_path):
  _configure(str(tmp_path), 10)
  model = tiny_model.LinearModel()
  assert train.train_eval_model(t2r_model=model)['global_step'] == 10
  assert model.optimizer.iterations.numpy() == 10


def test_mixed_precision_model_class_trains_with_loss_scaling(tmp_path):
  models_seen = []

  def make_model():
    models_seen.append(tiny_model.LinearModel())
    return models_seen[-1]

  _configure(str(tmp_path), 10)
  result = train.train_eval_model(t2r_model=make_model,
                                  mixed_precision_policy='mixed_float16')
  assert result['global_step'] == 10
  model, = models_seen
  assert model.dense.compute_dtype == 'float16'
  assert isinstance(model.optimizer,
                    tf_keras.mixed_precision.LossScaleOptimizer)
  assert tf_keras.mixed_precision.global_policy().name == 'float32'


def test_mixed_precision_with_a_float32_instance_is_rejected(tmp_path):
  _configure(str(tmp_path), 10)
  with pytest.raises(ValueError, match="created with policy 'float32'"):
    train.train_eval_model(t2r_model=tiny_model.LinearModel(),
                           mixed_precision_policy='mixed_float16')


def test_steps_per_execution_keeps_checkpoint_intervals(tmp_path):
  saved_steps = []
  _configure(str(tmp_path), 40)
  result = train.train_eval_model(
      steps_per_execution=5,
      export_hooks=[lambda model, directory, step: saved_steps.append(step)])
  assert result['global_step'] == 40
  assert saved_steps == [20, 40]


def test_moving_average_optimizer_resumes_and_evaluates(tmp_path):
  _configure(str(tmp_path), 20, 'create_adam_optimizer.use_ema = True')
  train.train_eval_model()
  gin.clear_config()
  _configure(str(tmp_path), 30, 'create_adam_optimizer.use_ema = True')
  result = train.train_eval_model()
  assert result['global_step'] == 30
  assert result['eval']['loss'] < 14.0
  reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(str(tmp_path)))
  optimizer_variables = [name for name in reader.get_variable_to_shape_map()
                         if name.startswith('optimizer/_variables/')]
  # Adam's two slots and the moving average, for the kernel and the bias.
  assert len(optimizer_variables) == 6


def _train_on_shuffled_records(tmp_path, name, seed):
  """Final weights after 30 steps on shuffled records, with a job seed."""
  records = str(tmp_path / 'linear.tfrecord')
  if not os.path.exists(records):
    tiny_model.write_linear_records(records, 64, marker=0.0)
  gin.clear_config()
  try:
    result = train.train_eval_model(
        t2r_model=tiny_model.LinearModel,
        input_generator_train=record_input_generator.DefaultRecordInputGenerator(
            file_patterns=records, batch_size=8, shuffle_buffer_size=64),
        max_train_steps=30, model_dir=str(tmp_path / name),
        save_checkpoints_steps=30, seed=seed)
  finally:
    gin.clear_config()
  reader = tf.train.load_checkpoint(str(tmp_path / name))
  weights = {key: reader.get_tensor(key)
             for key in reader.get_variable_to_shape_map()
             if key.startswith('model/') and 'OPTIMIZER' not in key}
  return result['train']['loss'], weights


def test_same_seed_gives_the_same_training(tmp_path):
  loss_a, weights_a = _train_on_shuffled_records(tmp_path, 'a', seed=5)
  loss_b, weights_b = _train_on_shuffled_records(tmp_path, 'b', seed=5)
  assert loss_a == loss_b
  assert weights_a.keys() == weights_b.keys() and weights_a
  for key, value in weights_a.items():
    np.testing.assert_array_equal(value, weights_b[key], err_msg=key)


def test_different_seeds_give_different_training(tmp_path):
  loss_a, _ = _train_on_shuffled_records(tmp_path, 'a', seed=5)
  loss_b, _ = _train_on_shuffled_records(tmp_path, 'b', seed=6)
  assert loss_a != loss_b


def test_seed_does_not_override_an_input_generator_seed():
  generator = record_input_generator.DefaultRecordInputGenerator(
      file_patterns='/nonexistent/*.tfrecord', seed=3)
  generator.set_default_seed(9)
  assert generator.seed == 3


def test_invalid_seed_is_rejected(tmp_path):
  with pytest.raises(ValueError, match='seed must be an int'):
    train.train_eval_model(
        t2r_model=tiny_model.LinearModel,
        input_generator_train=synthetic_input_generators.GeneratorInputGenerator(
            generator_fn=tiny_model.linear_batches),
        max_train_steps=1, model_dir=str(tmp_path), seed=-1)


def test_export_generator_exports_every_checkpoint_keeping_the_newest(
    tmp_path):
  gin.clear_config()
  try:
    train.train_eval_model(
        t2r_model=tiny_model.LinearModel,
        input_generator_train=synthetic_input_generators.GeneratorInputGenerator(
            generator_fn=tiny_model.linear_batches, batch_size=8),
        max_train_steps=30, model_dir=str(tmp_path),
        save_checkpoints_steps=10,
        export_generator=default_export_generator.DefaultExportGenerator(),
        num_export_versions=2, seed=0)
  finally:
    gin.clear_config()
  assert sorted(os.listdir(tmp_path / 'export')) == ['20', '30']


# Several named eval sets (MultiEvalRecordInputGenerator).


@pytest.fixture
def multi_eval_generator(tmp_path):
  """Eval sets 'seen' and 'novel' of LinearModel records (another marker)."""
  seen = str(tmp_path / 'seen.tfrecord')
  novel = str(tmp_path / 'novel.tfrecord')
  tiny_model.write_linear_records(seen, 16, marker=0.0, seed=1)
  tiny_model.write_linear_records(novel, 16, marker=5.0, seed=2)
  return multi_eval_input_generator.MultiEvalRecordInputGenerator(
      eval_map={'seen': seen, 'novel': novel}, batch_size=8)


def _train_linear_model(model_dir, max_train_steps, input_generator_eval,
                        with_training=True):
  gin.clear_config()
  try:
    return train.train_eval_model(
        t2r_model=tiny_model.LinearModel,
        input_generator_train=(
            synthetic_input_generators.GeneratorInputGenerator(
                generator_fn=tiny_model.linear_batches, batch_size=8)
            if with_training else None),
        input_generator_eval=input_generator_eval,
        max_train_steps=max_train_steps, model_dir=str(model_dir),
        save_checkpoints_steps=2, eval_steps=1, eval_timeout_secs=10,
        show_progress=False)
  finally:
    gin.clear_config()


def test_multi_eval_sets_are_summarized_under_eval_name(
    tmp_path, multi_eval_generator):
  model_dir = tmp_path / 'model'
  result = _train_linear_model(model_dir, 4, multi_eval_generator)
  for name in ('eval_seen', 'eval_novel'):
    assert event_files.steps_by_tag(model_dir / name)['loss'] == [2, 4], name
    assert event_files.scalars(model_dir / name, 'loss')[-1] == pytest.approx(
        result[name]['loss'])
  assert not (model_dir / 'eval').exists()
  assert 'eval' not in result
  assert result['eval_novel']['loss'] != result['eval_seen']['loss']


def test_multi_eval_only_evaluates_each_set_of_the_checkpoint(
    trained, tmp_path, multi_eval_generator):
  model_dir = tmp_path / 'model'
  shutil.copytree(trained[0], model_dir)
  result = _train_linear_model(model_dir, 60, multi_eval_generator,
                               with_training=False)
  assert result['global_step'] == 60
  for name in ('eval_seen', 'eval_novel'):
    assert 'loss' in result[name]
    assert event_files.steps_by_tag(model_dir / name)['loss'] == [60]


def test_multi_eval_rerun_at_max_train_steps_reports_empty_sets(
    trained, tmp_path, multi_eval_generator):
  model_dir = tmp_path / 'model'
  shutil.copytree(trained[0], model_dir)
  assert _train_linear_model(model_dir, 60, multi_eval_generator) == {
      'global_step': 60, 'train': {}, 'eval_seen': {}, 'eval_novel': {}}


def test_a_rerun_removes_the_temporary_files_of_a_killed_run(tmp_path):
  leftover = tmp_path / 'export' / ('temp-20-' + '0123abcd' * 4)
  leftover.mkdir(parents=True)
  (leftover / 'saved_model.pb').write_bytes(b'half')
  old = 1_000_000_000  # Long before this run: not another job's export.
  for path in (leftover / 'saved_model.pb', leftover):
    os.utime(path, (old, old))
  gin.clear_config()
  try:
    train.train_eval_model(
        t2r_model=tiny_model.LinearModel,
        input_generator_train=synthetic_input_generators.GeneratorInputGenerator(
            generator_fn=tiny_model.linear_batches, batch_size=8),
        max_train_steps=2, model_dir=str(tmp_path), seed=0)
  finally:
    gin.clear_config()
  assert not leftover.exists()
