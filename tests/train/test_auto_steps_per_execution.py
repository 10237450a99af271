"""Steps per call chosen by train_eval_model: exact boundaries, eval unaffected."""

import gin
import pytest
import tf_keras

from t2r import train
from t2r.data import record_input_generator
from t2r.data import synthetic_input_generators
from t2r.train import train_steps
import event_files
import tiny_model


@pytest.mark.parametrize('start, end, intervals, expected', [
    (0, 1000, [500, 500, 100, 100], 10),
    (0, 60, [20, 20, 10, 10], 10),
    (0, 64, [32, 64, 16, 16], 16),
    (0, 100, [50, 50, 100, 100], 10),
    (500, 1000, [500, 500, 100, 100], 10),
    (0, 37, [20, 20, 10, 10], 1),
    (0, 1000, [7, 7, 7, 7], 1),
])
def test_auto_steps_per_execution_divides_every_boundary(start, end,
                                                         intervals, expected):
  steps = train_steps.auto_steps_per_execution(start, end, intervals)
  assert steps == expected
  assert steps <= train_steps.MAX_AUTO_STEPS_PER_EXECUTION


def test_set_train_steps_per_execution_rejects_non_positive_values():
  model = tiny_model.LinearModel()
  model.compile()
  with pytest.raises(ValueError, match='positive int, got 0'):
    train_steps.set_train_steps_per_execution(model, 0)


def _train(tmp_path, max_train_steps, input_generator_eval, eval_steps,
           **kwargs):
  """Trains LinearModel; returns (result, [(step, steps per call)] at saves)."""
  saves = []

  def hook(model, directory, step):
    del directory
    saves.append((step, int(model.steps_per_execution.numpy())))

  gin.clear_config()
  tf_keras.utils.set_random_seed(0)
  try:
    result = train.train_eval_model(
        t2r_model=tiny_model.LinearModel,
        input_generator_train=synthetic_input_generators.GeneratorInputGenerator(
            generator_fn=tiny_model.linear_batches, batch_size=8),
        input_generator_eval=input_generator_eval,
        max_train_steps=max_train_steps, model_dir=str(tmp_path),
        eval_steps=eval_steps, save_checkpoints_steps=20,
        save_summary_steps=10, log_every_n_steps=10, show_progress=False,
        export_hooks=[hook], **kwargs)
  finally:
    gin.clear_config()
  return result, saves


def test_default_runs_several_steps_per_call_at_the_exact_steps(tmp_path):
  result, saves = _train(tmp_path, 60, None, None)
  assert result['global_step'] == 60
  assert saves == [(20, 10), (40, 10), (60, 10)]
  tags = event_files.steps_by_tag(tmp_path / 'train')
  for tag in ('loss', 'state'):  # 'state': the model's add_summaries.
    assert tags[tag] == [10, 20, 30, 40, 50, 60], tag


def test_explicit_steps_per_execution_wins(tmp_path):
  _, saves = _train(tmp_path, 40, None, None, steps_per_execution=1)
  assert saves == [(20, 1), (40, 1)]


def test_evaluation_of_unknown_length_is_unaffected(tmp_path):
  """eval_steps=None: the eval pass runs to the end of a finite dataset."""
  records = str(tmp_path / 'eval.tfrecord')
  tiny_model.write_linear_records(records, 36, marker=0.0)
  eval_generator = record_input_generator.DefaultRecordInputGenerator(
      file_patterns=records, batch_size=8, num_epochs=1)
  result, saves = _train(tmp_path / 'model', 40, eval_generator, None)
  assert saves == [(20, 10), (40, 10)]
  assert result['global_step'] == 40
  assert set(result['eval']) >= {'loss'}
  eval_steps = event_files.steps_by_tag(tmp_path / 'model' / 'eval')['loss']
  assert eval_steps == [20, 40]


def test_resumed_training_keeps_the_exact_steps(tmp_path):
  _train(tmp_path, 40, None, None)
  result, saves = _train(tmp_path, 60, None, None)
  assert result['global_step'] == 60
  assert saves == [(60, 10)]
