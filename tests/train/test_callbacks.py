"""The training callbacks, keyed by the global step, in real tf-keras fits."""

import logging
import os

import gin
import pytest
import tensorflow as tf
import tf_keras

from t2r.train import callbacks
from t2r.train import train_steps
import event_files
import tiny_keras


class _AtBatchEnd(tf_keras.callbacks.Callback):
  """Calls `record(step)` after every batch (after the callbacks before it)."""

  def __init__(self, record):
    super().__init__()
    self._record = record

  def on_train_batch_end(self, batch, logs=None):
    self._record(train_steps.global_step(self.model))


# StopAtStep.


def test_stop_at_step_ends_fit_mid_epoch():
  assert tiny_keras.fit(tiny_keras.model(), [callbacks.StopAtStep(6)],
                        steps_per_epoch=4, epochs=3) == 6


def test_stop_at_step_counts_the_steps_of_earlier_runs():
  model = tiny_keras.model()
  tiny_keras.fit(model, [], steps_per_epoch=5, epochs=1)
  assert tiny_keras.fit(model, [callbacks.StopAtStep(7)], steps_per_epoch=4,
                        epochs=3) == 7


def test_stop_at_step_already_reached_stops_after_one_step():
  # tf-keras checks stop_training only after a batch; train_eval_model does
  # not call fit at all then.
  model = tiny_keras.model()
  tiny_keras.fit(model, [], steps_per_epoch=3, epochs=1)
  assert tiny_keras.fit(model, [callbacks.StopAtStep(3)], steps_per_epoch=2,
                        epochs=2) == 4


# ProgressLogger.


@pytest.mark.parametrize('tag', ['loss', 'global_step/sec'])
def test_progress_logger_writes_train_scalars_every_n_steps(tmp_path, tag):
  writer = tf.summary.create_file_writer(str(tmp_path))
  logger = callbacks.ProgressLogger(log_every_n_steps=100,
                                    summary_every_n_steps=2, writer=writer)
  tiny_keras.fit(tiny_keras.model(), [logger], steps_per_epoch=3, epochs=2)
  assert event_files.steps_by_tag(tmp_path)[tag] == [2, 4, 6]


def test_progress_logger_records_model_summaries_every_n_steps(tmp_path):
  writer = tf.summary.create_file_writer(str(tmp_path))
  logger = callbacks.ProgressLogger(log_every_n_steps=100,
                                    summary_every_n_steps=2, writer=writer)
  tiny_keras.fit(tiny_keras.model(), [logger], steps_per_epoch=3, epochs=2)
  # The model summarizes before its update: at the step it starts from.
  assert tiny_keras.input_mean_steps(tmp_path) == [0, 2, 4]


def test_progress_logger_leaves_no_default_writer_after_fit(tmp_path):
  writer = tf.summary.create_file_writer(str(tmp_path))
  logger = callbacks.ProgressLogger(log_every_n_steps=100,
                                    summary_every_n_steps=1, writer=writer)
  model = tiny_keras.model()
  tiny_keras.fit(model, [logger], steps_per_epoch=1, epochs=1)
  model.evaluate(tiny_keras.dataset(), steps=1, verbose=0)
  assert tiny_keras.input_mean_steps(tmp_path) == [0]


def test_progress_logger_logs_loss_every_n_steps(caplog):
  logger = callbacks.ProgressLogger(log_every_n_steps=2,
                                    summary_every_n_steps=100)
  with caplog.at_level(logging.INFO, logger='absl'):
    tiny_keras.fit(tiny_keras.model(), [logger], steps_per_epoch=5, epochs=1)
  lines = [r.getMessage() for r in caplog.records
           if r.getMessage().startswith('step ')]
  assert [line.split(':')[0] for line in lines] == ['step 2', 'step 4']
  assert 'loss ' in lines[0] and 'global_step/sec ' in lines[0]


def test_progress_logger_without_a_writer_writes_no_files(tmp_path):
  logger = callbacks.ProgressLogger(log_every_n_steps=1,
                                    summary_every_n_steps=1)
  tiny_keras.fit(tiny_keras.model(), [logger], steps_per_epoch=2, epochs=1)
  assert not os.listdir(tmp_path)


# OperativeConfigWriter.


@gin.configurable
def _configured(value=0):
  return value


def test_operative_config_is_written_after_the_first_step(tmp_path):
  gin.parse_config('_configured.value = 3')
  _configured()
  path = str(tmp_path / 'operative_config.gin')
  exists_after_step = []
  tiny_keras.fit(tiny_keras.model(), [
      callbacks.OperativeConfigWriter(path),
      _AtBatchEnd(lambda step: exists_after_step.append(os.path.exists(path)))
  ], steps_per_epoch=2, epochs=1)
  assert exists_after_step == [True, True]
  with open(path) as f:
    assert '_configured.value = 3' in f.read()


def test_operative_config_is_written_once_per_fit(tmp_path):
  path = tmp_path / 'operative_config.gin'

  def remove_it(step):
    if step == 1:
      os.remove(path)

  tiny_keras.fit(tiny_keras.model(),
                 [callbacks.OperativeConfigWriter(str(path)),
                  _AtBatchEnd(remove_it)], steps_per_epoch=3, epochs=1)
  assert not path.exists()


# CheckpointSaver.


def _saver(model, tmp_path, every_n_steps, export_hooks=()):
  checkpoint = tf.train.Checkpoint(model=model, optimizer=model.optimizer)
  manager = tf.train.CheckpointManager(checkpoint, str(tmp_path),
                                       max_to_keep=None)
  return manager, callbacks.CheckpointSaver(
      manager, every_n_steps, export_hooks, directory=str(tmp_path))


def _checkpoint_steps(manager):
  return [int(path.rsplit('-', 1)[1]) for path in manager.checkpoints]


def test_checkpoint_saver_saves_every_n_steps_and_at_the_end(tmp_path):
  model = tiny_keras.model()
  manager, saver = _saver(model, tmp_path, every_n_steps=4)
  tiny_keras.fit(model, [saver], steps_per_epoch=2, epochs=5)
  assert _checkpoint_steps(manager) == [4, 8, 10]


def test_checkpoint_saver_saves_when_training_stops_early(tmp_path):
  model = tiny_keras.model()
  manager, saver = _saver(model, tmp_path, every_n_steps=4)
  tiny_keras.fit(model, [callbacks.StopAtStep(5), saver], steps_per_epoch=2,
                 epochs=5)
  assert _checkpoint_steps(manager) == [4, 5]


def test_checkpoint_saver_runs_the_hooks_after_each_save(tmp_path):
  calls = []

  def hook(model, directory, step):
    calls.append((directory, step, tf.train.latest_checkpoint(directory)))

  model = tiny_keras.model()
  _, saver = _saver(model, tmp_path, every_n_steps=2, export_hooks=[hook])
  tiny_keras.fit(model, [saver], steps_per_epoch=2, epochs=2)
  assert calls == [(str(tmp_path), step, str(tmp_path / f'ckpt-{step}'))
                   for step in (2, 4)]


class _RecordingHook:

  def __init__(self):
    self.calls = []

  def __call__(self, model, directory, step):
    self.calls.append(('save', step))

  def at_train_end(self, model, directory, step):
    self.calls.append(('end', step))


def test_checkpoint_saver_runs_at_train_end_once_after_the_final_save(
    tmp_path):
  hook = _RecordingHook()
  model = tiny_keras.model()
  _, saver = _saver(model, tmp_path, every_n_steps=4, export_hooks=[hook])
  tiny_keras.fit(model, [saver], steps_per_epoch=2, epochs=3)
  assert hook.calls == [('save', 4), ('save', 6), ('end', 6)]


def test_checkpoint_saver_counts_from_the_resumed_step(tmp_path):
  model = tiny_keras.model()
  manager, saver = _saver(model, tmp_path, every_n_steps=4)
  tiny_keras.fit(model, [], steps_per_epoch=3, epochs=1)
  tiny_keras.fit(model, [saver], steps_per_epoch=1, epochs=5)
  assert _checkpoint_steps(manager) == [4, 8]


def test_training_progress_bar_reports_steps_and_loss(capsys):
  tiny_keras.fit(tiny_keras.model(),
                 [callbacks.TrainingProgressBar(6, 'train tiny',
                                                loss_every_n_steps=2)],
                 steps_per_epoch=6, epochs=1)
  last_line = capsys.readouterr().out.splitlines()[-1]
  assert last_line.startswith('[train tiny] 6/6 steps (100%)')
  assert 'steps/s' in last_line and 'loss ' in last_line
