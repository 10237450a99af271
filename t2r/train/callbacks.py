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
from typing import Optional, Sequence

from absl import logging
import gin
import tensorflow as tf
import tf_keras

from t2r import atomic_files
from t2r import compat
from t2r import progress
from t2r.train import hooks
from t2r.train import summaries
from t2r.train import train_steps


class _GlobalStepCallback(tf_keras.callbacks.Callback):
  """Tracks the global step in Python; `self.step` after each batch."""

  def __init__(self):
    super().__init__()
    compat.let_callback_take_tensor_logs(self)  # No sync per batch.
    self._epoch_start_step = 0
    self.step = 0

  def on_epoch_begin(self, epoch, logs=None):
    self._epoch_start_step = self.step = train_steps.global_step(self.model)

  def on_train_batch_end(self, batch, logs=None):
    # `batch` is the index of the last step run (steps_per_execution aware).
    self.step = self._epoch_start_step + batch + 1


class StopAtStep(_GlobalStepCallback):
  """Ends `fit` once the global step reaches `max_steps`.

  With `steps_per_execution` k > 1 training may run up to k - 1 steps past.
  A `fit` that starts at `max_steps` or later still runs one step, since
  tf-keras checks `stop_training` only after a batch (`train_eval_model`
  does not call `fit` then).

  Args:
    max_steps: The global step at which training ends.
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
    self._last_step = train_steps.global_step(self.model)
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
    log_now = train_steps.crossed(previous_step, self.step,
                                  self._log_every_n_steps)
    summarize_now = train_steps.crossed(previous_step, self.step,
                                        self._summary_every_n_steps)
    if not (log_now or summarize_now):
      return
    values = summaries.to_python(logs)
    now = time.perf_counter()
    steps_per_sec = (self.step - self._last_step) / max(
        now - self._last_time, 1e-9)
    self._last_step, self._last_time = self.step, now
    values['global_step/sec'] = steps_per_sec
    if log_now:
      logging.info('step %d: %s', self.step, summaries.format_values(values))
    if summarize_now:
      summaries.write_scalars(self._writer, values, self.step)


class TrainingProgressBar(_GlobalStepCallback):
  """Shows training as one `t2r.progress.ProgressBar` up to `max_steps`.

  The bar moves every batch (the step is counted in Python); the loss is
  read, a sync with the accelerator, only every `loss_every_n_steps`.

  Args:
    max_steps: The global step at which training ends (the bar's total).
    description: The bar's label, e.g. 'train PoseEnvRegressionModel'.
    loss_every_n_steps: How often the loss shown is refreshed.
  """

  def __init__(self, max_steps: int, description: str = 'train',
               loss_every_n_steps: int = 100):
    super().__init__()
    self._max_steps = max_steps
    self._description = description
    self._loss_every_n_steps = loss_every_n_steps
    self._bar = None

  def on_train_begin(self, logs=None):
    start = min(train_steps.global_step(self.model), self._max_steps)
    self._bar = progress.ProgressBar(self._description, total=self._max_steps,
                                     unit='steps', initial=start)

  def on_train_batch_end(self, batch, logs=None):
    previous_step = self.step
    super().on_train_batch_end(batch, logs)
    fields = {}
    if logs and 'loss' in logs and train_steps.crossed(
        previous_step, self.step, self._loss_every_n_steps):
      fields['loss'] = float(summaries.to_python({'loss': logs['loss']})[
          'loss'])
    self._bar.update(self.step, **fields)

  def on_train_end(self, logs=None):
    if self._bar is not None:
      self._bar.close()
      self._bar = None


class OperativeConfigWriter(tf_keras.callbacks.Callback):
  """Writes `gin.operative_config_str()` to `path` after the first step.

  After one step every configurable the job uses has been called, so the
  file records the values actually used. It is written atomically.
  """

  def __init__(self, path: str):
    super().__init__()
    compat.let_callback_take_tensor_logs(self)
    self._path = path
    self._written = False

  def on_train_batch_end(self, batch, logs=None):
    if not self._written:
      atomic_files.write_atomically(self._path, gin.operative_config_str())
      self._written = True


class CheckpointSaver(tf_keras.callbacks.Callback):
  """Saves a checkpoint every `every_n_steps` global steps and at the end.

  Saves happen at epoch ends (`fit`'s `steps_per_epoch` should divide
  `every_n_steps`) and when training stops. After each save the export hooks
  run with `(model, directory, global_step)`; `directory` is where this
  worker writes (model_dir on the chief). When `fit` ends, after the final
  save, the hooks' `at_train_end` methods run (see
  `t2r.train.hooks.run_train_end_hooks`).

  Args:
    manager: A `tf.train.CheckpointManager` over the model and optimizer.
    every_n_steps: Checkpoint interval in global steps.
    export_hooks: Callables run after each save.
    directory: The directory handed to the hooks.
  """

  def __init__(self, manager: tf.train.CheckpointManager, every_n_steps: int,
               export_hooks: Sequence[hooks.ExportHook] = (),
               directory: str = ''):
    super().__init__()
    self._manager = manager
    self._every_n_steps = every_n_steps
    self._export_hooks = tuple(export_hooks)
    self._directory = directory
    self._last_saved_step = None

  def on_train_begin(self, logs=None):
    self._last_saved_step = train_steps.global_step(self.model)

  def on_epoch_end(self, epoch, logs=None):
    # The last epoch saves here too, before `fit` ends by swapping moving
    # averages into the weights: checkpoints always hold the raw weights.
    step = train_steps.global_step(self.model)
    if self.model.stop_training or train_steps.crossed(
        self._last_saved_step, step, self._every_n_steps):
      self._save(step)

  def on_train_end(self, logs=None):
    step = train_steps.global_step(self.model)
    if step != self._last_saved_step:
      self._save(step)
    hooks.run_train_end_hooks(self._export_hooks, self.model, self._directory,
                              step)

  def _save(self, step: int):
    path = self._manager.save(checkpoint_number=step)
    self._last_saved_step = step
    logging.info('Saved checkpoint %s', path)
    for hook in self._export_hooks:
      hook(self.model, self._directory, step)
