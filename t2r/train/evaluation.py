"""Evaluation: periodically while training, or of each new checkpoint.

`evaluate` runs `model.evaluate` and writes its metrics (and the model's EVAL
summaries) at the global step. `PeriodicEvaluator` calls it from `fit`;
`evaluate_checkpoints` is the continuous evaluator: an eval job beside the
trainer on the same model_dir waits for checkpoints
(`tf.train.checkpoints_iterator`), restores each one and evaluates it, until
it sees a checkpoint at `max_train_steps` or none arrives within the timeout.
`evaluate_checkpoints_on_sets` does the same for several named eval sets
(`EvalSet`s), each with its own summary writer.
"""

from typing import Any, Dict, Mapping, NamedTuple, Optional

from absl import logging
import tensorflow as tf
import tf_keras

from t2r import compat
from t2r.train import checkpoints
from t2r.train import summaries
from t2r.train import train_steps


class EvalSet(NamedTuple):
  """A dataset to evaluate on, and where its summaries go.

  Attributes:
    dataset: The (distributed) eval dataset; each evaluation starts it anew.
    writer: Its summary writer, or None to write nothing (e.g. on workers
      other than the chief).
  """
  dataset: Any
  writer: Optional[tf.summary.SummaryWriter] = None


def evaluate(model: tf_keras.Model,
             dataset: Any,
             steps: Optional[int],
             writer: Optional[tf.summary.SummaryWriter],
             name: str = 'eval') -> Dict[str, float]:
  """Evaluates `model` and writes its metrics as summaries at the global step.

  While evaluating, `writer` is the default summary writer (recording on the
  first eval batch only), so the model's `add_summaries` in EVAL lands in the
  eval event files. It runs one step per call, also when training uses
  several (`steps_per_execution`).

  Example:
    >>> evaluate(model, eval_dataset, steps=10,
    ...          writer=tf.summary.create_file_writer('/tmp/model/eval'))
    {'loss': 0.25}

  Args:
    model: A compiled model.
    dataset: The (distributed) eval dataset.
    steps: The number of batches; None: until the dataset ends.
    writer: The eval summary writer, or None to write nothing.
    name: What the log line calls the evaluation (e.g. 'eval_novel').

  Returns:
    The metrics by name.
  """
  step = train_steps.global_step(model)
  # One step per call whatever training uses (steps=None: unknown length).
  with train_steps.single_step_execution(model):
    if writer is None:
      results = model.evaluate(dataset, steps=steps, verbose=0,
                               return_dict=True)
    else:
      counter = compat.evaluate_batch_counter(model)
      with writer.as_default(step=model.optimizer.iterations), \
          tf.summary.record_if(lambda: tf.equal(counter, 0)):
        results = model.evaluate(
            dataset, steps=steps, verbose=0, return_dict=True)
  results = summaries.to_python(results)
  summaries.write_scalars(writer, results, step)
  logging.info('%s at step %d: %s', name, step,
               summaries.format_values(results))
  return results


class PeriodicEvaluator(tf_keras.callbacks.Callback):
  """Evaluates every `every_n_steps` global steps and at the end of training.

  Args:
    dataset: The (distributed) eval dataset; each evaluation starts it anew.
    steps: Batches per evaluation (None: the whole dataset).
    every_n_steps: Evaluation interval in global steps.
    writer: The eval summary writer (None on non-chief workers).
    name: What log lines call the evaluation (one evaluator per eval set).
  """

  def __init__(self, dataset: Any, steps: Optional[int], every_n_steps: int,
               writer: Optional[tf.summary.SummaryWriter] = None,
               name: str = 'eval'):
    super().__init__()
    self._dataset = dataset
    self._steps = steps
    self._every_n_steps = every_n_steps
    self._writer = writer
    self._name = name
    self._last_step = None
    self.results = {}

  def on_train_begin(self, logs=None):
    self._last_step = train_steps.global_step(self.model)

  def on_epoch_end(self, epoch, logs=None):
    step = train_steps.global_step(self.model)
    if self.model.stop_training or train_steps.crossed(
        self._last_step, step, self._every_n_steps):
      self._evaluate(step)

  def on_train_end(self, logs=None):
    step = train_steps.global_step(self.model)
    if step != self._last_step:
      self._evaluate(step)

  def _evaluate(self, step: int):
    self.results = evaluate(self.model, self._dataset, self._steps,
                            self._writer, self._name)
    self._last_step = step


def evaluate_checkpoints(model: tf_keras.Model,
                         checkpoint: tf.train.Checkpoint,
                         dataset: Any,
                         model_dir: str,
                         eval_steps: Optional[int],
                         writer: Optional[tf.summary.SummaryWriter],
                         max_train_steps: Optional[int] = None,
                         timeout_secs: Optional[float] = None,
                         min_interval_secs: float = 0.0) -> Dict[str, float]:
  """Evaluates every checkpoint that appears in `model_dir`.

  Example:
    >>> evaluate_checkpoints(model, tf.train.Checkpoint(model=model,
    ...     optimizer=model.optimizer), eval_dataset, '/tmp/model_dir',
    ...     eval_steps=10, writer=tf.summary.create_file_writer(
    ...         '/tmp/model_dir/eval'), max_train_steps=1000,
    ...     timeout_secs=600)

  Args:
    model: A compiled model whose optimizer's `iterations` is the step.
    checkpoint: The checkpoint object over the model (and its optimizer).
    dataset: The eval dataset (each evaluation starts it anew).
    model_dir: Where the trainer writes checkpoints.
    eval_steps: Batches per evaluation (None: the whole dataset).
    writer: The eval summary writer, or None.
    max_train_steps: Stop after evaluating a checkpoint at this step or later
      (None: only the timeout stops).
    timeout_secs: Stop when no new checkpoint appears for this long (None:
      wait forever).
    min_interval_secs: The least time between two evaluations.

  Returns:
    The metrics of the last evaluated checkpoint ({} if none appeared).
  """
  return evaluate_checkpoints_on_sets(
      model, checkpoint, {'eval': EvalSet(dataset, writer)}, model_dir,
      eval_steps, max_train_steps=max_train_steps, timeout_secs=timeout_secs,
      min_interval_secs=min_interval_secs)['eval']


def evaluate_checkpoints_on_sets(
    model: tf_keras.Model,
    checkpoint: tf.train.Checkpoint,
    eval_sets: Mapping[str, EvalSet],
    model_dir: str,
    eval_steps: Optional[int],
    max_train_steps: Optional[int] = None,
    timeout_secs: Optional[float] = None,
    min_interval_secs: float = 0.0) -> Dict[str, Dict[str, float]]:
  """Evaluates every checkpoint that appears in `model_dir` on each eval set.

  Example:
    >>> evaluate_checkpoints_on_sets(
    ...     model, checkpoint,
    ...     {'eval_seen': EvalSet(seen_dataset, seen_writer),
    ...      'eval_novel': EvalSet(novel_dataset, novel_writer)},
    ...     '/tmp/model_dir', eval_steps=10, max_train_steps=1000)
    {'eval_seen': {'loss': 0.2}, 'eval_novel': {'loss': 0.7}}

  Args:
    model: A compiled model whose optimizer's `iterations` is the step.
    checkpoint: The checkpoint object over the model (and its optimizer).
    eval_sets: The eval sets by name, evaluated in this order after each
      restore.
    model_dir: Where the trainer writes checkpoints.
    eval_steps: Batches per evaluation (None: the whole dataset).
    max_train_steps: Stop after evaluating a checkpoint at this step or later
      (None: only the timeout stops).
    timeout_secs: Stop when no new checkpoint appears for this long (None:
      wait forever).
    min_interval_secs: The least time between two evaluations.

  Returns:
    Each set's metrics of the last evaluated checkpoint ({} if none
    appeared), by name.
  """
  results = {name: {} for name in eval_sets}
  for path in tf.train.checkpoints_iterator(
      model_dir, min_interval_secs=min_interval_secs, timeout=timeout_secs):
    try:
      checkpoints.restore_checkpoint(checkpoint, path)
    except tf.errors.NotFoundError as e:
      # The trainer's CheckpointManager may delete an old checkpoint
      # (keep_checkpoint_max) between the listing and the read.
      logging.warning('Skipping checkpoint %s, which could not be read: %s',
                      path, e)
      continue
    results = {
        name: evaluate(model, eval_set.dataset, eval_steps, eval_set.writer,
                       name) for name, eval_set in eval_sets.items()
    }
    step = train_steps.global_step(model)
    if max_train_steps is not None and step >= max_train_steps:
      logging.info('Evaluated the final checkpoint (step %d).', step)
      break
  else:
    logging.info('No new checkpoint in %s for %s s; continuous eval ends.',
                 model_dir, timeout_secs)
  return results
