"""Restoring a training checkpoint, with an error that says what to do.

Example:
  >>> checkpoint = tf.train.Checkpoint(model=model, optimizer=model.optimizer)
  >>> restore_checkpoint(checkpoint, tf.train.latest_checkpoint(model_dir))
"""

import tensorflow as tf


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
