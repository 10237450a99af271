"""Trains one pose-env model under its gin config and finds its final export.

The quickstart's training stage: `train_eval_model` runs a job config
(configs/train_regression.gin or configs/train_critic.gin) on given data and
model_dir; the config's `PeriodicExporter` writes the SavedModel that the
policies then load. A second run resumes from the checkpoints, or skips
training when the global step already reached the maximum.
"""

import dataclasses
import os
import time
from typing import Dict, Sequence

from research.pose_env.gin_scope import gin_config
from t2r import predictors
from t2r.train import train_eval


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


def train_and_export(config_file: str, model_dir: str, train_files: str,
                     eval_files: str, max_train_steps: int,
                     bindings: Sequence[str] = ()) -> TrainResult:
  """Runs `train_eval_model` under a config; returns the final export.

  The config's `PeriodicExporter` exports the final step when training ends
  (or, on a run with nothing left to train, if that export is missing).

  Example:
    >>> result = train_and_export(
    ...     'research/pose_env/configs/train_regression.gin', '/tmp/regression',
    ...     '/tmp/data/train-4000.tfrecord', '/tmp/data/eval-256.tfrecord',
    ...     max_train_steps=1500)
    >>> result.export_path  # '/tmp/regression/export/1500'

  Args:
    config_file: The gin config of the job.
    model_dir: The job's model_dir (bound to the config's MODEL_DIR).
    train_files: File patterns of the training records (TRAIN_FILES).
    eval_files: File patterns of the eval records (EVAL_FILES).
    max_train_steps: Binds the config's `MAX_TRAIN_STEPS` (the job's
      `train_eval_model.max_train_steps` and its learning-rate schedule).
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
      f'MAX_TRAIN_STEPS = {max_train_steps}',
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
