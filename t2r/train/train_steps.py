"""The global step of a training job and step intervals.

A T2R job counts the optimizer's `iterations` across restarts (Keras counts
steps per `fit` call). Callbacks, evaluation and the job loop read it here
and use `crossed` to decide whether an every-N-steps action is due.

Example:
  >>> step = global_step(model)
  >>> if crossed(last_saved_step, step, every_n_steps=1000):
  ...   manager.save(checkpoint_number=step)
"""

import contextlib
import math
from typing import Iterator, Sequence

import tensorflow as tf
import tf_keras


def global_step(model: tf_keras.Model) -> int:
  """The model's global step: its optimizer's `iterations` (a host sync).

  Args:
    model: A model with an optimizer.

  Returns:
    The number of optimizer steps taken, over all runs of the job.
  """
  return int(model.optimizer.iterations.numpy())


def crossed(previous_step: int, step: int, every_n_steps: int) -> bool:
  """Whether a multiple of `every_n_steps` lies in (previous_step, step].

  Steps may advance by more than one between checks (`steps_per_execution`,
  epochs), so "step % n == 0" would miss multiples; this does not.

  Example:
    >>> crossed(19, 25, every_n_steps=10)
    True

  Args:
    previous_step: The step of the last check.
    step: The current step.
    every_n_steps: The interval.

  Returns:
    True if a multiple of the interval was reached since the last check.
  """
  return step // every_n_steps > previous_step // every_n_steps


# The most training steps `auto_steps_per_execution` puts in one call: past
# ~10 the Python overhead per step is negligible, and callbacks (progress,
# early stopping) still run often.
MAX_AUTO_STEPS_PER_EXECUTION = 16


def auto_steps_per_execution(start_step: int, max_steps: int,
                             intervals: Sequence[int]) -> int:
  """Training steps per call that land exactly on every boundary.

  The largest k <= `MAX_AUTO_STEPS_PER_EXECUTION` dividing the start step,
  the last step and every interval: calls then end at every checkpoint,
  summary, export, log and evaluation step, so those happen at exactly the
  configured steps.

  Example:
    >>> auto_steps_per_execution(0, 1000, [500, 100, 100])
    10

  Args:
    start_step: The global step training starts (or resumes) at.
    max_steps: The global step training ends at.
    intervals: The every-N-steps intervals of the training loop.

  Returns:
    k >= 1.
  """
  boundary = math.gcd(start_step, max_steps, *intervals)
  return max(k for k in range(1, MAX_AUTO_STEPS_PER_EXECUTION + 1)
             if boundary % k == 0)


def set_train_steps_per_execution(model: tf_keras.Model, steps: int):
  """Makes `fit` run `steps` training steps per `tf.function` call.

  Rebuilds the train function if the value changes (a cached one-step
  function would otherwise run one step per call while tf-keras counts
  `steps`). For more than one step the model's `train_step` runs in the
  top-level name scope, so summary tags do not change.

  Example:
    >>> set_train_steps_per_execution(model, 10)

  Args:
    model: A compiled tf-keras model.
    steps: Steps per call, >= 1.

  Raises:
    ValueError: If `steps` is not a positive int.
  """
  if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
    raise ValueError(
        f'steps_per_execution must be a positive int, got {steps!r}.')
  if steps > 1 and not getattr(model.train_step, _TOP_LEVEL_SCOPE, False):
    model.train_step = _in_top_level_name_scope(model.train_step)
  if int(model.steps_per_execution.numpy()) != steps:
    model.steps_per_execution = steps
    model.make_train_function(force=True)


# Marks a train step wrapped by `_in_top_level_name_scope`.
_TOP_LEVEL_SCOPE = '_t2r_top_level_name_scope'


def _in_top_level_name_scope(train_step):
  """Runs `train_step` in the top-level name scope.

  tf-keras runs several steps per call in a `tf.range` loop, whose 'while/'
  name scope would prefix the tag of every summary the step writes ('loss'
  would become 'while/loss'); reset, the tags are those of one step per call.
  """

  def train_step_at_top_level(data):
    with tf.compat.v1.get_default_graph().name_scope(''):
      return train_step(data)

  setattr(train_step_at_top_level, _TOP_LEVEL_SCOPE, True)
  return train_step_at_top_level


@contextlib.contextmanager
def single_step_execution(model: tf_keras.Model) -> Iterator[None]:
  """Runs `model.evaluate` / `predict` inside one step per call.

  Evaluation of an unknown number of batches (`steps=None`) must not run
  several steps per call; `train_eval_model` uses more only for training.

  Example:
    >>> with single_step_execution(model):
    ...   model.evaluate(dataset, steps=None)

  Args:
    model: A compiled tf-keras model.

  Yields:
    None; the model's steps per execution is restored afterwards.
  """
  variable = model.steps_per_execution
  steps = None if variable is None else int(variable.numpy())
  if steps in (None, 1):
    yield
    return
  variable.assign(1)
  try:
    yield
  finally:
    variable.assign(steps)
