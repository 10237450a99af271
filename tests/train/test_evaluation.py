"""Evaluation at the global step: once, periodically in fit, per checkpoint."""

import logging

import pytest
import tensorflow as tf

from t2r.train import callbacks
from t2r.train import evaluation
import event_files
import tiny_keras


def _trained_model(steps):
  model = tiny_keras.model()
  tiny_keras.fit(model, [], steps_per_epoch=steps, epochs=1)
  return model


def _writer(directory):
  return tf.summary.create_file_writer(str(directory))


# evaluate.


def test_evaluate_returns_the_metrics_as_python_numbers():
  results = evaluation.evaluate(_trained_model(3), tiny_keras.dataset(),
                                steps=2, writer=None)
  assert list(results) == ['loss']
  assert isinstance(results['loss'], float)


def test_evaluate_writes_the_metrics_at_the_global_step(tmp_path):
  results = evaluation.evaluate(_trained_model(3), tiny_keras.dataset(),
                                steps=2, writer=_writer(tmp_path))
  assert event_files.steps_by_tag(tmp_path)['loss'] == [3]
  assert event_files.scalars(tmp_path, 'loss') == [
      pytest.approx(results['loss'])]


def test_evaluate_records_the_model_summaries_of_the_first_batch_only(
    tmp_path):
  evaluation.evaluate(_trained_model(3), tiny_keras.dataset(), steps=4,
                      writer=_writer(tmp_path))
  assert tiny_keras.input_mean_steps(tmp_path) == [3]


def test_each_evaluate_records_its_own_first_batch(tmp_path):
  model, writer = _trained_model(2), _writer(tmp_path)
  for _ in range(2):
    evaluation.evaluate(model, tiny_keras.dataset(), steps=3, writer=writer)
  assert tiny_keras.input_mean_steps(tmp_path) == [2, 2]


def test_evaluate_logs_the_step_and_metrics(caplog):
  with caplog.at_level(logging.INFO, logger='absl'):
    evaluation.evaluate(_trained_model(2), tiny_keras.dataset(), steps=1,
                        writer=None)
  assert any(r.getMessage().startswith('eval at step 2: loss ')
             for r in caplog.records)


# PeriodicEvaluator.


def _eval_steps(directory):
  return event_files.steps_by_tag(directory)['loss']


def test_periodic_evaluator_evaluates_every_n_steps_and_at_the_end(tmp_path):
  evaluator = evaluation.PeriodicEvaluator(
      tiny_keras.dataset(), steps=1, every_n_steps=4,
      writer=_writer(tmp_path))
  tiny_keras.fit(tiny_keras.model(), [evaluator], steps_per_epoch=2,
                 epochs=5)
  assert _eval_steps(tmp_path) == [4, 8, 10]


def test_periodic_evaluator_evaluates_when_training_stops_early(tmp_path):
  evaluator = evaluation.PeriodicEvaluator(
      tiny_keras.dataset(), steps=1, every_n_steps=4,
      writer=_writer(tmp_path))
  tiny_keras.fit(tiny_keras.model(), [callbacks.StopAtStep(5), evaluator],
                 steps_per_epoch=2, epochs=5)
  assert _eval_steps(tmp_path) == [4, 5]


def test_periodic_evaluator_keeps_the_last_results():
  evaluator = evaluation.PeriodicEvaluator(tiny_keras.dataset(), steps=1,
                                           every_n_steps=2)
  model = tiny_keras.model()
  tiny_keras.fit(model, [evaluator], steps_per_epoch=2, epochs=1)
  assert evaluator.results == pytest.approx(
      model.evaluate(tiny_keras.dataset(), steps=1, verbose=0,
                     return_dict=True))


# evaluate_checkpoints.


def _model_dir_with_checkpoints(directory, steps):
  """Trains a model, saving a checkpoint at each of `steps`; returns it."""
  model = tiny_keras.model()
  manager = tf.train.CheckpointManager(
      tf.train.Checkpoint(model=model, optimizer=model.optimizer),
      str(directory), max_to_keep=None)
  previous = 0
  for step in steps:
    tiny_keras.fit(model, [], steps_per_epoch=step - previous, epochs=1)
    manager.save(checkpoint_number=step)
    previous = step
  return model


def _evaluate_checkpoints(model_dir, writer=None, **kwargs):
  model = tiny_keras.model()
  model.build((None, 3))
  model.optimizer.build(model.trainable_variables)
  checkpoint = tf.train.Checkpoint(model=model, optimizer=model.optimizer)
  return model, evaluation.evaluate_checkpoints(
      model, checkpoint, tiny_keras.dataset(), str(model_dir), eval_steps=1,
      writer=writer, **kwargs)


def test_evaluate_checkpoints_evaluates_the_restored_weights(tmp_path):
  trained = _model_dir_with_checkpoints(tmp_path, [3])
  _, results = _evaluate_checkpoints(tmp_path, max_train_steps=3)
  assert results == pytest.approx(
      trained.evaluate(tiny_keras.dataset(), steps=1, verbose=0,
                       return_dict=True))


def test_evaluate_checkpoints_stops_at_max_train_steps(tmp_path):
  _model_dir_with_checkpoints(tmp_path / 'model', [2, 4])
  model, _ = _evaluate_checkpoints(tmp_path / 'model',
                                   writer=_writer(tmp_path / 'eval'),
                                   max_train_steps=4)
  assert int(model.optimizer.iterations.numpy()) == 4
  assert _eval_steps(tmp_path / 'eval') == [4]


def test_evaluate_checkpoints_stops_when_none_arrives_in_time(tmp_path):
  _model_dir_with_checkpoints(tmp_path / 'model', [2])
  _, results = _evaluate_checkpoints(tmp_path / 'model',
                                     writer=_writer(tmp_path / 'eval'),
                                     max_train_steps=10, timeout_secs=0.1)
  assert 'loss' in results
  assert _eval_steps(tmp_path / 'eval') == [2]


def test_evaluate_checkpoints_without_checkpoints_returns_nothing(tmp_path):
  _, results = _evaluate_checkpoints(tmp_path, timeout_secs=0.1)
  assert results == {}


def test_evaluate_checkpoints_of_another_model_are_rejected(tmp_path):
  _model_dir_with_checkpoints(tmp_path, [1])
  model = tiny_keras.model()
  model.build((None, 5))
  checkpoint = tf.train.Checkpoint(model=model, optimizer=model.optimizer)
  with pytest.raises(ValueError, match='does not match the model'):
    evaluation.evaluate_checkpoints(model, checkpoint, tiny_keras.dataset(),
                                    str(tmp_path), eval_steps=1, writer=None,
                                    timeout_secs=0.1)


# evaluate_checkpoints_on_sets.


def _shifted_dataset(shift):
  """tiny_keras.dataset() with the targets moved by `shift`."""
  return tiny_keras.dataset().map(lambda x, y: (x, y + shift))


def test_evaluate_checkpoints_on_sets_evaluates_each_set(tmp_path):
  _model_dir_with_checkpoints(tmp_path / 'model', [2, 4])
  model = tiny_keras.model()
  model.build((None, 3))
  model.optimizer.build(model.trainable_variables)
  results = evaluation.evaluate_checkpoints_on_sets(
      model, tf.train.Checkpoint(model=model, optimizer=model.optimizer),
      {'eval_near': evaluation.EvalSet(_shifted_dataset(0.0),
                                       _writer(tmp_path / 'near')),
       'eval_far': evaluation.EvalSet(_shifted_dataset(10.0),
                                      _writer(tmp_path / 'far'))},
      str(tmp_path / 'model'), eval_steps=1, max_train_steps=4)
  assert list(results) == ['eval_near', 'eval_far']
  assert results['eval_far']['loss'] > results['eval_near']['loss']
  # The latest checkpoint when the evaluator starts, in each set's writer.
  assert _eval_steps(tmp_path / 'near') == [4]
  assert _eval_steps(tmp_path / 'far') == [4]
  assert event_files.scalars(tmp_path / 'far', 'loss')[-1] == pytest.approx(
      results['eval_far']['loss'])


def test_evaluate_checkpoints_on_sets_without_checkpoints_returns_empty_sets(
    tmp_path):
  model = tiny_keras.model()
  model.build((None, 3))
  results = evaluation.evaluate_checkpoints_on_sets(
      model, tf.train.Checkpoint(model=model), {
          'eval_a': evaluation.EvalSet(tiny_keras.dataset()),
          'eval_b': evaluation.EvalSet(tiny_keras.dataset())
      }, str(tmp_path), eval_steps=1, timeout_secs=0.1)
  assert results == {'eval_a': {}, 'eval_b': {}}


def test_named_evaluations_log_their_name(caplog):
  evaluator = evaluation.PeriodicEvaluator(
      tiny_keras.dataset(), steps=1, every_n_steps=2, name='eval_novel')
  with caplog.at_level(logging.INFO, logger='absl'):
    tiny_keras.fit(tiny_keras.model(), [evaluator], steps_per_epoch=2,
                   epochs=1)
  assert any(r.getMessage().startswith('eval_novel at step 2: loss ')
             for r in caplog.records)
