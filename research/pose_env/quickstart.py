r"""The pose-env main job: collect, train, export, evaluate and draw.

One command, CPU only, a few minutes on 2 cores:

  python -m research.pose_env.quickstart [--root_dir ./t2r_runs/pose_env]

1. Collects random-guess episodes into TFRecords (`collect_episodes` under
   configs/collect.gin): a training set and a small eval set for the trainer.
   Files that exist are reused.
2. Trains `PoseEnvRegressionModel` (configs/train_regression.gin) and the
   critic `PoseEnvContinuousMCModel` (configs/train_critic.gin) with
   `train_eval_model`. A second run resumes from the checkpoints, or skips
   training when the global step already reached the maximum.
3. Exports SavedModels: the configs' `PeriodicExporter` writes one at every
   checkpoint and at the end of training, also when a second run finds the
   final step reached but not exported (`DefaultExportGenerator` for the
   regression, the in-graph CEM of `CEMExportGenerator` for the critic).
4. Evaluates in the simulator, on held-out seeds, the random policy,
   `RegressionPolicy` and `CEMPolicy`, both loading the exports through
   `ExportedSavedModelPredictor` (no model code).
5. Prints the mean distance of each policy to the duck and writes
   root_dir/results.json and root_dir/results.png (a top-down plot of true
   and predicted duck positions and a strip of camera images).

root_dir layout:
  data/train-<episodes>.tfrecord, data/eval-<episodes>.tfrecord
  regression/, critic/   model_dirs: checkpoints, export/<step>, train/, eval/
  results.json, results.png

The job owns gin's global configuration: each stage clears it and parses its
own config file (plus --gin_bindings). The stages' parts live beside this
module: `training_stage` (train and export one model), `policy_evaluation`
(load exports as policies, score them on held-out seeds, the text table) and
`results_figure` (results.png).
"""

if __name__ == '__main__':
  # Before TensorFlow is imported: its C++ logs print at import.
  from t2r import quiet_logs  # pylint: disable=g-import-not-at-top
  quiet_logs.quiet_tensorflow_logs()

import dataclasses
import io
import json
import os
import time
from typing import Any, Dict, Sequence, Tuple

from absl import app
from absl import flags
from absl import logging
import tensorflow as tf

from research.pose_env import collection
from research.pose_env import pose_env
from research.pose_env import random_policy
from research.pose_env.gin_scope import gin_config
from research.pose_env.policy_evaluation import CEM_CRITIC
from research.pose_env.policy_evaluation import evaluate_policy
from research.pose_env.policy_evaluation import format_table
from research.pose_env.policy_evaluation import load_policy
from research.pose_env.policy_evaluation import PolicyResult
from research.pose_env.policy_evaluation import RANDOM
from research.pose_env.policy_evaluation import REGRESSION
from research.pose_env.results_figure import draw_results
from research.pose_env.training_stage import train_and_export
from research.pose_env.training_stage import TrainResult
from t2r import atomic_files

CONFIG_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                          'configs')
COLLECT_CONFIG = os.path.join(CONFIG_DIR, 'collect.gin')
REGRESSION_CONFIG = os.path.join(CONFIG_DIR, 'train_regression.gin')
CRITIC_CONFIG = os.path.join(CONFIG_DIR, 'train_critic.gin')
DEFAULT_ROOT_DIR = os.path.join('.', 't2r_runs', 'pose_env')
RESULTS_JSON = 'results.json'
RESULTS_PNG = 'results.png'


@dataclasses.dataclass(frozen=True)
class QuickstartConfig:
  """What the quickstart runs; the command-line flags fill it.

  Attributes:
    root_dir: Holds the data, the model_dirs and the results.
    num_train_episodes: Episodes collected for training.
    num_eval_episodes: Episodes collected for the trainer's evaluation.
    num_test_episodes: Held-out simulator episodes each policy is scored on.
    max_train_steps: Training steps of the regression model.
    max_critic_steps: Training steps of the critic.
    skip_critic: Train and evaluate the regression policy only.
    seed: The job's seed: the collection (training data: seed, eval data:
      seed + 1), the training of both models (`train_eval_model.seed`:
      initialisation and data order), the random baseline and the CEM
      sampling. The same seed on the same machine gives the same numbers.
    test_seed: The held-out episodes reset the env with seeds test_seed,
      test_seed + 1, ...
    num_images: Camera images in the picture's strip (at most one per
      held-out episode).
    gin_bindings: Extra bindings applied after each stage's config.
  """
  root_dir: str = DEFAULT_ROOT_DIR
  num_train_episodes: int = 4000
  num_eval_episodes: int = 256
  num_test_episodes: int = 100
  max_train_steps: int = 3000
  max_critic_steps: int = 5000
  skip_critic: bool = False
  seed: int = 0
  test_seed: int = 1_000_000
  num_images: int = 6
  gin_bindings: Sequence[str] = ()

  def __post_init__(self):
    for name in ('num_train_episodes', 'num_eval_episodes',
                 'num_test_episodes', 'max_train_steps', 'max_critic_steps'):
      value = getattr(self, name)
      if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f'QuickstartConfig.{name} must be a positive int, '
                         f'got {value!r}.')
    if isinstance(self.num_images, bool) or not isinstance(
        self.num_images, int) or self.num_images < 0:
      raise ValueError(f'QuickstartConfig.num_images must be an int >= 0, '
                       f'got {self.num_images!r}.')


def _progress(message: str):
  """One progress line on stdout (the logs go to stderr)."""
  print(f'[quickstart] {message}', flush=True)


# -- 1. Data -------------------------------------------------------------------


def collect_data(data_dir: str, split: str, num_episodes: int, seed: int,
                 bindings: Sequence[str] = ()) -> str:
  """Collects `num_episodes` random episodes unless their files exist.

  Args:
    data_dir: Where the TFRecords go.
    split: 'train' or 'eval': the file is '<split>-<num_episodes>.tfrecord'
      (or its shards '<split>-<num_episodes>-00000.tfrecord', ...).
    num_episodes: Episodes to collect.
    seed: Seeds the env and the random policy.
    bindings: Gin bindings applied after configs/collect.gin.

  Returns:
    The split's files, comma-separated (as input generators take them).
  """
  stem = os.path.join(data_dir, f'{split}-{num_episodes}')
  existing = sorted(
      tf.io.gfile.glob(f'{stem}.tfrecord') +
      tf.io.gfile.glob(f'{stem}-[0-9][0-9][0-9][0-9][0-9].tfrecord'))
  if existing:
    _progress(f'Reusing {split} data {existing}.')
    return ','.join(existing)
  _progress(f'Collecting {num_episodes} {split} episodes into {data_dir} ...')
  with gin_config([COLLECT_CONFIG], bindings):
    env = pose_env.PoseEnv()
    try:
      stats = collection.collect_episodes(
          env, random_policy.PoseEnvRandomPolicy(seed=seed),
          num_episodes=num_episodes, output_dir=data_dir, seed=seed,
          file_name=os.path.basename(stem) + '.tfrecord')
    finally:
      env.close()
  _progress(f'Collected {stats.num_transitions} transitions in '
            f'{stats.seconds:.1f} s (mean reward {stats.mean_reward:.3f}).')
  return ','.join(stats.paths)


# -- 2. and 3. Training and export ---------------------------------------------


def _train_stage(name: str, config_file: str, model_dir: str,
                 data: Tuple[str, str], max_steps: int,
                 bindings: Sequence[str]) -> TrainResult:
  """`train_and_export` with progress lines; data is (train, eval) files."""
  _progress(f'Training {name} to step {max_steps} in {model_dir} (config '
            f'{config_file}) ...')
  result = train_and_export(config_file, model_dir, data[0], data[1],
                            max_steps, bindings)
  what = (f'trained in {result.seconds:.1f} s' if result.seconds else
          'already trained; skipped')
  evaluation = ', '.join(f'{metric} {value:.4g}'
                         for metric, value in result.eval_metrics.items())
  _progress(f'{name}: global step {result.global_step}, {what}; eval '
            f'{evaluation or "-"}; export {result.export_path}.')
  return result


# -- 5. Results ----------------------------------------------------------------


def _results_json(config: QuickstartConfig, results: Sequence[PolicyResult],
                  total_seconds: float) -> Dict[str, Any]:
  """What results.json holds: the config, each policy's scores, wall time."""
  policies_json = {}
  for result in results:
    entry = {'mean_distance': result.mean_distance,
             'median_distance': result.median_distance,
             'episodes': len(result.episodes.distances)}
    if result.train is not None:
      entry.update(train_steps=result.train.global_step,
                   train_seconds=result.train.seconds,
                   export_path=result.train.export_path,
                   eval_metrics=result.train.eval_metrics)
    policies_json[result.name] = entry
  return {'config': {k: (list(v) if isinstance(v, tuple) else v)
                     for k, v in dataclasses.asdict(config).items()},
          'policies': policies_json,
          'total_seconds': total_seconds}


# -- The job -------------------------------------------------------------------


def run(config: QuickstartConfig) -> Dict[str, Any]:
  """Runs the whole quickstart; returns what results.json holds.

  Example:
    >>> results = run(QuickstartConfig(root_dir='/tmp/pose', skip_critic=True))
    >>> results['policies']['regression']['mean_distance']

  Args:
    config: What to run.

  Returns:
    The results: per policy the mean and median distance and its training.
  """
  start = time.perf_counter()
  root_dir = config.root_dir
  data_dir = os.path.join(root_dir, 'data')
  bindings = list(config.gin_bindings)
  data = (collect_data(data_dir, 'train', config.num_train_episodes,
                       config.seed, bindings),
          collect_data(data_dir, 'eval', config.num_eval_episodes,
                       config.seed + 1, bindings))
  stages = [(REGRESSION, REGRESSION_CONFIG, config.max_train_steps)]
  if not config.skip_critic:
    stages.append((CEM_CRITIC, CRITIC_CONFIG, config.max_critic_steps))
  trained = {}
  for name, config_file, max_steps in stages:
    model_dir = os.path.join(root_dir,
                             'critic' if name == CEM_CRITIC else name)
    # The quickstart loads only the final export: exporting every checkpoint
    # (the configs' default, for jobs that serve while they train) cost about
    # 25 s here and changes no number.
    trained[name] = _train_stage(
        name, config_file, model_dir, data, max_steps,
        [f'train_eval_model.seed = {config.seed}',
         f'PeriodicExporter.every_n_steps = {max_steps}'] + bindings)

  seeds = range(config.test_seed, config.test_seed + config.num_test_episodes)
  _progress(f'Evaluating {len(trained) + 1} policies on '
            f'{config.num_test_episodes} held-out episodes (seeds '
            f'{seeds.start}..{seeds.stop - 1}) ...')
  evaluated = [(RANDOM, random_policy.PoseEnvRandomPolicy(seed=config.seed))]
  evaluated += [(name, load_policy(name, result.export_path, config.seed))
                for name, result in trained.items()]
  results = []
  with gin_config([COLLECT_CONFIG], bindings):
    env = pose_env.PoseEnv()
    try:
      for name, policy in evaluated:
        # The same seeds give every policy the same scenes.
        episodes = evaluate_policy(policy, env, seeds,
                                   description=f'evaluate {name}')
        results.append(PolicyResult(name, episodes, trained.get(name)))
    finally:
      env.close()

  # Every policy saw the same scenes, so any result's targets and images do.
  episodes = results[-1].episodes
  buffer = io.BytesIO()
  draw_results(episodes.targets, results,
               episodes.images[:config.num_images]).save(buffer, format='PNG')
  atomic_files.write_atomically(
      os.path.join(root_dir, RESULTS_PNG), buffer.getvalue())
  summary = _results_json(config, results, time.perf_counter() - start)
  atomic_files.write_atomically(
      os.path.join(root_dir, RESULTS_JSON), json.dumps(summary, indent=2))
  print(f'\nPose env, {config.num_test_episodes} held-out episodes '
        '(distance from the true duck position):')
  print(format_table(results))
  print(f'Total wall time {summary["total_seconds"]:.1f} s. Picture: '
        f'{os.path.join(root_dir, RESULTS_PNG)}; numbers: '
        f'{os.path.join(root_dir, RESULTS_JSON)}.', flush=True)
  return summary


def _define_flags():
  """Defines the flags; only when run as a program (no global clashes)."""
  defaults = QuickstartConfig()
  flags.DEFINE_string('root_dir', defaults.root_dir,
                      'Holds the data, the model_dirs and the results.')
  flags.DEFINE_integer('num_train_episodes', defaults.num_train_episodes,
                       'Random episodes collected for training.')
  flags.DEFINE_integer('num_eval_episodes', defaults.num_eval_episodes,
                       "Random episodes collected for the trainer's eval.")
  flags.DEFINE_integer('num_test_episodes', defaults.num_test_episodes,
                       'Held-out simulator episodes per policy.')
  flags.DEFINE_integer('max_train_steps', defaults.max_train_steps,
                       'Training steps of the regression model.')
  flags.DEFINE_integer('max_critic_steps', defaults.max_critic_steps,
                       'Training steps of the critic.')
  flags.DEFINE_boolean('skip_critic', defaults.skip_critic,
                       'Train and evaluate the regression policy only.')
  flags.DEFINE_integer('seed', defaults.seed, 'Seed of the data collection.')
  flags.DEFINE_integer('test_seed', defaults.test_seed,
                       'First env seed of the held-out episodes.')
  flags.DEFINE_integer('num_images', defaults.num_images,
                       'Camera images shown in results.png.')
  flags.DEFINE_multi_string(
      'gin_bindings', [],
      "Gin bindings applied after each stage's config, e.g. "
      "'create_adam_optimizer.learning_rate = 3e-4'.")


def main(argv: Sequence[str]):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}.')
  values = flags.FLAGS
  config = QuickstartConfig(
      root_dir=values.root_dir,
      num_train_episodes=values.num_train_episodes,
      num_eval_episodes=values.num_eval_episodes,
      num_test_episodes=values.num_test_episodes,
      max_train_steps=values.max_train_steps,
      max_critic_steps=values.max_critic_steps,
      skip_critic=values.skip_critic,
      seed=values.seed,
      test_seed=values.test_seed,
      num_images=values.num_images,
      gin_bindings=tuple(values.gin_bindings))
  logging.info('Quickstart config: %s', config)
  run(config)


if __name__ == '__main__':
  _define_flags()
  app.run(main)
