r"""Trains BC-Z policies over seeds and scores them closed loop: the README's numbers.

Usage (after `collect_demos --output_dir=DATA_DIR`):
  python -m research.bcz.run_experiment --data_dir=/tmp/bcz/data \
      --root_dir=/tmp/bcz/runs --variants=mse,mdn --seeds=0,1,2 \
      --max_train_steps=3000 --episodes_per_task=100 [--single_task]

For every variant (`VARIANTS`: the gin configs it trains with) and seed,
`t2r-train` runs in a fresh process on DATA_DIR/train-*.tfrecord (with
--single_task, one model per task on DATA_DIR/train-<task>-*.tfrecord,
scored on its task only) into ROOT_DIR/<variant>/seed<s>[/<task>]; then
its last export drives `BCZEnv` closed loop (`evaluate.ExportedPolicy`,
TensorFlow and the specs only) on --episodes_per_task held-out 'test'
initial states per task. The scripted expert and a uniformly random policy
are scored once on the same states. A run whose export and score exist is
reused.

Writes ROOT_DIR/demo_frames.png (frames of the first eval demo of each
task, with its text), ROOT_DIR/summary.json, ROOT_DIR/summary.md (per task: random,
expert and each variant as mean ± sd and worst over seeds, and whether
every seed reaches --target_fraction of the expert's success on every task)
and ROOT_DIR/success_per_task.png. Exits non-zero if a run fails.
"""

if __name__ == '__main__':
  # Before TensorFlow is imported: its C++ logs print at import.
  from t2r import quiet_logs  # pylint: disable=g-import-not-at-top
  quiet_logs.quiet_tensorflow_logs()

import dataclasses
import json
import os
import subprocess
import sys
import time
from typing import Any, Dict, List, Mapping, Optional, Sequence

from absl import app
from absl import flags
import numpy as np

from research.bcz import bcz_env
from research.bcz import bcz_specs
from research.bcz import collect_demos
from research.bcz import evaluate
from research.bcz import figures
from t2r import atomic_files

_CONFIGS = os.path.join('research', 'bcz', 'configs')
# Variant name -> the gin configs it trains with, in order.
VARIANTS = {
    'mse': (os.path.join(_CONFIGS, 'bcz_cpu.gin'),),
    'mdn': (os.path.join(_CONFIGS, 'bcz_cpu.gin'),
            os.path.join(_CONFIGS, 'bcz_mdn.gin')),
    'history': (os.path.join(_CONFIGS, 'bcz_cpu.gin'),
                os.path.join(_CONFIGS, 'bcz_history.gin')),
    'target': (os.path.join(_CONFIGS, 'bcz_cpu.gin'),
               os.path.join(_CONFIGS, 'bcz_target_position.gin')),
}
SCORE_FILE = 'closed_loop.json'
BASELINES = ('random', 'expert')


@dataclasses.dataclass(frozen=True)
class Run:
  """One training run.

  Attributes:
    variant: A key of `VARIANTS`.
    seed: The job's SEED.
    model_dir: Where it trains and exports.
    task: The task a single-task run trains on; None: all tasks.
  """
  variant: str
  seed: int
  model_dir: str
  task: Optional[str] = None

  @property
  def name(self) -> str:
    return self.variant + ('' if self.task is None else ' (single-task)')


def plan_runs(root_dir: str, variants: Sequence[str], seeds: Sequence[int],
              tasks: Sequence[str], single_task: bool) -> List[Run]:
  """The runs of a sweep, one per variant, seed (and task if single_task).

  Raises:
    ValueError: For an unknown variant.
  """
  unknown = [v for v in variants if v not in VARIANTS]
  if unknown:
    raise ValueError(f'run_experiment: unknown variants {unknown}; choose '
                     f'from {sorted(VARIANTS)}.')
  runs = []
  for variant in variants:
    for seed in seeds:
      seed_dir = os.path.join(root_dir, variant + ('-single' if single_task
                                                   else ''), f'seed{seed}')
      if single_task:
        runs += [Run(variant, seed, os.path.join(
            seed_dir, collect_demos.task_file_name(task)), task)
                 for task in tasks]
      else:
        runs.append(Run(variant, seed, seed_dir))
  return runs


def _exported_steps(model_dir: str) -> List[int]:
  export_dir = os.path.join(model_dir, 'export')
  if not os.path.isdir(export_dir):
    return []
  return sorted(int(name) for name in os.listdir(export_dir)
                if name.isdigit())


def train(run: Run, data_dir: str, max_train_steps: int,
          bindings: Sequence[str] = ()) -> float:
  """Trains `run` in a fresh `t2r-train` process; returns wall seconds.

  A run with an export at `max_train_steps` is reused (returns NaN).

  Raises:
    subprocess.CalledProcessError: If the training job fails.
  """
  if max_train_steps in _exported_steps(run.model_dir):
    print(f'{run.name} seed {run.seed}: reusing {run.model_dir}', flush=True)
    return float('nan')
  files = ('*' if run.task is None else
           collect_demos.task_file_name(run.task) + '-*')
  command = [sys.executable, '-m', 't2r.bin.run_t2r_trainer',
             *[f'--gin_configs={config}' for config in VARIANTS[run.variant]],
             f"--gin_bindings=TRAIN_FILES = '{data_dir}/train-{files}.tfrecord'",
             f"--gin_bindings=EVAL_FILES = '{data_dir}/eval-{files}.tfrecord'",
             f"--gin_bindings=MODEL_DIR = '{run.model_dir}'",
             f'--gin_bindings=SEED = {run.seed}',
             f'--gin_bindings=MAX_TRAIN_STEPS = {max_train_steps}',
             *[f'--gin_bindings={binding}' for binding in bindings]]
  print(f'{run.name} seed {run.seed}' +
        ('' if run.task is None else f', {run.task}') +
        f': training {max_train_steps} steps in {run.model_dir}', flush=True)
  start = time.monotonic()
  subprocess.run(command, check=True)
  return time.monotonic() - start


def score(run: Run, env: Any, episodes_per_task: int,
          train_seconds: float,
          tasks: Optional[Sequence[str]] = None) -> Dict[str, Any]:
  """Scores the run's last export closed loop; cached in SCORE_FILE.

  Returns:
    {'global_step', 'success': {task: rate}, 'episodes_per_task',
     'train_seconds', 'eval_seconds'}.
  """
  path = os.path.join(run.model_dir, SCORE_FILE)
  steps = _exported_steps(run.model_dir)
  if os.path.exists(path):
    with open(path) as f:
      cached = json.load(f)
    wanted = ([run.task] if run.task is not None else
              list(env.tasks if tasks is None else tasks))
    if (steps and cached['global_step'] == steps[-1] and
        cached['episodes_per_task'] == episodes_per_task and
        set(wanted) == set(cached['success'])):
      return cached
  policy = evaluate.ExportedPolicy(
      os.path.join(run.model_dir, 'export'), env.task_table,
      env.action_space.low, env.action_space.high)
  start = time.monotonic()
  global_step = policy.global_step  # Unknown once the predictor is closed.
  try:
    evaluation = evaluate.evaluate_policy(
        env, policy, episodes_per_task,
        tasks=tasks if run.task is None else [run.task],
        description=f'score {run.name} seed {run.seed}')
  finally:
    policy.close()
  result = {'global_step': global_step,
            'success': evaluation.success_rates,
            'episodes_per_task': episodes_per_task,
            'train_seconds': train_seconds,
            'eval_seconds': time.monotonic() - start}
  atomic_files.write_atomically(path, json.dumps(result, indent=1))
  return result


def score_baselines(env: Any, root_dir: str, episodes_per_task: int,
                    tasks: Optional[Sequence[str]] = None
                   ) -> Dict[str, Dict[str, float]]:
  """{'random'|'expert': {task: success}} on the same states; cached."""
  path = os.path.join(root_dir, 'baselines.json')
  wanted = list(env.tasks if tasks is None else tasks)
  if os.path.exists(path):
    with open(path) as f:
      cached = json.load(f)
    if cached.get('episodes_per_task') == episodes_per_task and all(
        task in rates for rates in cached['success'].values()
        for task in wanted):
      return {name: {task: rates[task] for task in wanted}
              for name, rates in cached['success'].items()}
  policies = {'random': evaluate.RandomPolicy(env.action_space, seed=0),
              'expert': evaluate.ExpertPolicy(env)}
  success = {name: evaluate.evaluate_policy(
      env, policy, episodes_per_task, tasks=tasks,
      description=f'score {name}'
  ).success_rates for name, policy in policies.items()}
  atomic_files.write_atomically(path, json.dumps(
      {'episodes_per_task': episodes_per_task, 'success': success},
      indent=1))
  return success


def per_task_seeds(runs: Sequence[Run], scores: Sequence[Mapping[str, Any]],
                   tasks: Sequence[str]) -> Dict[str, Dict[str, List[float]]]:
  """{run name: {task: success per seed}}, merging single-task runs."""
  table: Dict[str, Dict[str, Dict[int, float]]] = {}
  for run, result in zip(runs, scores):
    per_task = table.setdefault(run.name, {task: {} for task in tasks})
    for task, rate in result['success'].items():
      per_task[task][run.seed] = rate
  return {name: {task: [rates[s] for s in sorted(rates)]
                 for task, rates in per_task.items()}
          for name, per_task in table.items()}


def summary_markdown(baselines: Mapping[str, Mapping[str, float]],
                     results: Mapping[str, Mapping[str, Sequence[float]]],
                     target_fraction: float) -> str:
  """The README table: per task, baselines and variants over seeds."""
  names = list(results)
  tasks = list(baselines['expert'])
  lines = ['| task | random | expert | ' + ' | '.join(
      f'{name}: mean ± sd (worst)' for name in names) + ' |',
           '| --- | --- | --- |' + ' --- |' * len(names)]
  for task in tasks:
    cells = [f"{100 * baselines['random'][task]:.0f}%",
             f"{100 * baselines['expert'][task]:.0f}%"]
    for name in names:
      rates = np.asarray(results[name][task]) * 100
      sd = float(np.std(rates, ddof=1)) if len(rates) > 1 else 0.0
      cells.append(f'{rates.mean():.0f} ± {sd:.0f}% ({rates.min():.0f}%)')
    lines.append(f'| {task} | ' + ' | '.join(cells) + ' |')
  lines.append('| every seed >= '
               f'{100 * target_fraction:.0f}% of the expert on every task | '
               '| | ' + ' | '.join(
                   'yes' if meets_target(baselines, results[name],
                                         target_fraction) else 'no'
                   for name in names) + ' |')
  return '\n'.join(lines)


def meets_target(baselines: Mapping[str, Mapping[str, float]],
                 results: Mapping[str, Sequence[float]],
                 target_fraction: float) -> bool:
  """Whether every seed reaches the fraction of the expert on every task."""
  return all(min(rates) >= target_fraction * baselines['expert'][task] - 1e-9
             for task, rates in results.items())


def _save_png(image: Any, path: str):
  """Saves a PIL image atomically (temp file + rename)."""
  temporary = atomic_files.temporary_path(path)
  image.save(temporary, format='PNG')
  os.replace(temporary, path)


def _define_flags():
  flags.DEFINE_string('data_dir', None, 'collect_demos --output_dir.',
                      required=True)
  flags.DEFINE_string('root_dir', None, 'Where the runs go.', required=True)
  flags.DEFINE_list('variants', ['mse', 'mdn'],
                    f'Variants to train: of {sorted(VARIANTS)}.')
  flags.DEFINE_list('seeds', ['0', '1', '2'], 'Seeds.')
  flags.DEFINE_integer('max_train_steps', 3000, 'Training steps per run.')
  flags.DEFINE_integer('episodes_per_task', 100,
                       'Held-out initial states per task.')
  flags.DEFINE_bool('single_task', False,
                    'Train one model per task (on its records) instead.')
  flags.DEFINE_list('tasks', [], 'Task texts; default all of bcz_env.TASKS.')
  flags.DEFINE_float('target_fraction', 0.8,
                     "The fraction of the expert's success to reach.")
  flags.DEFINE_multi_string('gin_bindings', [],
                            'More bindings for every training job.')


def main(argv: Sequence[str]):
  del argv  # Everything comes from flags.
  values = flags.FLAGS
  tasks = list(values.tasks) or list(bcz_env.TASKS)
  runs = plan_runs(values.root_dir, values.variants,
                   [int(seed) for seed in values.seeds], tasks,
                   values.single_task)
  os.makedirs(values.root_dir, exist_ok=True)
  env = bcz_env.BCZEnv(tasks=bcz_env.tasks_with_standard_ids(tasks))
  try:
    baselines = score_baselines(env, values.root_dir,
                                values.episodes_per_task, tasks)
    scores = []
    for run in runs:
      seconds = train(run, values.data_dir, values.max_train_steps,
                      values.gin_bindings)
      scores.append(score(run, env, values.episodes_per_task, seconds,
                          tasks))
  finally:
    env.close()
  _save_png(figures.demo_contact_sheet(figures.frames_of_episodes(
      bcz_specs.read_episodes(
          os.path.join(values.data_dir, 'eval-*.tfrecord')), 6)),
            os.path.join(values.root_dir, 'demo_frames.png'))
  results = per_task_seeds(runs, scores, tasks)
  table = summary_markdown(baselines, results, values.target_fraction)
  name = 'summary' + ('-single' if values.single_task else '')
  atomic_files.write_atomically(
      os.path.join(values.root_dir, f'{name}.json'), json.dumps(
          {'baselines': baselines, 'results': results,
           'runs': [dict(dataclasses.asdict(run), **result)
                    for run, result in zip(runs, scores)]}, indent=1))
  atomic_files.write_atomically(
      os.path.join(values.root_dir, f'{name}.md'), table + '\n')
  figure = figures.draw_success_per_task(
      dict({'random': {t: [baselines['random'][t]] for t in tasks},
            'expert': {t: [baselines['expert'][t]] for t in tasks}},
           **results))
  figure_path = os.path.join(values.root_dir, f'{name}_success_per_task.png')
  _save_png(figure, figure_path)
  print(table)
  print(f'wrote {figure_path}')


if __name__ == '__main__':
  _define_flags()
  app.run(main)
