"""maml_sweep end to end at toy sizes: its configs train, export and score."""

import json
import os
import subprocess
import sys

from research.pose_env import maml_sweep

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))


def test_one_tiny_seed_trains_the_three_models_and_writes_the_table(tmp_path):
  completed = subprocess.run(
      [sys.executable, '-m', 'research.pose_env.maml_sweep', '--seeds=0',
       f'--root_dir={tmp_path}', '--num_train_tasks=3',
       '--episodes_per_task=10', '--num_eval_tasks=2', '--num_test_tasks=2',
       '--regression_steps=3', '--maml_steps=3'],
      cwd=_REPO, capture_output=True, text=True, timeout=600, check=False)
  assert completed.returncode == 0, completed.stderr[-3000:]
  with open(tmp_path / 'maml_sweep.json') as f:
    results = json.load(f)['0']
  assert set(key for key, _ in maml_sweep.ROWS) <= set(results)
  table = (tmp_path / 'maml_sweep.md').read_text()
  for _, label in maml_sweep.ROWS:
    assert f'| {label} |' in table
  assert 'seed 0, K=1:' in table
  assert (tmp_path / 'maml_sweep.png').stat().st_size > 0
  config = (tmp_path / 'seed0' / 'maml' / 'operative_config.gin').read_text()
  assert "MAMLModel.adapted_variables = '^head/output/bias'" in config
