"""The BC-Z sweep's bookkeeping: runs, per-task tables and the target."""

import pytest
import tf_keras

from research.bcz import bcz_env
from research.bcz import bcz_model
from research.bcz import run_experiment
from t2r import layers
from t2r.export.default_export_generator import DefaultExportGenerator

_TASKS = ('reach the duck', 'pick up the duck')
_BASELINES = {'random': {t: 0.0 for t in _TASKS},
              'expert': {'reach the duck': 1.0, 'pick up the duck': 0.9}}


def test_single_task_runs_get_a_directory_per_task():
  runs = run_experiment.plan_runs('/r', ['mse'], [0, 1], _TASKS, True)
  assert [(r.seed, r.task, r.model_dir) for r in runs] == [
      (0, 'reach the duck', '/r/mse-single/seed0/reach_the_duck'),
      (0, 'pick up the duck', '/r/mse-single/seed0/pick_up_the_duck'),
      (1, 'reach the duck', '/r/mse-single/seed1/reach_the_duck'),
      (1, 'pick up the duck', '/r/mse-single/seed1/pick_up_the_duck')]
  assert runs[0].name == 'mse (single-task)'


def test_unknown_variants_are_named():
  with pytest.raises(ValueError, match=r"unknown variants \['lstm'\]"):
    run_experiment.plan_runs('/r', ['mse', 'lstm'], [0], _TASKS, False)


def test_single_task_scores_merge_into_one_row_per_seed():
  runs = run_experiment.plan_runs('/r', ['mse'], [0, 1], _TASKS, True)
  scores = [{'success': {r.task: i / 4}} for i, r in enumerate(runs)]
  merged = run_experiment.per_task_seeds(runs, scores, _TASKS)
  assert merged == {'mse (single-task)': {
      'reach the duck': [0.0, 0.5], 'pick up the duck': [0.25, 0.75]}}


@pytest.mark.parametrize('pick_rates, meets', [
    ([0.72, 0.8, 0.9], True),    # 0.72 = 0.8 * the expert's 0.9.
    ([0.71, 0.9, 0.9], False),   # One seed misses.
])
def test_the_target_holds_only_if_every_seed_reaches_it(pick_rates, meets):
  results = {'reach the duck': [0.9, 0.8, 1.0], 'pick up the duck': pick_rates}
  assert run_experiment.meets_target(_BASELINES, results, 0.8) is meets


def test_summary_table_reports_mean_sd_and_worst():
  table = run_experiment.summary_markdown(
      _BASELINES, {'mse': {'reach the duck': [0.9, 0.8, 1.0],
                           'pick up the duck': [0.5, 0.6, 0.7]}}, 0.8)
  assert '| reach the duck | 0% | 100% | 90 ± 10% (80%) |' in table
  assert table.splitlines()[-1].endswith('| no |')


def _export_tiny_model(model_dir):
  tf_keras.utils.set_random_seed(0)
  model = bcz_model.BCZModel(
      image_size=64, num_waypoints=2, head_hidden_sizes=(16,),
      image_tower=lambda: layers.FiLMConvTower(
          filters=(4,), kernel_sizes=(3,), strides=(4,)))
  DefaultExportGenerator(export_tf_example_signature=False).export(
      model, str(model_dir / 'export'))


def test_score_records_the_export_step_and_the_task_it_ran(tmp_path):
  _export_tiny_model(tmp_path)
  run = run_experiment.Run('mse', 0, str(tmp_path), task='reach the duck')
  env = bcz_env.BCZEnv(tasks=_TASKS, max_steps=2)
  try:
    result = run_experiment.score(run, env, 1, train_seconds=5.0)
    again = run_experiment.score(run, env, 1, train_seconds=5.0)
  finally:
    env.close()
  assert result['global_step'] == 0
  assert list(result['success']) == ['reach the duck']
  assert again == result


def test_a_score_cached_for_other_tasks_is_not_reused(tmp_path):
  _export_tiny_model(tmp_path)
  run = run_experiment.Run('mse', 0, str(tmp_path))
  env = bcz_env.BCZEnv(tasks=_TASKS, max_steps=2)
  try:
    one = run_experiment.score(run, env, 1, 5.0, tasks=['reach the duck'])
    both = run_experiment.score(run, env, 1, 5.0, tasks=list(_TASKS))
  finally:
    env.close()
  assert list(one['success']) == ['reach the duck']
  assert sorted(both['success']) == sorted(_TASKS)
