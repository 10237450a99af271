"""What counts as a successful pose-env episode in the flywheel's numbers."""

import gin


@gin.configurable
def pose_env_success(episode, max_distance: float = 0.05) -> bool:
  """True when the guess landed within `max_distance` m of the duck.

  Args:
    episode: One pose-env episode (a single step; reward = -distance).
    max_distance: Meters.

  Returns:
    Whether -reward < max_distance.
  """
  return -float(episode[-1][2]) < max_distance
