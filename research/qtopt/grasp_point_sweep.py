r"""The grasp-point QT-Opt flywheel over seeds: what research/qtopt reports.

  python -m research.qtopt.grasp_point_sweep --seeds=0,1,2 \
      [--root_dir=./t2r_runs/qtopt/grasp_point] [--eval_episodes=300] \
      [--workers=2] [--image_size=64] [--randomization=none] \
      [--eval_envs=none,shifted] [--gin_bindings=...]

Runs `t2r-flywheel` with `research/qtopt/configs/grasp_point_flywheel.gin`
once per seed (`SEED=<s>`, `ROOT_DIR=<root_dir>/seed<s>`; a finished run is
reused), then scores each seed's last export greedily on the held-out test
objects: `--eval_episodes` episodes on the scenes `measure_baselines` uses
(episode seeds 1,000,000 on), next to the scripted baselines on the same
scenes, in each env of `--eval_envs` (domain randomization 'none',
'randomized' or 'shifted': the shifted env, unseen colours and camera
offsets, measures transfer). `--randomization` is what the runs' collectors
and evaluator act in. Reports success as mean ± sd and worst over seeds
(target 0.75, on the first of `--eval_envs`), each with its Wilson 95%
interval, the episodes collected, train steps and wall time; writes `<root_dir>/grasp_point_sweep.{md,json}` and the learning
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
RANDOMIZATIONS = ('none', 'randomized', 'shifted')

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
_RANDOMIZATION = flags.DEFINE_enum(
    'randomization', 'none', RANDOMIZATIONS,
    "Domain randomization of the runs' collectors and evaluator.")
_EVAL_ENVS = flags.DEFINE_list(
    'eval_envs', ['none'], 'Domain randomizations of the final scoring; '
    'the target applies to the first.')
_IMAGE_SIZE = flags.DEFINE_integer(
    'image_size', 64, 'Square camera images of the runs (their IMAGE_SIZE '
    'binding) and of the evaluation envs.')


def _rows(baselines: Sequence[str], randomization: str,
          export_dir: str = '', seed: int = 0) -> List[measure_baselines.Row]:
  """Success of `baselines` on the sweep's test scenes (in parallel)."""
  jobs = measure_baselines.make_jobs(
      ['grasp_point'], list(baselines), _EVAL_EPISODES.value, 10,
      {'object_split': 'test', 'randomization': randomization,
       'image_size': (_IMAGE_SIZE.value,) * 2}, 1, seed,
      measure_baselines.DEFAULT_EPISODE_SEED, [], export_dir=export_dir)
  context = multiprocessing.get_context('spawn')
  with context.Pool(_WORKERS.value) as pool:
    results = pool.map(measure_baselines.run_job, jobs, chunksize=1)
  return measure_baselines.collect_rows(results)


def _seed_result(seed: int, root_dir: str, seconds: float) -> Dict:
  """The seed's last export scored in every env of --eval_envs."""
  export_dir = flywheel_roles.export_root(root_dir)
  by_env = {}
  for env in _EVAL_ENVS.value:
    row, = _rows([measure_baselines.CRITIC], env, export_dir, seed)
    by_env[env] = {'success': row.success_rate, 'interval': row.interval,
                   'episodes_scored': row.episodes}
  trainer = status_files.read_statuses(root_dir).get('trainer', {})
  return {'seed': seed, **by_env[_EVAL_ENVS.value[0]], 'by_env': by_env,
          'collected_episodes': flywheel_seeds.collected_episodes(root_dir),
          'train_steps': trainer.get('global_step'), 'seconds': seconds,
          'curve': flywheel_seeds.evaluator_history(root_dir)}


def _interval(low_high) -> str:
  return f'{100 * low_high[0]:.0f}-{100 * low_high[1]:.0f}%'


def run_bindings(image_size: int, randomization: str,
                 extra: Sequence[str] = ()) -> List[str]:
  """The gin bindings of every run: image size, randomization, `extra`.

  Example:
    >>> run_bindings(128, 'randomized')[1]
    "train/KukaGraspPointEnv.randomization = 'randomized'"
  """
  return [f'IMAGE_SIZE = {image_size}',
          f'train/KukaGraspPointEnv.randomization = {randomization!r}',
          f'test/KukaGraspPointEnv.randomization = {randomization!r}'
         ] + list(extra)


def success_table(baselines: Dict[str, Dict[str, measure_baselines.Row]],
                  results: Sequence[Dict], envs: Sequence[str]) -> List[str]:
  """Markdown lines: a row per policy, success and interval per env.

  Args:
    baselines: env -> baseline name -> its row, for every name of
      `BASELINES`.
    results: The seeds' results (`_seed_result`), each with 'by_env'.
    envs: The columns' envs, in order.

  Returns:
    The table's lines.
  """
  lines = ['| policy | ' + ' | '.join(
      f'success ({env}) | 95% CI (Wilson)' for env in envs) + ' |',
           '|' + ' --- |' * (1 + 2 * len(envs))]
  for name in BASELINES:
    lines.append(f'| {name} | ' + ' | '.join(
        f'{100 * baselines[env][name].success_rate:.1f}% | '
        f'{_interval(baselines[env][name].interval)}' for env in envs) + ' |')
  for result in results:
    lines.append(f"| learned, seed {result['seed']} | " + ' | '.join(
        f"{100 * result['by_env'][env]['success']:.1f}% | "
        f"{_interval(result['by_env'][env]['interval'])}" for env in envs) +
                 ' |')
  return lines


def main(argv):
  del argv
  unknown = sorted(set(_EVAL_ENVS.value) - set(RANDOMIZATIONS))
  if unknown or not _EVAL_ENVS.value:
    sys.exit(f'grasp_point_sweep: --eval_envs must list some of '
             f'{RANDOMIZATIONS}, got {_EVAL_ENVS.value}.')
  seeds = [int(seed) for seed in _SEEDS.value]
  os.makedirs(_ROOT_DIR.value, exist_ok=True)
  results = flywheel_seeds.run_seeds(CONFIG, seeds, _ROOT_DIR.value,
                                     _MAX_STEPS.value,
                                     run_bindings(_IMAGE_SIZE.value,
                                                  _RANDOMIZATION.value,
                                                  _BINDINGS.value),
                                     _seed_result)
  for result in results:
    print(f"seed {result['seed']}: {100 * result['success']:.1f}% "
          f"({_interval(result['interval'])}) on {_EVAL_EPISODES.value} "
          f"test episodes ({_EVAL_ENVS.value[0]}) after "
          f"{result['collected_episodes']} collected", flush=True)
  baselines = {env: {row.baseline: row for row in _rows(BASELINES, env)}
               for env in _EVAL_ENVS.value}
  learned = seed_summary.summarize(
      'QT-Opt grasp point (CEM over the critic)',
      [r['success'] for r in results], seeds, lower_is_better=False,
      target=TARGET_SUCCESS)
  episodes = [r['collected_episodes'] for r in results]
  lines = [f'Success on the held-out test objects, {_EVAL_EPISODES.value} '
           'episodes per policy (episode seeds 1,000,000 on); runs trained '
           f'with randomization {_RANDOMIZATION.value!r} on '
           f'{_IMAGE_SIZE.value}x{_IMAGE_SIZE.value} images:', ''
          ] + success_table(baselines, results, _EVAL_ENVS.value) + [
              '', f'learned over seeds ({_EVAL_ENVS.value[0]}): '
              f'{learned.format(3)}; collected episodes '
              f'{int(np.mean(episodes))} on average (max {max(episodes)}); '
              f"train steps {[r['train_steps'] for r in results]}; wall time "
              f"per run {np.nanmean([r['seconds'] for r in results]) / 60:.0f}"
              ' min']
  report = '\n'.join(lines)
  print(report)
  atomic_files.write_atomically(
      os.path.join(_ROOT_DIR.value, 'grasp_point_sweep.md'), report + '\n')
  atomic_files.write_atomically(
      os.path.join(_ROOT_DIR.value, 'grasp_point_sweep.json'),
      json.dumps({'results': results, 'learned': learned.to_json(),
                  'randomization': _RANDOMIZATION.value,
                  'image_size': _IMAGE_SIZE.value,
                  'baselines': {env: {name: row.success_rate
                                      for name, row in rows.items()}
                                for env, rows in baselines.items()}},
                 indent=1))
  first_env = baselines[_EVAL_ENVS.value[0]]
  image = learning_curves.draw_learning_curves(
      {f"seed {r['seed']}": [(h['collected_episodes'], h['success_rate'])
                             for h in r['curve'] if 'collected_episodes' in h]
       for r in results},
      {name: row.success_rate for name, row in first_env.items()},
      title='QT-Opt grasp point: greedy success on the test objects '
      '(evaluator, 40 scenes per export)')
  image.save(os.path.join(_ROOT_DIR.value, 'learning_curve.png'))
  if not learned.every_seed_meets_target:
    sys.exit(f'grasp_point_sweep: a seed missed {TARGET_SUCCESS:.0%} '
             'success.')


if __name__ == '__main__':
  app.run(main)
