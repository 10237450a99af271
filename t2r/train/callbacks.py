"""tf-keras callbacks that give `fit` T2R's model_dir behaviour.

Keras' own callbacks count steps per `fit` call and epochs; a T2R job counts
the optimizer's global step across restarts. These callbacks key everything by
that global step: checkpoints (resume), stopping at `max_train_steps`, progress
logs and TensorBoard summaries, periodic evaluation and the gin operative
config (evaluation is in `t2r.train.evaluation`). `train_eval_model` wires
them; they work in any `fit` whose model has an optimizer.

The global step is read from the optimizer once per epoch (a cheap sync) and
advanced in Python per batch, so batch hooks never block the accelerator
except where they log.
"""

import time
from typing import Any, Callable, Dict, Optional, Sequence

from absl import logging
import gin
import numpy as np
import tensorflow as tf
import tf_keras

from t2r import atomic_files

# hook(model, model_dir, global_step), called after each checkpoint save. A
# hook may also define a method `at_train_end(model, model_dir, global_step)`:
# `run_train_end_hooks` calls it once training has ended (after the final
# checkpoint), e.g. to export the final step that its schedule skipped.
ExportHook = Callable[[tf_keras.Model, str, int], Any]
TRAIN_END_METHOD = 'at_train_end'


def global_step(model: tf_keras.Model) -> int:
  """The model's global step: its optimizer's `iterations`."""
  return int(model.optimizer.iterations.numpy())


def crossed(previous_step: int, step: int, every_n_steps: int) -> bool:
  """Whether a multiple of `every_n_steps` lies in (previous_step, step]."""
  return step // every_n_steps > previous_step // every_n_steps


def run_train_end_hooks(export_hooks: Sequence[ExportHook],
                        model: tf_keras.Model, directory: str, step: int):
  """Calls `at_train_end(model, directory, step)` of the hooks that define it.

  Plain callables (functions, lambdas) have no such method and are skipped.

  Example:
    >>> run_train_end_hooks([PeriodicExporter(every_n_steps=1000)], model,
    ...                     model_dir, global_step(model))

  Args:
    export_hooks: The job's export hooks.
    model: The trained model.
    directory: Where this worker writes (as for the hooks' calls).
    step: The final global step.
  """
  for hook in export_hooks:
    at_train_end = getattr(hook, TRAIN_END_METHOD, None)
    if at_train_end is not None:
      at_train_end(model, directory, step)


def to_python(values: Optional[Dict[str, Any]]) -> Dict[str, Any]:
  """Keras logs with scalar tensors as Python numbers (a sync point)."""
  result = {}
  for name, value in (values or {}).items():
    if hasattr(value, 'numpy'):
      value = value.numpy()
    result[name] = value.item() if isinstance(value, np.generic) or (
        isinstance(value, np.ndarray) and not value.shape) else value
  return result


def write_scalars(writer: Optional[tf.summary.SummaryWriter],
                  values: Dict[str, Any], step: int):
  """Writes the scalar entries of `values` to `writer` (None: no-op)."""
  if writer is None:
    return
  with writer.as_default(), tf.summary.record_if(True):
    for name, value in values.items():
      if isinstance(value, (int, float, np.number)):
        tf.summary.scalar(name, value, step=step)
  writer.flush()


class _GlobalStepCallback(tf_keras.callbacks.Callback):
  """Tracks the global step in Python; `self.step` after each batch."""

  def __init__(self):
    super().__init__()
    self._supports_tf_logs = True  # Logs stay tensors: no sync per batch.
    self._epoch_start_step = 0
    self.step = 0

  def on_epoch_begin(self, epoch, logs=None):
    self._epoch_start_step = self.step = global_step(self.model)

  def on_train_batch_end(self, batch, logs=None):
    # `batch` is the index of the last step run (steps_per_execution aware).
    self.step = self._epoch_start_step + batch + 1


class StopAtStep(_GlobalStepCallback):
  """Ends `fit` once the global step reaches `max_steps`.

  With `steps_per_execution` k > 1 training may run up to k - 1 steps past.
  """

  def __init__(self, max_steps: int):
    super().__init__()
    self._max_steps = max_steps

  def on_epoch_begin(self, epoch, logs=None):
    super().on_epoch_begin(epoch, logs)
    if self.step >= self._max_steps:
      self.model.stop_training = True

  def on_train_batch_end(self, batch, logs=None):
    super().on_train_batch_end(batch, logs)
    if self.step >= self._max_steps:
      self.model.stop_training = True


class ProgressLogger(_GlobalStepCallback):
  """Logs step, loss and steps/s; writes the logs as train summaries.

  While `fit` runs, `writer` is also the default summary writer with the
  global step as default step, recording every `summary_every_n_steps` steps,
  so `tf.summary` calls in the model (its `add_summaries` hook) land in the
  same event files.

  Args:
    log_every_n_steps: Logging interval in global steps.
    summary_every_n_steps: Summary interval in global steps.
    writer: The train summary writer (None: log only, e.g. a non-chief).
  """

  def __init__(self, log_every_n_steps: int, summary_every_n_steps: int,
               writer: Optional[tf.summary.SummaryWriter] = None):
    super().__init__()
    self._log_every_n_steps = log_every_n_steps
    self._summary_every_n_steps = summary_every_n_steps
    self._writer = writer
    self._contexts = []
    self._last_time = None
    self._last_step = None

  def on_train_begin(self, logs=None):
    self._last_step = global_step(self.model)
    self._last_time = time.perf_counter()
    if self._writer is None:
      return
    iterations = self.model.optimizer.iterations
    every_n = self._summary_every_n_steps
    self._contexts = [
        self._writer.as_default(step=iterations),
        tf.summary.record_if(lambda: tf.equal(iterations % every_n, 0)),
    ]
    for context in self._contexts:
      context.__enter__()

  def on_train_end(self, logs=None):
    for context in reversed(self._contexts):
      context.__exit__(None, None, None)
    self._contexts = []
    if self._writer is not None:
      self._writer.flush()

  def on_train_batch_end(self, batch, logs=None):
    previous_step = self.step
    super().on_train_batch_end(batch, logs)
    log_now = crossed(previous_step, self.step, self._log_every_n_steps)
    summarize_now = crossed(previous_step, self.step,
                            self._summary_every_n_steps)
    if not (log_now or summarize_now):
      return
    values = to_python(logs)
    now = time.perf_counter()
    steps_per_sec = (self.step - self._last_step) / max(
        now - self._last_time, 1e-9)
    self._last_step, self._last_time = self.step, now
    values['global_step/sec'] = steps_per_sec
    if log_now:
      logging.info('step %d: %s', self.step, format_values(values))
    if summarize_now:
      write_scalars(self._writer, values, self.step)


def format_values(values: Dict[str, Any]) -> str:
  """'name value, ...' for log lines (floats with 5 significant digits)."""
  return ', '.join(
      f'{name} {value:.5g}' if isinstance(value, float) else f'{name} {value}'
      for name, value in values.items())


class OperativeConfigWriter(tf_keras.callbacks.Callback):
  """Writes `gin.operative_config_str()` to `path` after the first step.

  After one step every configurable the job uses has been called, so the
  file records the values actually used. It is written atomically.
  """

  def __init__(self, path: str):
    super().__init__()
    self._supports_tf_logs = True
    self._path = path
    self._written = False

  def on_train_batch_end(self, batch, logs=None):
    if not self._written:
      atomic_files.write_atomically(self._path, gin.operative_config_str())
      self._written = True


def restore_checkpoint(checkpoint: tf.train.Checkpoint, path: str):
  """Restores `path` into `checkpoint`, checking it matches the objects.

  Args:
    checkpoint: A checkpoint over built objects (model and optimizer).
    path: The checkpoint prefix.

  Raises:
    ValueError: If the checkpoint lacks variables of the objects or their
      shapes differ (it was written by another model).
    tf.errors.NotFoundError: If the checkpoint files are gone.
  """
  try:
    checkpoint.restore(path).assert_existing_objects_matched()
  except (AssertionError, ValueError, tf.errors.InvalidArgumentError) as e:
    raise ValueError(
        f'The checkpoint {path} does not match the model: {e} Use a new '
        'model_dir for a different model, or delete the old checkpoints.'
    ) from e


class CheckpointSaver(tf_keras.callbacks.Callback):
  """Saves a checkpoint every `every_n_steps` global steps and at the end.

  Saves happen at epoch ends (`fit`'s `steps_per_epoch` should divide
  `every_n_steps`) and when training stops. After each save the export hooks
  run with `(model, directory, global_step)`; `directory` is where this
  worker writes (model_dir on the chief). When `fit` ends, after the final
  save, the hooks' `at_train_end` methods run (see `run_train_end_hooks`).

  Args:
    manager: A `tf.train.CheckpointManager` over the model and optimizer.
    every_n_steps: Checkpoint interval in global steps.
    export_hooks: Callables run after each save.
    directory: The directory handed to the hooks.
  """

  def __init__(self, manager: tf.train.CheckpointManager, every_n_steps: int,
               export_hooks: Sequence[ExportHook] = (), directory: str = ''):
    super().__init__()
    self._manager = manager
    self._every_n_steps = every_n_steps
    self._export_hooks = tuple(export_hooks)
    self._directory = directory
    self._last_saved_step = None

  def on_train_begin(self, logs=None):
    self._last_saved_step = global_step(self.model)

  def on_epoch_end(self, epoch, logs=None):
    # The last epoch saves here too, before `fit` ends by swapping moving
    # averages into the weights: checkpoints always hold the raw weights.
    step = global_step(self.model)
    if self.model.stop_training or crossed(self._last_saved_step, step,
                                           self._every_n_steps):
      self._save(step)

  def on_train_end(self, logs=None):
    step = global_step(self.model)
    if step != self._last_saved_step:
      self._save(step)
    run_train_end_hooks(self._export_hooks, self.model, self._directory, step)

  def _save(self, step: int):
    path = self._manager.save(checkpoint_number=step)
    self._last_saved_step = step
    logging.info('Saved checkpoint %s', path)
    for hook in self._export_hooks:
      hook(self.model, self._directory, step)
