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
own config file (plus --gin_bindings).
"""

import contextlib
import dataclasses
import io
import json
import os
import time
import uuid
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

from absl import app
from absl import flags
from absl import logging
import gin
import numpy as np
from PIL import Image
from PIL import ImageDraw
from PIL import ImageFont
import tensorflow as tf

from research.pose_env import collection
from research.pose_env import pose_env
from research.pose_env import random_policy
from t2r import policies
from t2r import predictors
from t2r.policies import cem_export_generator
from t2r.train import train_eval

CONFIG_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                          'configs')
COLLECT_CONFIG = os.path.join(CONFIG_DIR, 'collect.gin')
REGRESSION_CONFIG = os.path.join(CONFIG_DIR, 'train_regression.gin')
CRITIC_CONFIG = os.path.join(CONFIG_DIR, 'train_critic.gin')
DEFAULT_ROOT_DIR = os.path.join('.', 't2r_runs', 'pose_env')
RESULTS_JSON = 'results.json'
RESULTS_PNG = 'results.png'

# Where the duck may stand: the box the policies' actions are clipped to and
# CEM searches.
ACTION_LOW = (pose_env.DUCK_X_RANGE[0], pose_env.DUCK_Y_RANGE[0])
ACTION_HIGH = (pose_env.DUCK_X_RANGE[1], pose_env.DUCK_Y_RANGE[1])
RANDOM, REGRESSION, CEM_CRITIC = 'random', 'regression', 'cem_critic'


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
    seed: Seeds the collection (training data: seed, eval data: seed + 1).
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
  max_train_steps: int = 1500
  max_critic_steps: int = 2000
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


@dataclasses.dataclass(frozen=True)
class TrainResult:
  """One model's training stage.

  Attributes:
    global_step: The step the model reached (this run or an earlier one).
    seconds: Wall time of this run's training (0 when skipped).
    export_path: The SavedModel of `global_step`.
    eval_metrics: The trainer's last evaluation in this run (may be empty).
  """
  global_step: int
  seconds: float
  export_path: str
  eval_metrics: Dict[str, float]


@dataclasses.dataclass(frozen=True)
class Episodes:
  """One policy's greedy episodes.

  Attributes:
    actions: (episodes, 2) guesses.
    distances: (episodes,) distances to the target (-reward).
    targets: (episodes, 2) true positions.
    images: The camera images, one per episode.
  """
  actions: np.ndarray
  distances: np.ndarray
  targets: np.ndarray
  images: List[np.ndarray]


@dataclasses.dataclass(frozen=True)
class PolicyResult:
  """A policy's held-out episodes and the training of its model.

  Attributes:
    name: 'random', 'regression' or 'cem_critic'.
    episodes: Its `Episodes`.
    train: The training stage of its model, or None.
  """
  name: str
  episodes: Episodes
  train: Optional[TrainResult] = None

  @property
  def mean_distance(self) -> float:
    return float(np.mean(self.episodes.distances))

  @property
  def median_distance(self) -> float:
    return float(np.median(self.episodes.distances))


def _progress(message: str):
  """One progress line on stdout (the logs go to stderr)."""
  print(f'[quickstart] {message}', flush=True)


@contextlib.contextmanager
def gin_config(config_files: Sequence[str],
               bindings: Sequence[str] = ()) -> Iterator[None]:
  """Within the block gin holds exactly these files and bindings."""
  gin.clear_config()
  try:
    gin.parse_config_files_and_bindings(list(config_files), list(bindings))
    yield
  finally:
    gin.clear_config()


def _write_atomically(path: str, content: bytes):
  """Writes `content` to `path` via a temporary name and a rename."""
  tf.io.gfile.makedirs(os.path.dirname(path) or '.')
  temp_path = f'{path}.tmp-{uuid.uuid4().hex}'
  with tf.io.gfile.GFile(temp_path, 'wb') as f:
    f.write(content)
  tf.io.gfile.rename(temp_path, path, overwrite=True)


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


def train_and_export(config_file: str, model_dir: str, train_files: str,
                     eval_files: str, max_train_steps: int,
                     bindings: Sequence[str] = ()) -> TrainResult:
  """Runs `train_eval_model` under a config; returns the final export.

  The config's `PeriodicExporter` exports the final step when training ends
  (or, on a run with nothing left to train, if that export is missing).

  Args:
    config_file: The gin config of the job.
    model_dir: The job's model_dir (bound to the config's MODEL_DIR).
    train_files: File patterns of the training records (TRAIN_FILES).
    eval_files: File patterns of the eval records (EVAL_FILES).
    max_train_steps: Binds `train_eval_model.max_train_steps`.
    bindings: More gin bindings, applied last.

  Returns:
    A `TrainResult`.

  Raises:
    ValueError: If model_dir/export holds no export of the final step (the
      config has no `PeriodicExporter` among its export hooks).
  """
  job_bindings = [
      f'TRAIN_FILES = {train_files!r}',
      f'EVAL_FILES = {eval_files!r}',
      f'MODEL_DIR = {model_dir!r}',
      f'train_eval_model.max_train_steps = {max_train_steps}',
  ] + list(bindings)
  with gin_config([config_file], job_bindings):
    start = time.perf_counter()
    result = train_eval.train_eval_model()
    seconds = time.perf_counter() - start if result['train'] else 0.0
    global_step = result['global_step']
  latest = predictors.latest_export(os.path.join(model_dir, 'export'))
  if latest is None or latest[0] != global_step:
    raise ValueError(
        f'No export of the final step {global_step} in {model_dir}/export '
        f'after training with {config_file} (latest: {latest}). Keep '
        '`train_eval_model.export_hooks = [@PeriodicExporter()]` in the '
        'config.')
  export_path = latest[1]
  eval_metrics = {name: float(value)
                  for name, value in result['eval'].items()}
  return TrainResult(global_step, seconds, export_path, eval_metrics)


def _train_stage(name: str, config_file: str, model_dir: str,
                 data: Tuple[str, str], max_steps: int,
                 bindings: Sequence[str]) -> TrainResult:
  _progress(f'Training {name} to step {max_steps} in {model_dir} (config '
            f'{config_file}; progress is logged every 100 steps) ...')
  result = train_and_export(config_file, model_dir, data[0], data[1],
                            max_steps, bindings)
  what = (f'trained in {result.seconds:.1f} s' if result.seconds else
          'already trained; skipped')
  _progress(f'{name}: global step {result.global_step}, {what}; eval '
            f'{result.eval_metrics}; export {result.export_path}.')
  return result


# -- 4. Evaluation -------------------------------------------------------------


def evaluate_policy(policy: policies.Policy, env: Any,
                    seeds: Sequence[int]) -> Episodes:
  """Runs one greedy episode per seed.

  Args:
    policy: The policy to score.
    env: A `PoseEnv`.
    seeds: Reset seeds, one episode each.

  Returns:
    The `Episodes`.
  """
  steps = [collection.run_episode(env, policy, seed=seed)[0]
           for seed in seeds]
  return Episodes(
      actions=np.stack([np.asarray(step[1], np.float32) for step in steps]),
      distances=np.array([-float(step[2]) for step in steps]),
      targets=np.stack([step[5]['target_pose'] for step in steps]),
      images=[step[0] for step in steps])


def load_policy(name: str, export_path: str) -> policies.Policy:
  """A policy over an export, loaded without any model code.

  Args:
    name: REGRESSION (`RegressionPolicy`) or CEM_CRITIC (`CEMPolicy` running
      the export's in-graph 'cem_action' signature).
    export_path: The export directory.

  Returns:
    The policy, its predictor restored.

  Raises:
    ValueError: For an unknown name or an export that cannot be loaded.
  """
  predictor = predictors.ExportedSavedModelPredictor(export_path, timeout=0)
  if not predictor.restore():
    raise ValueError(f'No complete t2r export at {export_path!r}.')
  if name == REGRESSION:
    return policies.RegressionPolicy(predictor, action_low=ACTION_LOW,
                                     action_high=ACTION_HIGH)
  if name == CEM_CRITIC:
    return policies.CEMPolicy(
        predictor, action_low=ACTION_LOW, action_high=ACTION_HIGH,
        exported_cem_signature=cem_export_generator.CEM_SIGNATURE)
  raise ValueError(f'Unknown policy {name!r}; expected {REGRESSION!r} or '
                   f'{CEM_CRITIC!r}.')


# -- 5. Results ----------------------------------------------------------------

_COLORS = {RANDOM: (150, 150, 150), REGRESSION: (31, 119, 180),
           CEM_CRITIC: (255, 127, 14)}
_TRUE_COLOR = (20, 20, 20)
_TABLE_HALF_SIZE = (0.75, 0.5)  # The table top is 1.5 x 1 m.
_PIXELS_PER_METER = 560
_MARGIN = 30
_THUMBNAIL = 128


def _font(size: int):
  try:
    return ImageFont.load_default(size=size)
  except (TypeError, OSError):  # Pillow without FreeType: the bitmap font.
    return ImageFont.load_default()


def draw_results(targets: np.ndarray, results: Sequence[PolicyResult],
                 images: Sequence[np.ndarray],
                 max_points: int = 40) -> Image.Image:
  """Draws the table from above with true and predicted duck positions.

  Each learned policy's guess is joined to the true position by a line of
  the policy's color; the first `len(images)` true positions are numbered
  like the camera images in the strip below the table.

  Args:
    targets: (episodes, 2) true positions.
    results: The policies' results (random ones are summarized in the title
      only: their guesses would hide the others).
    images: Camera images of the first episodes.
    max_points: Episodes drawn on the table.

  Returns:
    The picture.
  """
  table_w = int(2 * _TABLE_HALF_SIZE[0] * _PIXELS_PER_METER)
  table_h = int(2 * _TABLE_HALF_SIZE[1] * _PIXELS_PER_METER)
  header, legend = 60, 40
  strip_h = (_THUMBNAIL + 30) if len(images) else 0
  width = max(table_w, len(images) * (_THUMBNAIL + 12)) + 2 * _MARGIN
  height = header + table_h + 2 * _MARGIN + legend + strip_h
  picture = Image.new('RGB', (width, height), 'white')
  draw = ImageDraw.Draw(picture)
  font, small = _font(16), _font(13)
  left = (width - table_w) // 2
  top = header + _MARGIN

  def to_pixel(xy):
    return (left + (xy[0] + _TABLE_HALF_SIZE[0]) * _PIXELS_PER_METER,
            top + (_TABLE_HALF_SIZE[1] - xy[1]) * _PIXELS_PER_METER)

  summary = ', '.join(f'{r.name} {100 * r.mean_distance:.1f} cm'
                      for r in results)
  draw.text((_MARGIN, 10), 'Pose env: duck positions seen from above (table '
            '1.5 x 1 m)', fill='black', font=font)
  draw.text((_MARGIN, 34), f'mean distance over {len(targets)} held-out '
            f'episodes: {summary}', fill='black', font=small)
  draw.rectangle([to_pixel((-_TABLE_HALF_SIZE[0], _TABLE_HALF_SIZE[1])),
                  to_pixel((_TABLE_HALF_SIZE[0], -_TABLE_HALF_SIZE[1]))],
                 fill=(222, 205, 180), outline=(120, 90, 60), width=3)
  draw.rectangle([to_pixel((ACTION_LOW[0], ACTION_HIGH[1])),
                  to_pixel((ACTION_HIGH[0], ACTION_LOW[1]))],
                 outline=(170, 150, 120), width=1)
  shown = min(max_points, len(targets))
  learned = [r for r in results if r.name != RANDOM]
  for result in learned:
    for target, action in zip(targets[:shown], result.episodes.actions[:shown]):
      draw.line([to_pixel(target), to_pixel(action)],
                fill=_COLORS[result.name], width=2)
      x, y = to_pixel(action)
      draw.ellipse([x - 4, y - 4, x + 4, y + 4], fill=_COLORS[result.name])
  for index, target in enumerate(targets[:shown]):
    x, y = to_pixel(target)
    draw.ellipse([x - 5, y - 5, x + 5, y + 5], outline=_TRUE_COLOR, width=2)
    if index < len(images):
      draw.text((x + 7, y - 18), str(index + 1), fill=_TRUE_COLOR, font=font)
  legend_y = top + table_h + _MARGIN // 2
  entries = [('true position', _TRUE_COLOR)] + [
      (f'{r.name} guess', _COLORS[r.name]) for r in learned]
  x = left
  for label, color in entries:
    box = [x, legend_y + 4, x + 10, legend_y + 14]
    if color == _TRUE_COLOR:  # Drawn hollow, as on the table.
      draw.ellipse(box, outline=color, width=2)
    else:
      draw.ellipse(box, fill=color)
    draw.text((x + 16, legend_y), label, fill='black', font=small)
    x += 40 + int(draw.textlength(label, font=small))
  strip_y = legend_y + legend
  for index, image in enumerate(images):
    x = _MARGIN + index * (_THUMBNAIL + 12)
    thumbnail = Image.fromarray(np.asarray(image, np.uint8)).resize(
        (_THUMBNAIL, _THUMBNAIL), Image.NEAREST)
    picture.paste(thumbnail, (x, strip_y))
    draw.text((x + 4, strip_y + _THUMBNAIL + 4), f'camera {index + 1}',
              fill='black', font=small)
  return picture


def _results_json(config: QuickstartConfig, results: Sequence[PolicyResult],
                  total_seconds: float) -> Dict[str, Any]:
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


def format_table(results: Sequence[PolicyResult]) -> str:
  """The results as a fixed-width text table."""
  lines = [f'{"policy":<12} {"mean dist (m)":>14} {"median (m)":>11} '
           f'{"train steps":>12} {"train s":>8}']
  for r in results:
    steps = str(r.train.global_step) if r.train else '-'
    seconds = '-' if not r.train else (
        f'{r.train.seconds:.1f}' if r.train.seconds else 'skipped')
    lines.append(f'{r.name:<12} {r.mean_distance:>14.4f} '
                 f'{r.median_distance:>11.4f} {steps:>12} '
                 f'{seconds:>8}')
  return '\n'.join(lines)


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
    trained[name] = _train_stage(name, config_file, model_dir, data,
                                 max_steps, bindings)

  seeds = range(config.test_seed, config.test_seed + config.num_test_episodes)
  _progress(f'Evaluating {len(trained) + 1} policies on '
            f'{config.num_test_episodes} held-out episodes (seeds '
            f'{seeds.start}..{seeds.stop - 1}) ...')
  evaluated = [(RANDOM, random_policy.PoseEnvRandomPolicy(seed=config.seed))]
  evaluated += [(name, load_policy(name, result.export_path))
                for name, result in trained.items()]
  results = []
  with gin_config([COLLECT_CONFIG], bindings):
    env = pose_env.PoseEnv()
    try:
      for name, policy in evaluated:
        eval_start = time.perf_counter()
        # The same seeds give every policy the same scenes.
        episodes = evaluate_policy(policy, env, seeds)
        results.append(PolicyResult(name, episodes, trained.get(name)))
        _progress(f'{name}: mean distance {results[-1].mean_distance:.4f} m '
                  f'({time.perf_counter() - eval_start:.1f} s).')
    finally:
      env.close()

  buffer = io.BytesIO()
  draw_results(episodes.targets, results,
               episodes.images[:config.num_images]).save(buffer, format='PNG')
  _write_atomically(os.path.join(root_dir, RESULTS_PNG), buffer.getvalue())
  summary = _results_json(config, results, time.perf_counter() - start)
  _write_atomically(os.path.join(root_dir, RESULTS_JSON),
                    json.dumps(summary, indent=2).encode('utf-8'))
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
