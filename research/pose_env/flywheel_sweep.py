r"""The pose-env flywheel over several seeds: what research/pose_env reports.

  python -m research.pose_env.flywheel_sweep --seeds 0,1,2 \
      [--root_dir ./t2r_runs/pose_env_flywheel] [--gin_bindings ...]

Runs `t2r-flywheel` with `research/pose_env/configs/flywheel.gin` once per
seed (`SEED=<s>`, `ROOT_DIR=<root_dir>/seed<s>`, each in fresh processes),
then reports for the last export of every seed the mean distance of its
greedy guesses on the evaluator's 50 held-out scenes, next to a random
policy on the same scenes, as mean ± sd and worst over seeds, plus the
episodes collected and the wall time. A seed whose run already finished
(its evaluator reached MAX_TRAIN_STEPS) is reused. Writes
`<root_dir>/flywheel_sweep.{json,md,png}`. Exits non-zero if a run fails or
a seed misses the target (the offline critic's: < 0.06 m).
"""

if __name__ == '__main__':
  from t2r import quiet_logs  # pylint: disable=g-import-not-at-top
  quiet_logs.quiet_tensorflow_logs()

import json
import os
import sys
from typing import Dict

from absl import app
from absl import flags
import numpy as np

from research import flywheel_seeds
from research import seed_summary
from research.pose_env import pose_env
from research.pose_env import random_policy
from t2r import atomic_files
from t2r import collect
from t2r.collect import collect_eval
from t2r.collect import flywheel_roles
from t2r.collect import status_files

CONFIG = 'research/pose_env/configs/flywheel.gin'
TARGET_DISTANCE = 0.06
EVAL_EPISODES = 50

_SEEDS = flags.DEFINE_list('seeds', ['0', '1', '2'], 'Flywheel seeds.')
_ROOT_DIR = flags.DEFINE_string(
    'root_dir', os.path.join('.', 't2r_runs', 'pose_env_flywheel'),
    'One seed<s> directory per seed.')
_BINDINGS = flags.DEFINE_multi_string(
    'gin_bindings', [], 'Extra bindings for every run, e.g. '
    '"MAX_TRAIN_STEPS=5000".')
_MAX_STEPS = flags.DEFINE_integer('max_train_steps', 5000,
                                  'MAX_TRAIN_STEPS of every run.')


def _random_distance(seed: int) -> float:
  """A random policy on the evaluator's scenes of `seed` (same reset seeds)."""
  envs = [pose_env.PoseEnv(image_size=64) for _ in range(10)]
  eval_seed = collect_eval.round_seed(
      flywheel_roles.role_seed(seed, 'evaluator', 0), 1)
  stats = collect.run_env(envs, random_policy.PoseEnvRandomPolicy(seed=seed),
                          num_episodes=EVAL_EPISODES, seed=eval_seed,
                          write_summaries=False, show_progress=False)
  for env in envs:
    env.close()
  return -stats.mean_return


def _seed_result(seed: int, root_dir: str, seconds: float) -> Dict:
  statuses = status_files.read_statuses(root_dir)
  last = statuses['evaluator']['history'][-1]
  episodes = flywheel_seeds.collected_episodes(root_dir)
  return {'seed': seed, 'global_step': last['global_step'],
          'flywheel_distance': -last['mean_return'],
          'flywheel_success': last['success_rate'],
          'random_distance': _random_distance(seed),
          'episodes': episodes, 'seconds': seconds,
          'curve': statuses['evaluator']['history']}


def main(argv):
  del argv
  seeds = [int(seed) for seed in _SEEDS.value]
  results = flywheel_seeds.run_seeds(CONFIG, seeds, _ROOT_DIR.value,
                                     _MAX_STEPS.value, _BINDINGS.value,
                                     _seed_result)
  for result in results:
    print(f"seed {result['seed']}: flywheel "
          f"{result['flywheel_distance']:.4f} m, random "
          f"{result['random_distance']:.4f} m, {result['episodes']} episodes",
          flush=True)
  summaries = [
      seed_summary.summarize('random', [r['random_distance'] for r in results],
                             seeds),
      seed_summary.summarize('flywheel CEM critic',
                             [r['flywheel_distance'] for r in results], seeds,
                             target=TARGET_DISTANCE),
  ]
  table = seed_summary.markdown_table(summaries, 'mean distance (m)')
  success = seed_summary.summarize(
      'flywheel success (< 5 cm)', [r['flywheel_success'] for r in results],
      seeds, lower_is_better=False)
  episodes = [r['episodes'] for r in results]
  footer = (f'\n\nflywheel success within 5 cm: {success.format(3)}; '
            f'episodes collected: {int(np.mean(episodes))} on average '
            f'(max {max(episodes)}); wall time per run: '
            f"{np.nanmean([r['seconds'] for r in results]) / 60:.1f} min")
  print(table + footer)
  os.makedirs(_ROOT_DIR.value, exist_ok=True)
  atomic_files.write_atomically(os.path.join(_ROOT_DIR.value, 'flywheel_sweep.md'),
                          table + footer + '\n')
  atomic_files.write_atomically(
      os.path.join(_ROOT_DIR.value, 'flywheel_sweep.json'),
      json.dumps({'results': results,
                  'summaries': [s.to_json() for s in summaries]}, indent=1))
  image = seed_summary.draw_summaries(summaries, 'mean distance (m)')
  image.save(os.path.join(_ROOT_DIR.value, 'flywheel_sweep.png'))
  if not summaries[1].every_seed_meets_target:
    sys.exit(f'flywheel_sweep: a seed missed {TARGET_DISTANCE} m.')


if __name__ == '__main__':
  app.run(main)
