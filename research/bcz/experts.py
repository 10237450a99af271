"""Scripted privileged experts for the BC-Z tasks, and DART-noised recording.

`ScriptedExpert(env)` reads the true object poses of a `bcz_env.BCZEnv`
(`privileged_state()`) and commands the gripper through a few waypoints per
task, by the env's own action (delta xyz, delta axis-angle, gripper):

  pick:  above the object (fingers across its narrow side), down, close,
         lift; a grasp that does not lift the object reopens and retries
  push:  close the fingers, go down behind the object (on its right), slide
         it to the left while keeping the object between the fingers' path
  reach: above the object, then down until the open fingertips hover just
         above it

Every action comes from the state reached, so the expert corrects whatever
moved the gripper off its path: that is what DART (Laskey et al. 2017)
uses. `record_demonstration(..., noise=DartNoise(...))` executes the
expert's action plus Gaussian noise but records the clean action as the
label, so the data shows how to recover from the perturbed states a learned
policy will visit.

The noise is an offset of the commanded pose, redrawn each step:
executed_t = expert_t + e_t - e_{t-1}, with e_t ~ N(0, std^2) independent.
Each step is perturbed by Gaussian noise, but the perturbations do not add
up (their sum over an episode is e_last - e_first): the actions are deltas,
so independent noise would drift the gripper like a random walk, and the
recorded clean labels, replayed open loop from the reset seed
(`t2r.data.episode_checks.replay_labels`), would then miss by the
accumulated noise. The offset is zero while the expert works close to an
object (`ScriptedExpert.noisy` is False: descending, grasping, pushing), so
the replay of the labels reaches the same poses where it matters.

Example:
  >>> env = bcz_env.BCZEnv()
  >>> expert = ScriptedExpert(env)
  >>> demo = record_demonstration(env, expert, seed=0,
  ...                             task='pick up the duck',
  ...                             noise=DartNoise(seed=0))
  >>> demo.success, demo.actions.shape == demo.executed_actions.shape
  (True, True)
"""

import dataclasses
import math
from typing import Any, Dict, Optional, Sequence, Union

import gin
import numpy as np

from research.bcz import bcz_env
from research.bcz import bcz_specs

APPROACH, DESCEND, CLOSE, LIFT, PUSH, DONE = ('approach', 'descend', 'close',
                                              'lift', 'push', 'done')
# Noise only while approaching and farther than NOISE_FREE_RADIUS from the
# approach waypoint, so that the approach can converge.
NOISY_PHASES = (APPROACH,)
NOISE_FREE_RADIUS = 0.04

# Heights of the fingertips above the object's base (metres).
HOVER_HEIGHT = 0.10
GRASP_HEIGHT = 0.02
# Above the object's top, while reaching.
REACH_HOVER_HEIGHT = 0.025
PUSH_HEIGHT = -0.005
LIFT_TO = 0.16
# The pusher starts this far to the object's right (-y) and pushes until
# the object is PUSH_OVERSHOOT past the goal.
PUSH_OFFSET = 0.09
PUSH_OVERSHOOT = 0.02
# Rotation of the closed fingers while pushing: their line along y.
PUSH_ROTATION = math.pi / 2
CLOSE_STEPS = 3
# An object that moves this much while the gripper descends was hit.
DISTURBED = 0.015
# Tolerances to move on from a waypoint.
# (The measured pose must have settled: moved less than SETTLED per step.)
TARGET_TOLERANCE = 0.004
SETTLED = 0.003
ROTATION_TOLERANCE = 0.05


def _wrap(angle: float) -> float:
  return (angle + math.pi) % (2.0 * math.pi) - math.pi


def _check_env(env: Any) -> bcz_env.BCZEnv:
  unwrapped = getattr(env, 'unwrapped', env)
  if not isinstance(unwrapped, bcz_env.BCZEnv):
    raise TypeError(f'The scripted expert needs a bcz_env.BCZEnv (it reads '
                    f'the privileged state), got {type(env).__name__}.')
  return unwrapped


@gin.configurable
class ScriptedExpert:
  """A privileged expert for every task of `bcz_env` (see the module doc).

  Call `reset()` after each `env.reset` and `action()` before each step.

  Example:
    >>> obs, info = env.reset(seed=1, options={'task': 'reach the duck'})
    >>> expert = ScriptedExpert(env); expert.reset()
    >>> obs, reward, terminated, truncated, info = env.step(expert.action())

  Args:
    env: The `BCZEnv` (or a wrapper of one) whose state the expert reads.
    speed: The largest translation per step as a fraction of the env's
      `max_translation` (room for the noise below the action bound).
    push_speed: The same while pushing (slower, to keep contact).
    straight_line: Move along the straight line to each waypoint, at most
      the step on every axis (the sideways part of a long approach is spread
      over all its steps, each showing a policy how far the object still
      is); False clips each axis on its own, which finishes the sideways
      motion in the first one or two steps and then only descends.

  Raises:
    TypeError: If `env` is not a `BCZEnv`.
    ValueError: If a speed is not in (0, 1].
  """

  def __init__(self, env: Any, speed: float = 0.8, push_speed: float = 0.6,
               straight_line: bool = True):
    self._env = _check_env(env)
    self._straight_line = bool(straight_line)
    for name, value in (('speed', speed), ('push_speed', push_speed)):
      if isinstance(value, bool) or not isinstance(
          value, (int, float)) or not 0.0 < value <= 1.0:
        raise ValueError(f'{name} must be a fraction in (0, 1], got '
                         f'{value!r}.')
    self._step = speed * self._env.max_translation
    self._push_step = push_speed * self._env.max_translation
    self._rotation_step = speed * self._env.max_rotation
    self.reset()

  def reset(self):
    """Starts a new episode (call after `env.reset`)."""
    self.phase = APPROACH
    self._phase_steps = 0
    self._lift_start: Optional[np.ndarray] = None
    self._lift_gripper_z = 0.0
    self._previous_gripper: Optional[np.ndarray] = None
    self._distance_to_waypoint = np.inf

  @property
  def noisy(self) -> bool:
    """Whether the gripper is far from objects and waypoints (for noise)."""
    return self.phase in NOISY_PHASES and (
        self._distance_to_waypoint > NOISE_FREE_RADIUS)

  def _set_phase(self, phase: str):
    self.phase = phase
    self._phase_steps = 0

  def _grasp_rotation(self, state: Dict[str, Any], name: str) -> float:
    """The finger rotation across the object closest to the current one."""
    obj = next(o for o in bcz_env.OBJECTS if o.name == name)
    base = state['object_yaws'][name] + obj.grasp_yaw
    current = state['target'][3]
    turns = round(_wrap(current - base) / obj.symmetry)
    return base + turns * obj.symmetry

  def _at(self, state: Dict[str, Any], waypoint: np.ndarray,
          rotation: float) -> bool:
    target, moved = state['target'], state['gripper_moved']
    return bool(
        np.all(np.abs(target[:3] - waypoint) < TARGET_TOLERANCE) and
        moved < SETTLED and
        abs(_wrap(target[3] - rotation)) < ROTATION_TOLERANCE)

  def _command(self, state: Dict[str, Any], waypoint: np.ndarray,
               rotation: float, gripper: float,
               step: Optional[float] = None) -> np.ndarray:
    target = state['target']
    self._distance_to_waypoint = float(np.linalg.norm(waypoint - target[:3]))
    step = self._step if step is None else step
    delta = waypoint - target[:3]
    largest = float(np.abs(delta).max())
    if largest > step:
      delta = (delta * (step / largest) if self._straight_line else
               np.clip(delta, -step, step))
    turn = float(np.clip(_wrap(rotation - target[3]), -self._rotation_step,
                         self._rotation_step))
    action = np.zeros(bcz_specs.POSE_SIZE, np.float32)
    action[bcz_specs.XYZ] = delta
    action[5] = turn
    action[bcz_specs.GRIPPER] = gripper
    return action

  def action(self) -> np.ndarray:
    """The clean action from the env's current state (advances the phase).

    Returns:
      (7,) float32: delta xyz, delta axis-angle (0, 0, dyaw), gripper.

    Raises:
      RuntimeError: Before the env's first reset.
    """
    state = self._env.privileged_state()
    task = state['task']
    if task is None:
      raise RuntimeError('ScriptedExpert.action called before env.reset().')
    self._phase_steps += 1
    gripper = state['gripper'][:3]
    state['gripper_moved'] = (np.inf if self._previous_gripper is None else
                              np.abs(gripper - self._previous_gripper).max())
    self._previous_gripper = gripper.copy()
    if task.kind == bcz_env.PICK:
      return self._pick(state, task.object_name)
    if task.kind == bcz_env.PUSH_LEFT:
      return self._push(state, task.object_name)
    return self._reach(state, task.object_name)

  def _above(self, state, name, height) -> np.ndarray:
    x, y, z = state['object_positions'][name]
    return np.array([x, y, z + bcz_env.FINGERTIP_OFFSET + height])

  def _pick(self, state, name) -> np.ndarray:
    if self.phase == APPROACH:
      rotation = self._grasp_rotation(state, name)
      waypoint = self._above(state, name, HOVER_HEIGHT)
      if not self._at(state, waypoint, rotation):
        return self._command(state, waypoint, rotation, 0.0)
      self._set_phase(DESCEND)
      self._grasp = (self._above(state, name, GRASP_HEIGHT), rotation,
                     state['object_positions'][name].copy())
    if self.phase == DESCEND:
      waypoint, rotation, seen = self._grasp
      if np.linalg.norm(state['object_positions'][name] - seen) > DISTURBED:
        # The fingers hit the object on the way down: start over above it.
        self._set_phase(APPROACH)
        return self._command(state, state['target'][:3] + [0, 0, 0.04],
                             state['target'][3], 0.0)
      if self._at(state, waypoint, rotation):
        self._set_phase(CLOSE)
      else:
        return self._command(state, waypoint, rotation, 0.0)
    held = state['target'][:3]
    if self.phase == CLOSE:
      if self._phase_steps <= CLOSE_STEPS:
        return self._command(state, held, state['target'][3], 1.0)
      self._set_phase(LIFT)
      self._lift_start = state['object_positions'][name].copy()
      self._lift_gripper_z = state['gripper'][2]
    # LIFT: up; if the object stays behind, let go and try again.
    rise = state['object_positions'][name][2] - self._lift_start[2]
    gripper_rise = state['gripper'][2] - self._lift_gripper_z
    if gripper_rise > 0.05 and rise < gripper_rise - 0.04:
      self._set_phase(APPROACH)
      return self._command(state, held, state['target'][3], 0.0)
    waypoint = held.copy()
    waypoint[2] = (self._lift_start[2] + bcz_env.FINGERTIP_OFFSET +
                   LIFT_TO)
    return self._command(state, waypoint, state['target'][3], 1.0)

  def _push(self, state, name) -> np.ndarray:
    start = state['initial_positions'][name]
    x, y, _ = state['object_positions'][name]
    if self.phase == APPROACH:
      waypoint = self._above(state, name, HOVER_HEIGHT)
      waypoint[1] -= PUSH_OFFSET
      if self._at(state, waypoint, PUSH_ROTATION) and (
          state['closure'] >= 1.0):
        self._set_phase(DESCEND)
      else:
        return self._command(state, waypoint, PUSH_ROTATION, 1.0)
    if self.phase == DESCEND:
      waypoint = self._above(state, name, PUSH_HEIGHT)
      waypoint[1] -= PUSH_OFFSET
      if self._at(state, waypoint, PUSH_ROTATION):
        self._set_phase(PUSH)
      else:
        return self._command(state, waypoint, PUSH_ROTATION, 1.0)
    # PUSH: left along the object's line until it is past the goal.
    waypoint = state['target'][:3].copy()
    waypoint[0] = x
    if y - start[1] < bcz_env.PUSH_DISTANCE + PUSH_OVERSHOOT:
      waypoint[1] += self._push_step
    return self._command(state, waypoint, PUSH_ROTATION, 1.0,
                         step=self._push_step)

  def _reach(self, state, name) -> np.ndarray:
    rotation = self._grasp_rotation(state, name)
    if self.phase == APPROACH:
      waypoint = self._above(state, name, HOVER_HEIGHT)
      if self._at(state, waypoint, rotation):
        self._set_phase(DESCEND)
      else:
        return self._command(state, waypoint, rotation, 0.0)
    top = next(o.top for o in bcz_env.OBJECTS if o.name == name)
    return self._command(
        state, self._above(state, name, top + REACH_HOVER_HEIGHT), rotation,
        0.0)


# The action entries DART perturbs: delta xyz and the vertical rotation.
_PERTURBED = [0, 1, 2, 5]


def _non_negative(name: str, value: float) -> float:
  if isinstance(value, bool) or not isinstance(
      value, (int, float, np.number)) or not (math.isfinite(value) and
                                               value >= 0):
    raise ValueError(f'{name} must be a number >= 0, got {value!r}.')
  return float(value)


class DartNoise:
  """DART's injected noise: offsets of the commanded pose (module doc).

  Example:
    >>> noise = DartNoise(translation_std=0.01, rotation_std=0.05, seed=0)
    >>> noise.reset()
    >>> executed = noise.perturb(expert.action(), expert.noisy)

  Args:
    translation_std: Std of the offset per axis, metres.
    rotation_std: Std of the rotation offset about the vertical, radians.
    seed: Seeds the noise (an int or a sequence of ints).

  Raises:
    ValueError: For a negative or non-finite std.
  """

  def __init__(self, translation_std: float = 0.01,
               rotation_std: float = 0.05,
               seed: Optional[Union[int, Sequence[int]]] = None):
    self.translation_std = _non_negative('translation_std', translation_std)
    self.rotation_std = _non_negative('rotation_std', rotation_std)
    self._rng = np.random.default_rng(seed)
    self.reset()

  def reset(self):
    """Starts an episode: no offset."""
    self._offset = np.zeros(4)

  @property
  def offset(self) -> np.ndarray:
    """The current offset (x, y, z, rotation) of the commanded pose."""
    return self._offset.copy()

  def perturb(self, action: np.ndarray, noisy: bool = True,
              low: Optional[np.ndarray] = None,
              high: Optional[np.ndarray] = None) -> np.ndarray:
    """The action to execute: `action` moved by the change of the offset.

    With bounds, the executed action is clipped to them and the offset
    keeps what was executed (a clipped return to zero finishes later), so
    the executed actions always sum to the labels' sum plus the offset.

    Args:
      action: The expert's (7,) action.
      noisy: Draw a new offset (True) or return to none (False).
      low: The action space's lower bounds, or None.
      high: Its upper bounds, or None.

    Returns:
      (7,) float32; the gripper entry is never perturbed.
    """
    draw = self._rng.standard_normal(4) * np.array(
        [self.translation_std] * 3 + [self.rotation_std])
    offset = draw if noisy else np.zeros(4)
    change = offset - self._offset
    clean = np.array(action, np.float32)
    executed = clean.copy()
    executed[_PERTURBED] += change.astype(np.float32)
    if low is not None or high is not None:
      executed = np.clip(executed, low, high).astype(np.float32)
    self._offset += executed[_PERTURBED] - clean[_PERTURBED]
    return executed


@dataclasses.dataclass
class Demonstration:
  """One recorded episode.

  Attributes:
    task: The task text.
    reset_seed: The `env.reset` seed.
    images: (T, H, W, 3) uint8, the frame before each step.
    proprioception: (T, 7) float32, the pose before each step.
    actions: (T, 7) the labels: the expert's clean actions.
    executed_actions: (T, 7) what was executed (labels plus noise).
    success: The episode ended in success.
    target_positions: (T, 3) world xyz of the task's object before each
      step (privileged: an auxiliary label), or None.
  """
  task: str
  reset_seed: int
  images: np.ndarray
  proprioception: np.ndarray
  actions: np.ndarray
  executed_actions: np.ndarray
  success: bool
  target_positions: Optional[np.ndarray] = None

  @property
  def num_steps(self) -> int:
    return len(self.actions)

  def to_episode(self, table: bcz_specs.TaskTable):
    """The `bcz_specs.make_episode` (features, labels) of this demo."""
    return bcz_specs.make_episode(
        self.images, self.proprioception, self.actions,
        reset_seed=int(self.reset_seed),
        target_positions=self.target_positions, **table.context(self.task))


def record_demonstration(env: Any, expert: ScriptedExpert, seed: int,
                         task: str,
                         noise: Optional[DartNoise] = None) -> Demonstration:
  """Runs the expert for one episode and records it.

  Example:
    >>> demo = record_demonstration(env, ScriptedExpert(env), seed=4,
    ...                             task='push the blue block to the left')

  Args:
    env: The `BCZEnv` the expert reads.
    expert: Its `ScriptedExpert`.
    seed: The reset seed.
    task: The task text.
    noise: DART noise added to the executed actions, or None.

  Returns:
    The `Demonstration` (labels: the clean expert actions).

  Raises:
    ValueError: For an unknown task or a bad seed.
  """
  if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or (
      seed < 0):
    raise ValueError(f'seed must be an int >= 0, got {seed!r}.')
  obs, _ = env.reset(seed=int(seed), options={'task': task})
  expert.reset()
  if noise is not None:
    noise.reset()
  images, poses, labels, executed, targets = [], [], [], [], []
  object_name = bcz_env.parse_task(task).object_name
  terminated = truncated = False
  info = {'success': False}
  while not (terminated or truncated):
    label = expert.action()
    action = label if noise is None else noise.perturb(
        label, expert.noisy, env.action_space.low, env.action_space.high)
    images.append(obs['image'])
    poses.append(obs['proprioception'])
    targets.append(env.privileged_state()['object_positions'][object_name])
    labels.append(label)
    executed.append(action)
    obs, _, terminated, truncated, info = env.step(action)
  return Demonstration(task, int(seed), np.stack(images), np.stack(poses),
                       np.stack(labels).astype(np.float32),
                       np.stack(executed).astype(np.float32),
                       bool(info['success']),
                       np.stack(targets).astype(np.float32))
