"""MAML on pose_env with hidden drift: task data, the oracle, the evaluation.

With `PoseEnv(hidden_drift=True)` every task (camera pose) adds a secret
offset to the target that the image does not show; only adaptation within
a task can find it. This module

  - collects task files: one TFRecord per task, `episodes_per_task` random
    guesses each, in the layout of `pose_env_specs` plus the label
    'duck_xy' (the duck's position, the target without the drift), which
    only the oracle reads;
  - defines `PoseEnvOracleRegressionModel`: the regression model trained on
    'duck_xy'; told the drift, it answers prediction + drift;
  - scores, on held-out tasks (`TestTasks`): random guesses, plain
    regression (trained on the drifted targets: it cannot know the drift),
    the oracle, and a MAML export before and after adapting to K = 1, 2, 4
    condition episodes of the task (the same SavedModel call returns both).

`research.pose_env.maml_sweep` runs the whole comparison over seeds.
"""

import dataclasses
import json
import os
from typing import Any, Dict, Optional, Sequence

import gin
import numpy as np
import tensorflow as tf

from research.pose_env import pose_env
from research.pose_env import pose_env_models
from research.pose_env import pose_env_specs
from t2r import atomic_files
from t2r import predictors
from t2r import specs
from t2r.data import encoding

ORACLE_LABEL = 'duck_xy'
CONDITION_COUNTS = (1, 2, 4)
# Task seeds: train tasks of seed s from s * 10**6, test tasks from 10**9.
TEST_TASK_SEED = 10**9
_TRAIN_TASK_SEED_STRIDE = 10**6


def task_record_spec(image_size: pose_env_specs.ImageSize = 64
                    ) -> specs.TensorSpecStruct:
  """`get_pose_env_specs()` plus the oracle's label 'labels/duck_xy'.

  Example:
    >>> task_record_spec()['labels/duck_xy'].name
    'duck_xy'
  """
  spec = pose_env_specs.get_pose_env_specs(image_size)
  spec['labels/duck_xy'] = specs.ExtendedTensorSpec((2,), tf.float32,
                                                    name=ORACLE_LABEL)
  return spec


def _env(episodes_per_task: int, drift_range: float) -> pose_env.PoseEnv:
  return pose_env.PoseEnv(hidden_drift=True, drift_range=drift_range,
                          episodes_per_task=episodes_per_task)


def collect_task_files(output_dir: str,
                       num_tasks: int,
                       episodes_per_task: int,
                       first_task_seed: int,
                       prefix: str = 'task',
                       drift_range: float = 0.3) -> str:
  """Writes one TFRecord per task of random guesses; returns their glob.

  Task i is drawn by `env.reset(seed=first_task_seed + i)`; files that exist
  are kept (a second run reuses the data).

  Example:
    >>> pattern = collect_task_files('/tmp/maml_data', 400, 10, 0)
    >>> pattern
    '/tmp/maml_data/task-*.tfrecord'

  Args:
    output_dir: Where the files go.
    num_tasks: Tasks (files).
    episodes_per_task: Episodes (records) per task.
    first_task_seed: The seed of task 0.
    prefix: The file name prefix.
    drift_range: `PoseEnv.drift_range`.

  Returns:
    The glob matching the task files.

  Raises:
    ValueError: For a non-positive task or episode count.
  """
  if num_tasks < 1 or episodes_per_task < 1:
    raise ValueError(f'num_tasks and episodes_per_task must be positive, got '
                     f'{num_tasks} and {episodes_per_task}.')
  spec = task_record_spec()
  encoder = encoding.ExampleEncoder(spec.features, spec.labels)
  tf.io.gfile.makedirs(output_dir)
  env = _env(episodes_per_task, drift_range)
  rng = np.random.default_rng(first_task_seed)
  try:
    for task in range(num_tasks):
      path = os.path.join(output_dir, f'{prefix}-{task:05d}.tfrecord')
      if tf.io.gfile.exists(path):
        continue
      records = []
      for episode in range(episodes_per_task):
        image, info = env.reset(
            seed=first_task_seed + task if episode == 0 else None)
        action = rng.uniform(env.action_space.low,
                             env.action_space.high).astype(np.float32)
        _, reward, _, _, info = env.step(action)
        records.append(encoder.encode(
            {'state/image': image, 'action': action},
            {'reward': np.array([reward], np.float32),
             'target_pose': info['target_pose'],
             ORACLE_LABEL: info['target_pose'] - info['drift']}))
      temp = path + '.tmp'
      with tf.io.TFRecordWriter(temp) as writer:
        for record in records:
          writer.write(record)
      tf.io.gfile.rename(temp, path, overwrite=True)
  finally:
    env.close()
  return os.path.join(output_dir, f'{prefix}-*.tfrecord')


def train_task_seed(seed: int) -> int:
  """The seed of the first training task of a job seed."""
  return seed * _TRAIN_TASK_SEED_STRIDE


@gin.configurable
class PoseEnvOracleRegressionModel(pose_env_models.PoseEnvRegressionModel):
  """`PoseEnvRegressionModel` regressing the duck's position ('duck_xy').

  The label keeps the path 'target_pose' (so all of the parent's code
  works) but reads the records' 'duck_xy': the target without the task's
  drift. Told the drift, the oracle answers prediction + drift.

  Example:
    >>> PoseEnvOracleRegressionModel().get_label_specification(
    ...     'train')['target_pose'].name
    'duck_xy'
  """

  def get_label_specification(self, mode: str) -> specs.TensorSpecStruct:
    label = super().get_label_specification(mode)['target_pose']
    return specs.TensorSpecStruct({
        'target_pose': specs.ExtendedTensorSpec.from_spec(label,
                                                          name=ORACLE_LABEL)})


@dataclasses.dataclass(frozen=True)
class TestTasks:
  """Held-out tasks: condition episodes then evaluation episodes each.

  Attributes:
    images: (tasks, episodes, 64, 64, 3) uint8.
    targets: (tasks, episodes, 2) float32, the drifted targets.
    drifts: (tasks, 2) float32.
    num_condition: Episodes per task at the start available as condition
      data (the largest K scored); the rest are scored.
  """
  images: np.ndarray
  targets: np.ndarray
  drifts: np.ndarray
  num_condition: int


def make_test_tasks(num_tasks: int, num_condition: int = max(CONDITION_COUNTS),
                    num_eval: int = 10, first_task_seed: int = TEST_TASK_SEED,
                    drift_range: float = 0.3) -> TestTasks:
  """Renders held-out tasks (the same for every seed and policy).

  Args:
    num_tasks: Tasks.
    num_condition: Condition episodes per task (first in each task).
    num_eval: Scored episodes per task.
    first_task_seed: The seed of task 0.
    drift_range: `PoseEnv.drift_range`.

  Returns:
    A `TestTasks`.
  """
  per_task = num_condition + num_eval
  env = _env(per_task, drift_range)
  images, targets, drifts = [], [], []
  try:
    for task in range(num_tasks):
      task_images, task_targets = [], []
      for episode in range(per_task):
        image, info = env.reset(
            seed=first_task_seed + task if episode == 0 else None)
        task_images.append(image)
        task_targets.append(info['target_pose'])
      images.append(task_images)
      targets.append(task_targets)
      drifts.append(info['drift'])
  finally:
    env.close()
  return TestTasks(np.asarray(images, np.uint8),
                   np.asarray(targets, np.float32),
                   np.asarray(drifts, np.float32), num_condition)


def _distance(predictions: np.ndarray, targets: np.ndarray) -> float:
  return float(np.mean(np.linalg.norm(predictions - targets, axis=-1)))


def _regression_predictions(export_path: str, images: np.ndarray
                           ) -> np.ndarray:
  predictor = predictors.ExportedSavedModelPredictor(export_path)
  if not predictor.restore():
    raise ValueError(f'No export to load at {export_path}.')
  flat = images.reshape((-1,) + images.shape[2:])
  outputs = predictor.predict({'state/image': flat})['inference_output']
  return np.asarray(outputs).reshape(images.shape[:2] + (2,))


def score_policies(tasks: TestTasks,
                   regression_export: Optional[str],
                   oracle_export: Optional[str],
                   maml_export: Optional[str],
                   seed: int = 0,
                   condition_counts: Sequence[int] = CONDITION_COUNTS
                  ) -> Dict[str, float]:
  """Mean distance to the drifted target on the tasks' scored episodes.

  Args:
    tasks: The held-out tasks.
    regression_export: Plain regression (trained on drifted targets).
    oracle_export: `PoseEnvOracleRegressionModel` (answers + drift).
    maml_export: A `MAMLModel` export of the regression model.
    seed: Seeds the random guesses.
    condition_counts: The K to adapt from (each <= tasks.num_condition).

  Returns:
    {policy name: mean distance}: 'random', 'regression', 'oracle',
    'maml_unadapted' and 'maml_adapted_k<K>' (for the exports given).

  Raises:
    ValueError: If a K exceeds the condition episodes of the tasks.
  """
  c = tasks.num_condition
  for k in condition_counts:
    if not 1 <= k <= c:
      raise ValueError(f'Cannot adapt from K={k} condition episodes: the '
                       f'test tasks hold {c}; pass K in [1, {c}].')
  scored_images, scored_targets = tasks.images[:, c:], tasks.targets[:, c:]
  rng = np.random.default_rng(seed)
  low = np.array([pose_env.DUCK_X_RANGE[0], pose_env.DUCK_Y_RANGE[0]])
  high = np.array([pose_env.DUCK_X_RANGE[1], pose_env.DUCK_Y_RANGE[1]])
  results = {'random': _distance(
      rng.uniform(low, high, scored_targets.shape), scored_targets)}
  if regression_export:
    results['regression'] = _distance(
        _regression_predictions(regression_export, scored_images),
        scored_targets)
  if oracle_export:
    results['oracle'] = _distance(
        _regression_predictions(oracle_export, scored_images) +
        tasks.drifts[:, None], scored_targets)
  if maml_export:
    predictor = predictors.ExportedSavedModelPredictor(maml_export)
    if not predictor.restore():
      raise ValueError(f'No export to load at {maml_export}.')
    for k in condition_counts:
      outputs = predictor.predict({
          'condition/features/state/image': tasks.images[:, c - k:c],
          'condition/labels/target_pose': tasks.targets[:, c - k:c],
          'inference/features/state/image': scored_images,
      })
      results.setdefault('maml_unadapted', _distance(
          np.asarray(outputs['unadapted/inference_output']), scored_targets))
      results[f'maml_adapted_k{k}'] = _distance(
          np.asarray(outputs['adapted/inference_output']), scored_targets)
  return results


def write_json(path: str, value: Any):
  """Writes `value` as JSON atomically."""
  atomic_files.write_atomically(path, json.dumps(value, indent=2,
                                                sort_keys=True))
