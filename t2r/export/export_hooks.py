"""Exports during training: periodic, lagged (target network), best by metric.

`PeriodicExporter` is an export hook of `train_eval_model` (called as
`hook(model, model_dir, global_step)` after each checkpoint save, and through
`at_train_end` once training ends, so the final step is always exported);
`BestExporter` is a tf-keras callback that runs after each evaluation.

  model_dir/export/<step>/         the newest `num_versions` exports
  model_dir/export_lagged/<step>/  one version behind (TD3 target networks)
  model_dir/export_best/<step>/    the best exports by an eval metric
"""

import math
import os
import time
from typing import Any, List, Optional

from absl import logging
import gin
import tensorflow as tf
import tf_keras

from t2r import provenance
from t2r import specs
from t2r.export import abstract_export_generator
from t2r.export import default_export_generator
from t2r.predictors import export_dirs

EXPORT_DIR = 'export'
LAGGED_EXPORT_DIR = 'export_lagged'
BEST_EXPORT_DIR = 'export_best'
EVAL_DIR = 'eval'


def prune_exports(export_root: str, num_versions: int):
  """Deletes all but the newest `num_versions` complete exports."""
  for _, path in export_dirs.list_exports(export_root)[:-num_versions]:
    tf.io.gfile.rmtree(path)
    logging.info('Deleted old export %s.', path)


def copy_export(source: str, export_root: str, version: int) -> str:
  """Copies an export to `<export_root>/<version>` (temp name, then rename)."""
  final_path = os.path.join(export_root, export_dirs.version_dir_name(version))
  if tf.io.gfile.exists(final_path):
    return final_path
  temp_path = os.path.join(export_root, export_dirs.temp_dir_name(version))
  try:
    for directory, _, files in tf.io.gfile.walk(source):
      target = os.path.join(temp_path, os.path.relpath(directory, source))
      tf.io.gfile.makedirs(target)
      for name in files:
        tf.io.gfile.copy(os.path.join(directory, name),
                         os.path.join(target, name))
    tf.io.gfile.rename(temp_path, final_path)
  except BaseException:
    # As in `AbstractExportGenerator.export`: leave no partial copy behind.
    if tf.io.gfile.exists(temp_path):
      tf.io.gfile.rmtree(temp_path)
    raise
  return final_path


def _check_count(name: str, value: Any):
  if isinstance(value, bool) or not isinstance(value, int) or value < 1:
    raise ValueError(f'{name} must be a positive int, got {value!r}.')


class _TrainingData:
  """The training files of the job, described (and cached) at each export."""

  def __init__(self):
    self._generator = None
    self._cache = {}

  def set_generator(self, input_generator: Any):
    self._generator = input_generator

  def files(self) -> Optional[List[provenance.DataFile]]:
    """The files the generator reads now; None without a generator."""
    if self._generator is None:
      return None
    return provenance.describe_files(self._generator.data_files(),
                                     self._cache, skip_missing=True)


@gin.configurable
class PeriodicExporter:
  """Exports every N steps or seconds, keeping the newest K versions.

  Example:
    >>> train_eval_model(..., export_hooks=[PeriodicExporter(
    ...     every_n_steps=1000, num_versions=3,
    ...     lagged_export_dir_name='export_lagged')])

  Args:
    export_generator: Writes the SavedModels; default
      `DefaultExportGenerator()`.
    export_dir_name: Directory under model_dir holding the versions.
    every_n_steps: Export when the global step passes a multiple of this.
    every_n_secs: Export when this much time passed since the last export.
      With neither, every call exports (i.e. every checkpoint). Whatever the
      schedule, the final step of training is exported (`at_train_end`).
    num_versions: How many versions to keep (also in the lagged directory).
    lagged_export_dir_name: If set, after each export the previous version
      is copied there, so it is always one version behind `export/` (the
      first export goes to both).
  """

  def __init__(self,
               export_generator: Optional[
                   abstract_export_generator.AbstractExportGenerator] = None,
               export_dir_name: str = EXPORT_DIR,
               every_n_steps: Optional[int] = None,
               every_n_secs: Optional[float] = None,
               num_versions: int = 5,
               lagged_export_dir_name: Optional[str] = None):
    if every_n_steps is not None:
      _check_count('every_n_steps', every_n_steps)
    if every_n_secs is not None and every_n_secs < 0:
      raise ValueError(f'every_n_secs must be >= 0, got {every_n_secs}.')
    _check_count('num_versions', num_versions)
    self._generator = (
        export_generator or default_export_generator.DefaultExportGenerator())
    self._export_dir_name = export_dir_name
    self._every_n_steps = every_n_steps
    self._every_n_secs = every_n_secs
    self._num_versions = num_versions
    self._lagged_export_dir_name = lagged_export_dir_name
    self._last_step = None
    self._last_time = None
    self._training_data = _TrainingData()

  def set_training_data(self, input_generator: Any):
    """Records the files of `input_generator` in every export's provenance.

    `train_eval_model` calls it with its training input generator (see
    `t2r.train.hooks.set_training_data`).

    Args:
      input_generator: An `AbstractInputGenerator`; its `data_files()` are
        listed (and fingerprinted) at each export.
    """
    self._training_data.set_generator(input_generator)

  def _due(self, global_step: int) -> bool:
    if self._last_step is None:
      return True
    if global_step == self._last_step:
      return False
    if self._every_n_steps is not None and (
        global_step // self._every_n_steps >
        self._last_step // self._every_n_steps):
      return True
    if self._every_n_secs is not None and (
        time.monotonic() - self._last_time >= self._every_n_secs):
      return True
    return self._every_n_steps is None and self._every_n_secs is None

  def __call__(self, model: tf_keras.Model, model_dir: str,
               global_step: int) -> Optional[str]:
    """Exports if due; returns the new export's path or None."""
    if not self._due(global_step):
      return None
    return self._export(model, model_dir, global_step)

  def at_train_end(self, model: tf_keras.Model, model_dir: str,
                   global_step: int) -> Optional[str]:
    """Exports the final step unless this exporter just exported it.

    `train_eval_model` calls this once training ends (see
    `t2r.train.hooks.run_train_end_hooks`), also when a restarted job
    finds its final step reached already: an export of that step that exists
    is kept, a missing one (the previous run stopped before it) is written.

    Args:
      model: The trained model.
      model_dir: Where this worker writes (as for `__call__`).
      global_step: The final global step.

    Returns:
      The export's path, or None if `__call__` exported this step already.
    """
    if global_step == self._last_step:
      return None
    return self._export(model, model_dir, global_step)

  def _export(self, model: tf_keras.Model, model_dir: str,
              global_step: int) -> str:
    """Exports `global_step`, updates the lagged copy and prunes old ones."""
    export_root = os.path.join(model_dir, self._export_dir_name)
    older = [export for export in export_dirs.list_exports(export_root)
             if export[0] < global_step]
    path = self._generator.export(model, export_root, global_step,
                                  training_files=self._training_data.files())
    self._last_step, self._last_time = global_step, time.monotonic()
    if self._lagged_export_dir_name:
      lagged_root = os.path.join(model_dir, self._lagged_export_dir_name)
      # One version behind; the first export goes to both directories.
      previous = older[-1] if older else (global_step, path)
      copy_export(previous[1], lagged_root, previous[0])
      prune_exports(lagged_root, self._num_versions)
    prune_exports(export_root, self._num_versions)
    return path


def latest_eval_metric(eval_dir: str, metric: str):
  """(step, value) of the newest `metric` summary in `eval_dir`, or None."""
  newest = None
  for event_file in _event_files(eval_dir):
    try:
      for event in tf.compat.v1.train.summary_iterator(event_file):
        for value in event.summary.value:
          if value.tag != metric:
            continue
          number = (float(tf.make_ndarray(value.tensor))
                    if value.HasField('tensor') else value.simple_value)
          if newest is None or event.step >= newest[0]:
            newest = (int(event.step), number)
    except tf.errors.DataLossError:
      pass  # A record still being written; the next check reads it.
  return newest


def _event_files(eval_dir: str):
  return sorted(
      tf.io.gfile.glob(os.path.join(eval_dir, 'events.out.tfevents.*')))


@gin.configurable
class BestExporter(tf_keras.callbacks.Callback):
  """Exports the model when an evaluation improves on the best metric.

  Reads the metric the evaluator wrote to `model_dir/eval/` (TensorBoard
  events) at the current global step, so it must run after the evaluation:
  pass it in `train_eval_model(callbacks=[...])`, which run after the
  built-in evaluator. The metric value is stored in each export's provenance
  (`extra['best_metric']`), so a restarted job keeps comparing against it.

  Example:
    >>> train_eval_model(..., callbacks=[BestExporter(model_dir, 'loss')])

  Args:
    model_dir: The training job's model_dir.
    metric: The eval metric name (as in the eval summaries), e.g. 'loss'.
    mode: 'min' or 'max': which direction is better.
    export_generator: Writes the SavedModels; default
      `DefaultExportGenerator()`.
    export_dir_name: Directory under model_dir holding the best exports.
    num_versions: How many best exports to keep.
  """

  def __init__(self,
               model_dir: str,
               metric: str = 'loss',
               mode: str = 'min',
               export_generator: Optional[
                   abstract_export_generator.AbstractExportGenerator] = None,
               export_dir_name: str = BEST_EXPORT_DIR,
               num_versions: int = 1):
    super().__init__()
    if mode not in ('min', 'max'):
      raise ValueError(f"BestExporter mode must be 'min' or 'max', got "
                       f'{mode!r}.')
    _check_count('num_versions', num_versions)
    self._model_dir = model_dir
    self._metric = metric
    self._sign = 1.0 if mode == 'min' else -1.0
    self._generator = (
        export_generator or default_export_generator.DefaultExportGenerator())
    self._export_root = os.path.join(model_dir, export_dir_name)
    self._num_versions = num_versions
    self._best = self._stored_best()
    self._seen_events = None
    self._training_data = _TrainingData()

  def set_training_data(self, input_generator: Any):
    """As `PeriodicExporter.set_training_data`."""
    self._training_data.set_generator(input_generator)

  def _stored_best(self) -> float:
    latest = export_dirs.latest_export(self._export_root)
    if latest is None:
      return math.inf
    extra = specs.read_t2r_assets(latest[1]).provenance.extra
    return self._sign * float(extra.get('best_metric', math.inf * self._sign))

  def maybe_export(self, model: tf_keras.Model,
                   global_step: int) -> Optional[str]:
    """Exports if the eval at `global_step` beats the best; returns the path."""
    eval_dir = os.path.join(self._model_dir, EVAL_DIR)
    # Re-read the events only when they changed (this runs every epoch).
    state = tuple((path, tf.io.gfile.stat(path).length)
                  for path in _event_files(eval_dir))
    if state == self._seen_events:
      return None
    self._seen_events = state
    newest = latest_eval_metric(eval_dir, self._metric)
    if newest is None or newest[0] != global_step:
      return None
    if self._sign * newest[1] >= self._best:
      return None
    self._best = self._sign * newest[1]
    path = self._generator.export(
        model, self._export_root, global_step,
        extra_provenance={'best_metric': repr(newest[1]),
                          'best_metric_name': self._metric},
        training_files=self._training_data.files())
    prune_exports(self._export_root, self._num_versions)
    logging.info('New best %s %s at step %d: exported %s.', self._metric,
                 newest[1], global_step, path)
    return path

  def on_epoch_end(self, epoch, logs=None):
    self.maybe_export(self.model, int(self.model.optimizer.iterations.numpy()))

  def on_train_end(self, logs=None):
    self.maybe_export(self.model, int(self.model.optimizer.iterations.numpy()))
