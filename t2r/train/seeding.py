"""One job seed for every random number generator a training job touches.

A T2R job draws random numbers in four places: weight initialisation and
dropout (TensorFlow's global seed), augmentation inside tf.data maps (the
same global seed: stateful random ops derive their op seeds from it in the
order they are created), the data order (the input generators' own seeds,
see `AbstractInputGenerator.set_default_seed`) and Python-side code such as
exploration (`random` and numpy's legacy global generator). `set_job_seed`
seeds the first, second and last; `train_eval_model(seed=...)` also seeds the
input generators.
"""

import numpy as np
import tf_keras


def check_seed(seed: int, who: str) -> int:
  """Returns `seed` if it is a non-negative int.

  Args:
    seed: The candidate seed.
    who: The function or argument that was given it, for the error.

  Returns:
    `seed`.

  Raises:
    ValueError: If `seed` is a bool, not an int, or outside [0, 2**32)
      (numpy's range).
  """
  if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or (
      not 0 <= seed < 2**32):
    raise ValueError(f'{who} must be an int in [0, 2**32), got {seed!r}.')
  return int(seed)


def set_job_seed(seed: int):
  """Seeds TensorFlow's global generator, numpy's and Python's.

  `tf_keras.utils.set_random_seed` does the seeding; this adds the check.

  Call it before the model is created: layers draw their initial weights
  from the global seed when they are built.

  Example:
    >>> set_job_seed(3)
    >>> a = np.random.uniform()
    >>> set_job_seed(3)
    >>> a == np.random.uniform()
    True

  Args:
    seed: An int in [0, 2**32).

  Raises:
    ValueError: If `seed` is not an int in [0, 2**32).
  """
  tf_keras.utils.set_random_seed(check_seed(seed, 'seed'))
