"""The grasp-point sweep's run bindings and its per-env success table."""

import gin
import pytest

from research.qtopt import grasp_point_sweep
from research.qtopt import measure_baselines


@pytest.mark.parametrize('randomization', ['none', 'randomized'])
def test_the_run_bindings_set_the_image_size_and_both_envs_randomization(
    randomization):
  gin.clear_config()
  try:
    gin.parse_config_files_and_bindings(
        [grasp_point_sweep.CONFIG],
        grasp_point_sweep.run_bindings(128, randomization,
                                       ['NUM_SAMPLES = 16']))
    for scope in ('train', 'test'):
      assert gin.query_parameter(
          f'{scope}/KukaGraspPointEnv.randomization') == randomization
    assert gin.query_parameter('%IMAGE_SIZE') == 128
    assert gin.query_parameter('%NUM_SAMPLES') == 16
  finally:
    gin.clear_config()


def _row(name, successes, episodes=100):
  return measure_baselines.Row('grasp_point', name, episodes, successes,
                               wall_seconds=1.0, cpu_seconds=1.0)


def test_the_table_has_a_success_and_interval_column_per_env():
  baselines = {env: {name: _row(name, successes) for name, successes in
                     zip(grasp_point_sweep.BASELINES, (25, 50, 90))}
               for env in ('none', 'shifted')}
  results = [{'seed': 0, 'by_env': {
      'none': {'success': 0.8, 'interval': (0.71, 0.87)},
      'shifted': {'success': 0.4, 'interval': (0.31, 0.5)}}}]
  lines = grasp_point_sweep.success_table(baselines, results,
                                          ['none', 'shifted'])
  assert lines[0] == ('| policy | success (none) | 95% CI (Wilson) | '
                      'success (shifted) | 95% CI (Wilson) |')
  assert lines[1].count('---') == 5
  assert lines[2].startswith('| random | 25.0% | ')
  assert lines[-1] == '| learned, seed 0 | 80.0% | 71-87% | 40.0% | 31-50% |'
  assert len(lines) == 2 + len(grasp_point_sweep.BASELINES) + 1
