"""Scripted baselines for the grasping envs, as `t2r.policies.Policy`s.

They bracket what a learned grasping policy should reach on
`KukaGraspMultiStepEnv` and `KukaGraspPointEnv`:

  - `UniformRandomPolicy`: uniform actions in the action box (a floor).
  - `RandomDescendingPolicy` (multi-step): random dx, dy, dyaw with dz = -1,
    so the gripper always reaches the tray (QT-Opt's scripted exploration).
  - `StraightDownPolicy`: descend below the starting point and close.
  - `PrivilegedExpertPolicy`: reads the true object positions from the
    simulator, picks the most isolated reachable object and moves to it
    (waypoints through the env's IK); the ceiling for this gripper.

All of them are seeded and ignore `explore_prob` (they are exploration
already). The expert needs the environments themselves, in the order of
the slots `run_env` steps them in.

Example:
  >>> envs = [KukaGraspMultiStepEnv(object_split='test') for _ in range(2)]
  >>> policy = make_baseline('privileged', envs, seed=0)
  >>> stats = t2r.collect.run_env(envs, policy, num_episodes=10, seed=0)
  >>> stats.success_rate
  0.9
"""

import math
from typing import Any, Dict, List, Optional, Sequence, Tuple

import gin
from gymnasium import spaces
import numpy as np

from research.qtopt import grasping_env
from t2r.policies import policies

Debug = Dict[str, Any]

# The fingertips' centre sits this far from link 6, rotating with the yaw.
FINGER_CENTER_OFFSET = 0.022
# Objects whose centre lies beyond these bounds are hard to reach low.
_REACHABLE_X = (0.42, 0.65)
_REACHABLE_Y = (-0.17, 0.17)


def _box(action_space: Any) -> spaces.Box:
  if not isinstance(action_space, spaces.Box) or len(
      action_space.shape) != 1:
    raise TypeError(f'Expected a 1-d gymnasium Box action space, got '
                    f'{action_space!r}.')
  return action_space


def _is_multi_step(action_space: spaces.Box) -> bool:
  """Multi-step actions are in [-1, 1]^4 (or ^5 with terminate)."""
  return action_space.shape[0] in (4, 5) and bool(
      np.all(action_space.low == -1) and np.all(action_space.high == 1))


def _check_seed(seed: int) -> int:
  if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
    raise TypeError(f'seed must be an int, got {seed!r}.')
  return int(seed)


@gin.configurable
class UniformRandomPolicy(policies.Policy):
  """Uniformly random actions in the env's action box.

  Example:
    >>> policy = UniformRandomPolicy(env.action_space, seed=0)
    >>> action, _ = policy.sample_action(obs, explore_prob=0.0)

  Args:
    action_space: The env's `action_space` (a 1-d Box).
    seed: Seeds the action stream.

  Raises:
    TypeError: If `action_space` is not a 1-d Box or `seed` not an int.
  """

  def __init__(self, action_space: spaces.Box, seed: int = 0):
    super().__init__(None)
    self._space = _box(action_space)
    self._rng = np.random.default_rng(_check_seed(seed))

  def sample_action(self, obs: Any,
                    explore_prob: float) -> Tuple[np.ndarray, Debug]:
    del obs, explore_prob
    return self._rng.uniform(self._space.low, self._space.high).astype(
        np.float32), {}


@gin.configurable
class RandomDescendingPolicy(UniformRandomPolicy):
  """Multi-step: random dx, dy, dyaw with dz = -1 (and terminate = -1).

  Example:
    >>> policy = RandomDescendingPolicy(env.action_space, seed=0)
    >>> policy.sample_action(obs, 0.0)[0][2]
    -1.0

  Args:
    action_space: A `KukaGraspMultiStepEnv` action space.
    seed: Seeds the action stream.

  Raises:
    ValueError: For a grasp-point action space (it has no dz).
  """

  def __init__(self, action_space: spaces.Box, seed: int = 0):
    super().__init__(action_space, seed)
    if not _is_multi_step(self._space):
      raise ValueError(
          f'RandomDescendingPolicy needs a KukaGraspMultiStep action space '
          f'([-1, 1]^4 or ^5), got {action_space!r}.')

  def sample_action(self, obs: Any,
                    explore_prob: float) -> Tuple[np.ndarray, Debug]:
    action, debug = super().sample_action(obs, explore_prob)
    action[2] = -1.0
    if action.shape[0] == 5:
      action[4] = -1.0
    return action, debug


@gin.configurable
class StraightDownPolicy(policies.Policy):
  """Grasps below the starting point with the gripper unrotated.

  Multi-step: (0, 0, -1, 0) every step. Grasp point: the observed gripper
  (x, y) with yaw 0, clipped to the action box.

  Example:
    >>> StraightDownPolicy(env.action_space).sample_action(obs, 0.0)[0]
    array([ 0.,  0., -1.,  0.], dtype=float32)

  Args:
    action_space: The env's `action_space`.

  Raises:
    TypeError: If `action_space` is not a 1-d Box.
  """

  def __init__(self, action_space: spaces.Box):
    super().__init__(None)
    self._space = _box(action_space)
    self._multi_step = _is_multi_step(self._space)

  def sample_action(self, obs: Any,
                    explore_prob: float) -> Tuple[np.ndarray, Debug]:
    del explore_prob
    if self._multi_step:
      action = np.zeros(self._space.shape, np.float32)
      action[2] = -1.0
      if action.shape[0] == 5:
        action[4] = -1.0
      return action, {}
    x, y = np.asarray(obs['gripper_pose'])[:2]
    action = np.array([x, y, 0.0], np.float32)
    return np.clip(action, self._space.low, self._space.high), {}


def grasp_yaw(minor_axis: float, current_yaw: float = 0.0) -> float:
  """The gripper yaw that closes the fingers across an object's narrow axis.

  The fingers close along the world direction at angle -yaw (along x at
  yaw 0, along y at yaw pi/2); yaws pi apart grasp alike, so the one
  nearest `current_yaw` is returned.

  Example:
    >>> grasp_yaw(0.0), grasp_yaw(math.pi / 4, current_yaw=3.0)
    (0.0, 2.356...)

  Args:
    minor_axis: World angle (radians) of the object's narrow axis.
    current_yaw: The gripper's present yaw.

  Returns:
    The yaw, within pi/2 of `current_yaw`.
  """
  yaw = -minor_axis
  return yaw + math.pi * round((current_yaw - yaw) / math.pi)


def end_effector_xy(object_xy: Sequence[float], yaw: float) -> np.ndarray:
  """Where link 6 goes so that the fingertips' centre is over `object_xy`."""
  return np.asarray(object_xy[:2], np.float64) - FINGER_CENTER_OFFSET * (
      np.array([math.sin(yaw), math.cos(yaw)]))


def choose_object(centers: np.ndarray, gripper_xy: Sequence[float]) -> int:
  """The object to grasp: the most isolated reachable one.

  Objects whose centre is hard to reach low (near the tray's far corners)
  are chosen only if no other is left; among the rest, the one farthest
  from its nearest neighbour, so the fingers do not land on another object.

  Args:
    centers: (n, 3) object centres.
    gripper_xy: The gripper's (x, y), for ties.

  Returns:
    The index of the object.
  """
  centers = np.asarray(centers, np.float64)
  xy = centers[:, :2]
  reachable = ((xy[:, 0] >= _REACHABLE_X[0]) & (xy[:, 0] <= _REACHABLE_X[1]) &
               (xy[:, 1] >= _REACHABLE_Y[0]) & (xy[:, 1] <= _REACHABLE_Y[1]) &
               (centers[:, 2] > -0.5))
  distances = np.linalg.norm(xy[:, None] - xy[None], axis=-1)
  np.fill_diagonal(distances, np.inf)
  isolation = distances.min(axis=1) if len(xy) > 1 else np.ones(len(xy))
  isolation = np.minimum(isolation, 0.1)  # Beyond 10 cm all are isolated.
  to_gripper = np.linalg.norm(xy - np.asarray(gripper_xy[:2]), axis=-1)
  score = isolation - 0.01 * to_gripper - 10.0 * (~reachable)
  return int(np.argmax(score))


@gin.configurable
class PrivilegedExpertPolicy(policies.Policy):
  """Grasps the most isolated object, knowing where every object is.

  Multi-step: picks an object at the first step, then moves the commanded
  target towards the point above it at full speed while descending so as
  to reach `grasp_height` at the last step, turning to `grasp_yaw` on the
  way. Grasp point: the object's grasp point in one action.

  Example:
    >>> envs = [KukaGraspPointEnv(object_split='test')]
    >>> expert = PrivilegedExpertPolicy(envs, seed=0)
    >>> stats = t2r.collect.run_env(envs, expert, num_episodes=20, seed=0)

  Args:
    envs: The envs the policy acts in, one per slot (the list given to
      `run_env`), or a single env for slot 0.
    seed: Seeds the optional noise.
    position_noise: Standard deviation (metres) of Gaussian noise on the
      chosen grasp point, for more varied demonstrations.
    grasp_height: The multi-step end-effector z to descend to (default: the
      env's workspace floor).

  Raises:
    ValueError: For a negative noise or envs that are not grasping envs.
  """

  def __init__(self, envs: Any, seed: int = 0, position_noise: float = 0.0,
               grasp_height: Optional[float] = None):
    super().__init__(None)
    self._envs = list(envs) if isinstance(envs, (list, tuple)) else [envs]
    for env in self._envs:
      if not isinstance(getattr(env, 'unwrapped', env),
                        grasping_env.KukaGraspEnv):
        raise ValueError(
            f'PrivilegedExpertPolicy needs KukaGraspEnv environments, got '
            f'{env!r}.')
    if not position_noise >= 0:
      raise ValueError(f'position_noise must be >= 0, got '
                       f'{position_noise!r}.')
    self._noise = float(position_noise)
    self._grasp_height = grasp_height
    self._rng = np.random.default_rng(_check_seed(seed))
    self._goals: Dict[int, Tuple[np.ndarray, float]] = {}

  def reset(self):
    self._goals = {}

  def _goal(self, slot: int, env: Any,
            state: Dict[str, np.ndarray]) -> Tuple[np.ndarray, float]:
    """The (x, y) of link 6 and the yaw to grasp at, chosen once per
    episode."""
    if slot in self._goals and int(state['steps_left']) < env.max_steps:
      return self._goals[slot]
    index = choose_object(state['object_centers'], state['gripper_target'])
    yaw = grasp_yaw(state['object_minor_axes'][index],
                    state['gripper_target'][3])
    target = state['object_centers'][index, :2]
    if self._noise:
      target = target + self._rng.normal(0.0, self._noise, 2)
    goal = (end_effector_xy(target, yaw), yaw)
    self._goals[slot] = goal
    return goal

  def _act(self, slot: int) -> np.ndarray:
    if slot >= len(self._envs):
      raise ValueError(
          f'PrivilegedExpertPolicy was given {len(self._envs)} envs but asked '
          f'to act in slot {slot}; pass the same env list as to run_env.')
    env = getattr(self._envs[slot], 'unwrapped', self._envs[slot])
    state = env.privileged_state()
    goal_xy, goal_yaw = self._goal(slot, env, state)
    space = env.action_space
    if isinstance(env, grasping_env.KukaGraspPointEnv):
      return np.clip(np.array([*goal_xy, goal_yaw], np.float32), space.low,
                     space.high)
    # pylint: disable=protected-access
    scale, rotation = env._translation_scale, env._rotation_scale
    floor = (env._workspace[0][2] if self._grasp_height is None
             else self._grasp_height)
    # pylint: enable=protected-access
    target = state['gripper_target']
    steps_left = max(int(state['steps_left']), 1)
    action = np.zeros(space.shape, np.float32)
    action[:2] = np.clip((goal_xy - target[:2]) / scale, -1.0, 1.0)
    action[2] = np.clip((floor - target[2]) / (steps_left * scale), -1.0,
                        1.0)
    action[3] = np.clip((goal_yaw - target[3]) / rotation, -1.0, 1.0)
    if action.shape[0] == 5:
      action[4] = 1.0 if steps_left == 1 else -1.0
    return action

  def sample_actions(self, observations: Sequence[Any], explore_prob: float,
                     slots: Optional[Sequence[int]] = None
                    ) -> Tuple[np.ndarray, List[Debug]]:
    del explore_prob
    slots = policies.check_slots(observations, slots)
    return np.stack([self._act(slot) for slot in slots]), [{} for _ in slots]

  def sample_action(self, obs: Any,
                    explore_prob: float) -> Tuple[np.ndarray, Debug]:
    actions, debugs = self.sample_actions([obs], explore_prob, slots=[0])
    return actions[0], debugs[0]


BASELINES = {
    'multi_step': ('random', 'random_descending', 'straight_down',
                   'privileged'),
    'grasp_point': ('random', 'straight_down', 'privileged'),
}


@gin.configurable
def make_baseline(name: str, envs: Any, seed: int = 0) -> policies.Policy:
  """Builds a baseline by name for the given envs.

  Example:
    >>> make_baseline('random_descending', envs, seed=1)
    <research.qtopt.baselines.RandomDescendingPolicy object at ...>

  Args:
    name: 'random', 'random_descending' (multi-step only), 'straight_down'
      or 'privileged'.
    envs: One env or the list of envs the policy will act in.
    seed: The policy's seed.

  Returns:
    The policy.

  Raises:
    ValueError: For an unknown name.
  """
  env_list = list(envs) if isinstance(envs, (list, tuple)) else [envs]
  space = env_list[0].action_space
  if name == 'random':
    return UniformRandomPolicy(space, seed)
  if name == 'random_descending':
    return RandomDescendingPolicy(space, seed)
  if name == 'straight_down':
    return StraightDownPolicy(space)
  if name == 'privileged':
    return PrivilegedExpertPolicy(env_list, seed)
  raise ValueError(
      f"Unknown baseline {name!r}; expected one of 'random', "
      "'random_descending', 'straight_down', 'privileged'.")


@gin.configurable
def bootstrap_policy(env_fn: Any = gin.REQUIRED, name: str = 'random',
                     seed: int = 0) -> policies.Policy:
  """A baseline that needs only the action space, for a flywheel's bootstrap.

  The collectors of a QT-Opt flywheel act with it before the first critic
  export exists (`run_collector.bootstrap_policy_fn`).

  Example (gin):
    run_collector.bootstrap_policy_fn = @bootstrap_policy
    bootstrap_policy.env_fn = @KukaGraspPointEnv
    bootstrap_policy.name = 'random'

  Args:
    env_fn: () -> the env the collectors run (built once for its action
      space, then closed).
    name: 'random', 'random_descending' or 'straight_down'.
    seed: The policy's seed.

  Returns:
    The policy.

  Raises:
    ValueError: For 'privileged' (it reads the live envs' simulator) or an
      unknown name.
  """
  if name == 'privileged':
    raise ValueError(
        "bootstrap_policy builds policies from the action space alone; "
        "'privileged' reads the envs' simulator: use make_baseline(name, "
        'envs) with the envs it acts in.')
  env = env_fn()
  try:
    return make_baseline(name, [env], seed)
  finally:
    env.close()
