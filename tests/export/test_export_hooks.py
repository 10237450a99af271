"""Exports during train_eval_model: periodic, lagged, best; checkpoint predictor."""

import os
import shutil

import numpy as np
import pytest
import tensorflow as tf

from t2r import specs
from t2r import train
from t2r.data import synthetic_input_generators
from t2r.export import export_hooks
from t2r.predictors import export_dirs
from t2r.predictors.checkpoint_predictor import CheckpointPredictor
from t2r.predictors.exported_savedmodel_predictor import ExportedSavedModelPredictor

from export_models import TinyModel
from export_models import make_model


def _versions(root):
  return [version for version, _ in export_dirs.list_exports(root)]


def _train(model_dir, exporter, max_train_steps=6, callbacks=()):
  """Trains TinyModel to max_train_steps, checkpointing every 2 steps."""
  return train.train_eval_model(
      t2r_model=TinyModel,
      input_generator_train=(
          synthetic_input_generators.DefaultRandomInputGenerator(
              batch_size=4, seed=0)),
      input_generator_eval=(
          synthetic_input_generators.DefaultRandomInputGenerator(
              batch_size=4, seed=1)),
      max_train_steps=max_train_steps,
      model_dir=model_dir,
      eval_steps=1,
      save_checkpoints_steps=2,
      export_hooks=[exporter],
      callbacks=callbacks)


@pytest.fixture(scope='module')
def trained_model_dir(tmp_path_factory):
  """A model_dir after 6 steps with checkpoints (and exports) every 2."""
  model_dir = str(tmp_path_factory.mktemp('model_dir'))
  _train(model_dir,
         export_hooks.PeriodicExporter(
             num_versions=2, lagged_export_dir_name='export_lagged'),
         callbacks=[export_hooks.BestExporter(model_dir, 'loss')])
  return model_dir


def test_periodic_exports_keep_the_newest_versions(trained_model_dir):
  assert _versions(os.path.join(trained_model_dir, 'export')) == [4, 6]


def test_lagged_exports_are_one_version_behind(trained_model_dir):
  assert _versions(os.path.join(trained_model_dir, 'export_lagged')) == [2, 4]


def test_best_export_records_the_best_eval_metric(trained_model_dir):
  best = export_dirs.list_exports(
      os.path.join(trained_model_dir, 'export_best'))
  assert len(best) == 1
  extra = specs.read_t2r_assets(best[0][1]).provenance.extra
  losses = {}
  for event_file in tf.io.gfile.glob(
      os.path.join(trained_model_dir, 'eval', 'events*')):
    for event in tf.compat.v1.train.summary_iterator(event_file):
      for value in event.summary.value:
        if value.tag == 'loss':
          losses[event.step] = float(tf.make_ndarray(value.tensor))
  best_step = min(losses, key=losses.get)
  assert best[0][0] == best_step
  assert float(extra['best_metric']) == pytest.approx(losses[best_step])


def test_checkpoint_predictor_matches_the_final_export(trained_model_dir):
  by_checkpoint = CheckpointPredictor(TinyModel(), trained_model_dir)
  with pytest.raises(ValueError, match='no model loaded'):
    by_checkpoint.predict({})
  assert by_checkpoint.restore()
  assert by_checkpoint.global_step == 6
  by_export = ExportedSavedModelPredictor(
      os.path.join(trained_model_dir, 'export'), timeout=0)
  assert by_export.restore() and by_export.global_step == 6
  features = specs.make_random_numpy(
      specs.filter_required_flat_tensor_spec(
          by_export.get_feature_specification()), batch_size=2, seed=3)
  np.testing.assert_allclose(
      by_checkpoint.predict(features)['inference_output'],
      by_export.predict(features)['inference_output'], rtol=1e-5, atol=1e-6)


def test_every_n_steps_skips_checkpoints_in_between(tmp_path):
  model = make_model()
  exporter = export_hooks.PeriodicExporter(every_n_steps=5)
  exported = [exporter(model, str(tmp_path), step) for step in (1, 3, 5, 7)]
  assert [path is not None for path in exported] == [True, False, True, False]
  assert _versions(str(tmp_path / 'export')) == [1, 5]


def test_at_train_end_exports_the_step_the_schedule_skipped(tmp_path):
  model = make_model()
  exporter = export_hooks.PeriodicExporter(every_n_steps=5)
  for step in (1, 3, 5, 7):
    exporter(model, str(tmp_path), step)
  assert exporter.at_train_end(model, str(tmp_path), 7) is not None
  assert exporter.at_train_end(model, str(tmp_path), 7) is None
  assert _versions(str(tmp_path / 'export')) == [1, 5, 7]


def test_training_ending_between_scheduled_exports_exports_the_final_step(
    tmp_path):
  # Checkpoints at 2, 4, 6; the schedule exports 2 (first) and 4 only.
  _train(str(tmp_path), export_hooks.PeriodicExporter(
      every_n_steps=4, lagged_export_dir_name='export_lagged'))
  assert _versions(str(tmp_path / 'export')) == [2, 4, 6]
  assert _versions(str(tmp_path / 'export_lagged')) == [2, 4]


def test_rerun_exports_a_final_step_a_stopped_run_did_not(trained_model_dir,
                                                          tmp_path):
  model_dir = str(tmp_path / 'model_dir')
  shutil.copytree(trained_model_dir, model_dir)
  tf.io.gfile.rmtree(os.path.join(model_dir, 'export', '6'))
  result = _train(model_dir, export_hooks.PeriodicExporter(
      num_versions=2, lagged_export_dir_name='export_lagged'))
  assert result['train'] == {}  # Nothing trained: the step was reached.
  assert _versions(os.path.join(model_dir, 'export')) == [4, 6]
  assert _versions(os.path.join(model_dir, 'export_lagged')) == [2, 4]


@pytest.mark.parametrize('kwargs,message', [
    (dict(num_versions=0), 'num_versions must be a positive int'),
    (dict(every_n_steps=-1), 'every_n_steps must be a positive int'),
])
def test_invalid_exporter_arguments(kwargs, message):
  with pytest.raises(ValueError, match=message):
    export_hooks.PeriodicExporter(**kwargs)


def _write_eval(model_dir, step, accuracy):
  writer = tf.summary.create_file_writer(os.path.join(model_dir, 'eval'))
  with writer.as_default():
    tf.summary.scalar('accuracy', accuracy, step=step)
  writer.close()


def test_best_exporter_exports_only_improvements_across_restarts(tmp_path):
  model_dir = str(tmp_path)
  model = make_model()
  exporter = export_hooks.BestExporter(model_dir, 'accuracy', mode='max',
                                       num_versions=2)
  exported = []
  for step, accuracy in ((1, 0.1), (2, 0.5), (3, 0.3)):
    _write_eval(model_dir, step, accuracy)
    exported.append(exporter.maybe_export(model, step) is not None)
  assert exported == [True, True, False]
  assert exporter.maybe_export(model, 3) is None  # No new evaluation.
  restarted = export_hooks.BestExporter(model_dir, 'accuracy', mode='max')
  _write_eval(model_dir, 4, 0.4)
  assert restarted.maybe_export(model, 4) is None
  assert _versions(os.path.join(model_dir, 'export_best')) == [1, 2]
