"""seed_sweep: per-seed quickstart results -> mean ± sd, worst, table, picture."""

import json
import os

from research.pose_env import seed_sweep


def _write_results(root_dir, seed, regression, critic):
  seed_dir = os.path.join(root_dir, f'seed{seed}')
  os.makedirs(seed_dir)
  with open(os.path.join(seed_dir, 'results.json'), 'w') as f:
    json.dump({'policies': {'random': {'mean_distance': 0.64},
                            'regression': {'mean_distance': regression},
                            'cem_critic': {'mean_distance': critic}},
               'total_seconds': 100.0}, f)


def test_reused_results_are_summarized_into_table_json_and_picture(tmp_path):
  for seed, (regression, critic) in enumerate(
      [(0.02, 0.04), (0.03, 0.05), (0.025, 0.045)]):
    _write_results(tmp_path, seed, regression, critic)
  code = seed_sweep.main(['seed_sweep', '--seeds=0,1,2',
                          f'--root_dir={tmp_path}'])
  assert code == 0
  with open(tmp_path / 'seed_sweep.json') as f:
    summaries = {s['name']: s for s in json.load(f)['summaries']}
  assert summaries['regression']['worst'] == 0.03
  assert summaries['cem_critic']['every_seed_meets_target'] is True
  table = (tmp_path / 'seed_sweep.md').read_text()
  assert '| regression | 0.0250 ± 0.0050 | 0.0300 (1) |' in table
  assert (tmp_path / 'seed_sweep.png').stat().st_size > 0


def test_a_seed_missing_a_target_fails_the_sweep(tmp_path, capsys):
  for seed, critic in enumerate([0.04, 0.07, 0.05]):
    _write_results(tmp_path, seed, 0.02, critic)
  code = seed_sweep.main(['seed_sweep', '--seeds=0,1,2',
                          f'--root_dir={tmp_path}'])
  assert code == 1
  assert "['cem_critic'] missed the target" in capsys.readouterr().err


def test_fewer_than_three_seeds_are_refused(tmp_path):
  assert seed_sweep.main(['seed_sweep', '--seeds=0,1',
                          f'--root_dir={tmp_path}']) == 2
