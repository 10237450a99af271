"""Turns pose-env episodes into transition values laid out like the specs."""

from typing import Any, List, Sequence

import gin
import numpy as np

from t2r import specs

# One step as the collector records it.
_STEP_FIELDS = ('obs', 'action', 'reward', 'new_obs', 'done', 'info')


@gin.configurable
def episode_to_transitions(
    episode: Sequence[Sequence[Any]]) -> List[specs.TensorSpecStruct]:
  """Converts one episode into one transition per step (Tensor2Robot style).

  The values follow `pose_env_specs.get_pose_env_specs()`, so the replay
  writer can encode them and models parse them back by the same names. The
  next observation and the done flag are dropped: every pose-env episode is a
  single step whose image does not change.

  Example:
    >>> obs, info = env.reset(seed=0)
    >>> action, _ = policy.sample_action(obs, explore_prob=0.0)
    >>> new_obs, reward, terminated, truncated, info = env.step(action)
    >>> [transition] = episode_to_transitions(
    ...     [(obs, action, reward, new_obs, terminated, info)])
    >>> transition.labels.target_pose.shape
    (2,)

  Args:
    episode: A sequence of (obs, action, reward, new_obs, done, info) steps:
      obs an (H, W, 3) uint8 image, action 2 numbers, reward a number and
      info a dict holding 'target_pose' (2 numbers).

  Returns:
    A list of `TensorSpecStruct`s with 'features/state/image' (uint8),
    'features/action' (float32 (2,)), 'labels/reward' (float32 (1,)) and
    'labels/target_pose' (float32 (2,)).

  Raises:
    ValueError: If a step is not a 6-tuple or its info lacks 'target_pose'.
  """
  transitions = []
  for index, step in enumerate(episode):
    if len(step) != len(_STEP_FIELDS):
      raise ValueError(
          f'Step {index} of the episode has {len(step)} fields; expected '
          f'{len(_STEP_FIELDS)}: {_STEP_FIELDS}.')
    obs, action, reward, _, _, info = step
    if 'target_pose' not in info:
      raise ValueError(
          f"Step {index} of the episode has no 'target_pose' in its info "
          f'(keys {sorted(info)}); record the info that PoseEnv.step '
          'returns.')
    transition = specs.TensorSpecStruct()
    transition['features/state/image'] = np.asarray(obs)
    transition['features/action'] = np.asarray(action, np.float32)
    transition['labels/reward'] = np.asarray([reward], np.float32)
    transition['labels/target_pose'] = np.asarray(info['target_pose'],
                                                  np.float32)
    transitions.append(transition)
  return transitions
