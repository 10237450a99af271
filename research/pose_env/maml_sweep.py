r"""MAML on pose_env with hidden drift, over seeds: the README's table.

  python -m research.pose_env.maml_sweep --seeds 0,1,2 \
      [--root_dir ./t2r_runs/pose_env_maml] [--maml_steps 1500] ...

Per seed: collects its training tasks (one TFRecord per task, random
guesses, `hidden_drift=True`), trains plain regression on the drifted
targets (configs/train_regression.gin), the oracle on the duck positions
(configs/train_maml_oracle.gin) and MAML around the regression model
(configs/train_maml.gin, warm-started from that seed's regression), then
scores them on the same held-out tasks (`maml_pose_env.score_policies`):
random, regression, oracle (+ the true drift), MAML unadapted and adapted
from K = 1, 2, 4 condition episodes. Writes `<root_dir>/maml_sweep.json`,
`maml_sweep.md` (the table) and `maml_sweep.png` (one dot per seed). A seed
whose models exist resumes or skips their training.
"""

if __name__ == '__main__':
  # Before TensorFlow is imported: its C++ logs print at import.
  from t2r import quiet_logs  # pylint: disable=g-import-not-at-top
  quiet_logs.quiet_tensorflow_logs()

import io
import os
import time
from typing import Dict, List, Sequence

from absl import app
from absl import flags
import numpy as np

from research.pose_env import maml_pose_env
from research.pose_env import training_stage
from t2r import atomic_files

CONFIGS = os.path.join('research', 'pose_env', 'configs')
REGRESSION_CONFIG = os.path.join(CONFIGS, 'train_regression.gin')
ORACLE_CONFIG = os.path.join(CONFIGS, 'train_maml_oracle.gin')
MAML_CONFIG = os.path.join(CONFIGS, 'train_maml.gin')
EVAL_TASK_SEED = 5 * 10**8
# The targets: adapted MAML >= 3x closer than regression, within
# 1.5x the oracle.
REGRESSION_FACTOR, ORACLE_FACTOR = 3.0, 1.5
ROWS = (('random', 'random guess'),
        ('regression', 'plain regression (cannot know the drift)'),
        ('oracle', 'oracle regression + true drift'),
        ('maml_unadapted', 'MAML before adaptation'),
        ('maml_adapted_k1', 'MAML adapted, K = 1 condition episode'),
        ('maml_adapted_k2', 'MAML adapted, K = 2'),
        ('maml_adapted_k4', 'MAML adapted, K = 4'))


def run_seed(seed: int, root_dir: str, eval_files: str,
             tasks: maml_pose_env.TestTasks, args) -> Dict[str, float]:
  """Collects, trains the three models of one seed and scores them."""
  seed_dir = os.path.join(root_dir, f'seed{seed}')
  start = time.perf_counter()
  train_files = maml_pose_env.collect_task_files(
      os.path.join(root_dir, 'data', f'seed{seed}'), args.num_train_tasks,
      args.episodes_per_task, maml_pose_env.train_task_seed(seed))
  seed_binding = [f'train_eval_model.seed = {seed}']
  regression = training_stage.train_and_export(
      REGRESSION_CONFIG, os.path.join(seed_dir, 'regression'), train_files,
      eval_files, args.regression_steps, seed_binding)
  oracle = training_stage.train_and_export(
      ORACLE_CONFIG, os.path.join(seed_dir, 'oracle'), train_files,
      eval_files, args.regression_steps, seed_binding)
  maml = training_stage.train_and_export(
      MAML_CONFIG, os.path.join(seed_dir, 'maml'), train_files, eval_files,
      args.maml_steps, seed_binding + [
          'PoseEnvRegressionModel.init_from_checkpoint_path = '
          f'{os.path.join(seed_dir, "regression")!r}'
      ] if args.warm_start else seed_binding)
  results = maml_pose_env.score_policies(tasks, regression.export_path,
                                         oracle.export_path, maml.export_path,
                                         seed=seed)
  results['seconds'] = time.perf_counter() - start
  print(f'seed {seed}: ' + ', '.join(f'{k} {v:.4f}'
                                     for k, v in sorted(results.items())),
        flush=True)
  return results


def table(per_seed: Dict[int, Dict[str, float]]) -> str:
  """The markdown table: mean ± sd over seeds and per seed, per policy."""
  seeds = sorted(per_seed)
  out = io.StringIO()
  out.write(f'| policy | mean distance, mean ± sd over {len(seeds)} seeds | '
            f'per seed ({", ".join(map(str, seeds))}) |\n| --- | --- | --- |\n')
  for key, label in ROWS:
    values = [per_seed[s][key] for s in seeds if key in per_seed[s]]
    if not values:
      continue
    out.write(f'| {label} | {np.mean(values):.3f} ± {np.std(values):.3f} m | '
              f'{", ".join(f"{v:.3f}" for v in values)} |\n')
  return out.getvalue()


def targets(per_seed: Dict[int, Dict[str, float]]) -> List[str]:
  """Per seed and K: whether adapted MAML meets the issue's two targets."""
  lines = []
  for seed in sorted(per_seed):
    result = per_seed[seed]
    for k in maml_pose_env.CONDITION_COUNTS:
      adapted = result[f'maml_adapted_k{k}']
      lines.append(
          f'seed {seed}, K={k}: {result["regression"] / adapted:.1f}x closer '
          f'than regression (target >= {REGRESSION_FACTOR}), '
          f'{adapted / result["oracle"]:.2f}x the oracle (target <= '
          f'{ORACLE_FACTOR})')
  return lines


def figure(per_seed: Dict[int, Dict[str, float]], path: str):
  """One dot per seed and policy (mean distance, log scale), with PIL."""
  from PIL import Image  # pylint: disable=g-import-not-at-top
  from PIL import ImageDraw  # pylint: disable=g-import-not-at-top
  width, left, row_height, top = 760, 300, 28, 30
  height = top + row_height * len(ROWS) + 40
  image = Image.new('RGB', (width, height), 'white')
  draw = ImageDraw.Draw(image)
  low, high = np.log10(0.01), np.log10(1.0)

  def x_of(value):
    value = np.log10(min(max(value, 10**low), 10**high))
    return left + (value - low) / (high - low) * (width - left - 20)

  for tick in (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0):
    x = x_of(tick)
    draw.line([(x, top - 10), (x, height - 35)], fill=(220, 220, 220))
    draw.text((x - 10, height - 30), f'{tick:g}', fill='black')
  draw.text((left, height - 16), 'mean distance to the drifted target (m, '
            'log scale), held-out tasks; dots: seeds, bar: mean',
            fill='black')
  for row, (key, label) in enumerate(ROWS):
    y = top + row * row_height
    draw.text((8, y - 6), label, fill='black')
    values = [per_seed[s][key] for s in sorted(per_seed) if key in per_seed[s]]
    for value in values:
      x = x_of(value)
      draw.ellipse([x - 4, y - 4, x + 4, y + 4], fill=(31, 119, 180))
    if values:
      x = x_of(float(np.mean(values)))
      draw.line([(x, y - 9), (x, y + 9)], fill=(255, 127, 14), width=3)
  image.save(path)


def main(argv: Sequence[str]):
  del argv
  args = flags.FLAGS
  root_dir = args.root_dir
  eval_files = maml_pose_env.collect_task_files(
      os.path.join(root_dir, 'data', 'eval'), args.num_eval_tasks,
      args.episodes_per_task, EVAL_TASK_SEED)
  tasks = maml_pose_env.make_test_tasks(args.num_test_tasks)
  per_seed = {}
  for seed in [int(s) for s in args.seeds.split(',')]:
    per_seed[seed] = run_seed(seed, root_dir, eval_files, tasks, args)
  markdown = table(per_seed)
  check = targets(per_seed)
  print(markdown)
  print('\n'.join(check))
  atomic_files.write_atomically(os.path.join(root_dir, 'maml_sweep.md'),
                                markdown + '\n' + '\n'.join(check) + '\n')
  maml_pose_env.write_json(os.path.join(root_dir, 'maml_sweep.json'),
                           {str(s): r for s, r in per_seed.items()})
  figure(per_seed, os.path.join(root_dir, 'maml_sweep.png'))


def _define_flags():
  flags.DEFINE_string('seeds', '0,1,2', 'Comma-separated job seeds.')
  flags.DEFINE_string('root_dir', os.path.join('.', 't2r_runs',
                                               'pose_env_maml'),
                      'Data, models and results go here.')
  flags.DEFINE_integer('num_train_tasks', 400, 'Training tasks per seed.')
  flags.DEFINE_integer('episodes_per_task', 10, 'Records per task file.')
  flags.DEFINE_integer('num_eval_tasks', 32, 'Trainer eval tasks (shared).')
  flags.DEFINE_integer('num_test_tasks', 50, 'Held-out scored tasks.')
  flags.DEFINE_integer('regression_steps', 2000,
                       'Steps of the regression and the oracle.')
  flags.DEFINE_integer('maml_steps', 1500, 'Meta-training steps.')
  flags.DEFINE_bool('warm_start', True,
                    "Start MAML's base from the seed's regression model.")


if __name__ == '__main__':
  _define_flags()
  app.run(main)
