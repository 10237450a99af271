"""A uniform random policy over the table, for collecting pose-env data."""

from typing import Any, Dict, Optional, Sequence, Tuple

import gin
import numpy as np

from research.pose_env import pose_env
from t2r import policies
from t2r.policies import cem


@gin.configurable
class PoseEnvRandomPolicy(policies.Policy):
  """Guesses a duck position uniformly over the area where the duck stands.

  Random guesses make the collected data cover the action space evenly: the
  rewards of random actions are what a critic learns from, and the images and
  true poses make the regression data set. It needs no model, so `restore()`
  is False and `global_step` is -1.

  Example:
    >>> policy = PoseEnvRandomPolicy(seed=0)
    >>> action, debug = policy.sample_action(image, explore_prob=0.0)
    >>> action.shape, action.dtype
    ((2,), dtype('float32'))

  Args:
    low: (x, y) lower corner of the guesses; defaults to the duck's range.
    high: (x, y) upper corner of the guesses.
    seed: Seeds the guesses; None draws fresh entropy.

  Raises:
    ValueError: If `low` or `high` is not 2 finite numbers or `low >= high`.
  """

  def __init__(self,
               low: Sequence[float] = (pose_env.DUCK_X_RANGE[0],
                                       pose_env.DUCK_Y_RANGE[0]),
               high: Sequence[float] = (pose_env.DUCK_X_RANGE[1],
                                        pose_env.DUCK_Y_RANGE[1]),
               seed: Optional[int] = None):
    super().__init__(predictor=None)
    self._low, self._high = cem.check_action_bounds(low, high)
    if self._low.shape != (2,):
      raise ValueError(
          f'PoseEnvRandomPolicy guesses an (x, y) position, so low and high '
          f'need 2 entries each, got low={low!r}, high={high!r}.')
    self._rng = np.random.default_rng(seed)

  def sample_action(self, obs: Any,
                    explore_prob: float) -> Tuple[np.ndarray, Dict[str, Any]]:
    """Returns a uniform random (x, y) guess and an empty debug dict.

    Args:
      obs: The observation (ignored: every action is random).
      explore_prob: Ignored (every action already explores).

    Returns:
      (action float32 (2,), {}).
    """
    del obs, explore_prob  # Every action is random.
    return self._rng.uniform(self._low, self._high).astype(np.float32), {}
