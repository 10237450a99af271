"""The global step of a training job and step intervals.

A T2R job counts the optimizer's `iterations` across restarts (Keras counts
steps per `fit` call). Callbacks, evaluation and the job loop read it here
and use `crossed` to decide whether an every-N-steps action is due.

Example:
  >>> step = global_step(model)
  >>> if crossed(last_saved_step, step, every_n_steps=1000):
  ...   manager.save(checkpoint_number=step)
"""

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
