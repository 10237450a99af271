r"""The grasp-point QT-Opt flywheel over seeds: what research/qtopt reports.

  python -m research.qtopt.grasp_point_sweep --seeds=0,1,2 \
      [--root_dir=./t2r_runs/qtopt/grasp_point] [--eval_episodes=300] \
      [--workers=2] [--image_size=64] [--gin_bindings=...]

Runs `t2r-flywheel` with `research/qtopt/configs/grasp_point_flywheel.gin`
once per seed (`SEED=<s>`, `ROOT_DIR=<root_dir>/seed<s>`; a finished run is
reused), then scores each seed's last export greedily on the held-out test
objects: `--eval_episodes` episodes on the scenes `measure_baselines` uses
(episode seeds 1,000,000 on), next to the scripted baselines on the same
scenes. Reports success as mean ± sd and worst over seeds (target 0.75),
each with its Wilson 95% interval, the episodes collected, train steps and
wall time; writes `<root_dir>/grasp_point_sweep.{md,json}` and the learning
curves (the evaluator's success on its 40 test scenes against collected
episodes, one curve per seed, baselines as lines) to
`<root_dir>/learning_curve.png`. Exits non-zero if a run fails or a seed
misses the target.
"""

if __name__ == '__main__':
  from t2r import quiet_logs  # pylint: disable=g-import-not-at-top
  quiet_logs.quiet_tensorflow_logs()

import json
import multiprocessing
import os
import sys
from typing import Dict, List, Sequence

from absl import app
from absl import flags
import numpy as np

from research import flywheel_seeds
from research import learning_curves
from research import seed_summary
from research.qtopt import measure_baselines
from t2r import atomic_files
from t2r.collect import flywheel_roles
from t2r.collect import status_files

CONFIG = 'research/qtopt/configs/grasp_point_flywheel.gin'
TARGET_SUCCESS = 0.75
BASELINES = ('random', 'straight_down', 'privileged')

_SEEDS = flags.DEFINE_list('seeds', ['0', '1', '2'], 'Flywheel seeds.')
_ROOT_DIR = flags.DEFINE_string(
    'root_dir', os.path.join('.', 't2r_runs', 'qtopt', 'grasp_point'),
    'One seed<s> directory per seed.')
_BINDINGS = flags.DEFINE_multi_string(
    'gin_bindings', [], 'Extra bindings for every run, e.g. '
    '"MAX_EPISODES=1500" (per collector).')
_MAX_STEPS = flags.DEFINE_integer('max_train_steps', 8000,
                                  'MAX_TRAIN_STEPS of every run.')
_EVAL_EPISODES = flags.DEFINE_integer(
    'eval_episodes', 300, 'Test-object episodes per policy and seed.')
_WORKERS = flags.DEFINE_integer('workers', 2, 'Evaluation processes.')
_IMAGE_SIZE = flags.DEFINE_integer(
    'image_size', 64, 'Square camera images of the runs (their IMAGE_SIZE '
    'binding) and of the evaluation envs.')


def _rows(baselines: Sequence[str], export_dir: str = '',
          seed: int = 0) -> List[measure_baselines.Row]:
  """Success of `baselines` on the sweep's test scenes (in parallel)."""
  jobs = measure_baselines.make_jobs(
      ['grasp_point'], list(baselines), _EVAL_EPISODES.value, 10,
      {'object_split': 'test', 'randomization': 'none',
       'image_size': (_IMAGE_SIZE.value,) * 2}, 1, seed,
      measure_baselines.DEFAULT_EPISODE_SEED, [], export_dir=export_dir)
  context = multiprocessing.get_context('spawn')
  with context.Pool(_WORKERS.value) as pool:
    results = pool.map(measure_baselines.run_job, jobs, chunksize=1)
  return measure_baselines.collect_rows(results)


def _seed_result(seed: int, root_dir: str, seconds: float) -> Dict:
  export_dir = flywheel_roles.export_root(root_dir)
  row, = _rows([measure_baselines.CRITIC], export_dir, seed)
  trainer = status_files.read_statuses(root_dir).get('trainer', {})
  return {'seed': seed, 'success': row.success_rate,
          'interval': row.interval, 'episodes_scored': row.episodes,
          'collected_episodes': flywheel_seeds.collected_episodes(root_dir),
          'train_steps': trainer.get('global_step'), 'seconds': seconds,
          'curve': flywheel_seeds.evaluator_history(root_dir)}


def _interval(low_high) -> str:
  return f'{100 * low_high[0]:.0f}-{100 * low_high[1]:.0f}%'


def main(argv):
  del argv
  seeds = [int(seed) for seed in _SEEDS.value]
  os.makedirs(_ROOT_DIR.value, exist_ok=True)
  results = flywheel_seeds.run_seeds(CONFIG, seeds, _ROOT_DIR.value,
                                     _MAX_STEPS.value,
                                     [f'IMAGE_SIZE = {_IMAGE_SIZE.value}'] +
                                     _BINDINGS.value,
                                     _seed_result)
  for result in results:
    print(f"seed {result['seed']}: {100 * result['success']:.1f}% "
          f"({_interval(result['interval'])}) on {_EVAL_EPISODES.value} "
          f"test episodes after {result['collected_episodes']} collected",
          flush=True)
  baselines = {row.baseline: row for row in _rows(BASELINES)}
  learned = seed_summary.summarize(
      'QT-Opt grasp point (CEM over the critic)',
      [r['success'] for r in results], seeds, lower_is_better=False,
      target=TARGET_SUCCESS)
  lines = [f'Success on the held-out test objects, {_EVAL_EPISODES.value} '
           'episodes per policy (episode seeds 1,000,000 on):', '',
           '| policy | success | 95% CI (Wilson) |', '| --- | --- | --- |']
  for name, row in baselines.items():
    lines.append(f'| {name} | {100 * row.success_rate:.1f}% | '
                 f'{_interval(row.interval)} |')
  for result in results:
    lines.append(f"| learned, seed {result['seed']} | "
                 f"{100 * result['success']:.1f}% | "
                 f"{_interval(result['interval'])} |")
  episodes = [r['collected_episodes'] for r in results]
  lines += ['', f'learned over seeds: {learned.format(3)}; collected '
            f'episodes {int(np.mean(episodes))} on average (max '
            f'{max(episodes)}); train steps '
            f"{[r['train_steps'] for r in results]}; wall time per run "
            f"{np.nanmean([r['seconds'] for r in results]) / 60:.0f} min"]
  report = '\n'.join(lines)
  print(report)
  atomic_files.write_atomically(
      os.path.join(_ROOT_DIR.value, 'grasp_point_sweep.md'), report + '\n')
  atomic_files.write_atomically(
      os.path.join(_ROOT_DIR.value, 'grasp_point_sweep.json'),
      json.dumps({'results': results, 'learned': learned.to_json(),
                  'baselines': {name: row.success_rate
                                for name, row in baselines.items()}},
                 indent=1))
  image = learning_curves.draw_learning_curves(
      {f"seed {r['seed']}": [(h['collected_episodes'], h['success_rate'])
                             for h in r['curve'] if 'collected_episodes' in h]
       for r in results},
      {name: row.success_rate for name, row in baselines.items()},
      title='QT-Opt grasp point: greedy success on the test objects '
      '(evaluator, 40 scenes per export)')
  image.save(os.path.join(_ROOT_DIR.value, 'learning_curve.png'))
  if not learned.every_seed_meets_target:
    sys.exit(f'grasp_point_sweep: a seed missed {TARGET_SUCCESS:.0%} '
             'success.')


if __name__ == '__main__':
  app.run(main)
