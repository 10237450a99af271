"""Vision-based grasping in the KUKA scene: QT-Opt's task as gymnasium envs.

Two variants share the scene (`research.kuka_scene`), the observations and
the grasp at the end of the episode:

  - `KukaGraspMultiStepEnv` ('t2r/KukaGraspMultiStep-v0'): closed-loop
    control as in Quillen et al. 2018 and QT-Opt. `max_steps` steps (8) of
    (dx, dy, dz, dyaw) in [-1, 1]^4, scaled to 0.06 m and 0.25 rad and each
    held for 80 physics substeps; after the last step the gripper closes and
    lifts 0.5 m. Optionally a fifth action entry, QT-Opt's *terminate*:
    positive closes the gripper at once.
  - `KukaGraspPointEnv` ('t2r/KukaGraspPoint-v0'): one decision. The action
    is the grasp point (x, y, yaw) of the end effector; the gripper moves
    above it, descends, closes and lifts.

The reward is 1 when, after the lift, any object's base is above z = 0.2
(`info['success']`), else 0; intermediate steps give 0.

Observation (a dict): 'image' the camera image ((64, 64, 3) uint8 by
default; `image_size=(512, 640)` for the full QT-Opt input), 'gripper_pose'
the measured end-effector (x, y, z, yaw) as float32, and 'time_to_go' the
fraction of the episode's steps left, float32 (1,) (1 at the start).
`info` holds privileged state that the observation hides, for scripted
experts and analysis: 'object_positions' (num_objects, 3) float32,
'gripper_target' the commanded (x, y, z, yaw), 'step', 'num_lifted' and
'success'. `env.unwrapped.privileged_state()` returns the same and more.

The same seed gives the same scene, images and rewards, byte for byte.
"""

import math
from typing import Any, Dict, Optional, Sequence, Tuple, Union

import gin
import gymnasium
from gymnasium import spaces
import numpy as np

import research.qtopt
from research.kuka_scene import camera as camera_lib
from research.kuka_scene import randomization as randomization_lib
from research.kuka_scene import scene as scene_lib

Observation = Dict[str, np.ndarray]
ImageSize = scene_lib.ImageSize

# `gymnasium.make(MULTI_STEP_ENV_ID)` builds a `KukaGraspMultiStepEnv` and
# `gymnasium.make(GRASP_POINT_ENV_ID)` a `KukaGraspPointEnv` (keyword args
# pass through); the package registers them.
MULTI_STEP_ENV_ID = research.qtopt.MULTI_STEP_ENV_ID
GRASP_POINT_ENV_ID = research.qtopt.GRASP_POINT_ENV_ID

# Where the multi-step commanded end-effector target may go.
DEFAULT_WORKSPACE_LOW = (0.35, -0.25, 0.02)
DEFAULT_WORKSPACE_HIGH = (0.75, 0.25, 0.55)
# The grasp-point action box: (x, y, yaw).
DEFAULT_GRASP_POINT_LOW = (0.4, -0.15, -math.pi / 2)
DEFAULT_GRASP_POINT_HIGH = (0.7, 0.15, math.pi / 2)


def _count(name: str, value: int, minimum: int) -> int:
  if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or (
      value < minimum):
    raise ValueError(f'{name} must be an int >= {minimum}, got {value!r}.')
  return int(value)


def _positive(name: str, value: float) -> float:
  if isinstance(value, bool) or not isinstance(
      value, (int, float, np.number)) or not (math.isfinite(value) and
                                               value > 0):
    raise ValueError(f'{name} must be a positive number, got {value!r}.')
  return float(value)


def _bounds(name: str, low: Sequence[float], high: Sequence[float],
            size: int) -> Tuple[np.ndarray, np.ndarray]:
  try:
    low = np.asarray(low, np.float64)
    high = np.asarray(high, np.float64)
  except (TypeError, ValueError) as e:
    raise ValueError(f'{name} bounds must be numbers, got {low!r} and '
                     f'{high!r}.') from e
  if low.shape != (size,) or high.shape != (size,) or not (
      np.all(np.isfinite(low)) and np.all(np.isfinite(high)) and
      np.all(low < high)):
    raise ValueError(
        f'{name} needs low and high of {size} finite numbers with low < high '
        f'everywhere, got low={low.tolist()!r} and high={high.tolist()!r}.')
  return low, high


@gin.configurable
class KukaGraspEnv(gymnasium.Env):
  """The shared part of the grasping envs; use a subclass.

  Args:
    image_size: The observation image's (height, width), or one int for a
      square image.
    object_split: 'train' or 'test' objects (`research.kuka_scene.objects`).
    num_objects: Objects in the tray.
    randomization: Domain randomization: 'none', 'randomized', 'shifted' or
      a `DomainRandomization`.
    settle_substeps: Physics substeps after dropping each object.
    close_substeps: Substeps to close the gripper (closed after 100).
    lift_height: How far the gripper lifts after closing, metres.
    lift_substeps: Substeps of the lift.
    success_height: An object whose base is above this z after the lift
      counts as grasped.
    camera: The nominal camera pose (default `CameraPose()`).
    render_mode: None or 'rgb_array' (`render()` returns the last image).

  Raises:
    ValueError: For a bad argument (the message names it).
  """

  metadata = {'render_modes': ['rgb_array'], 'render_fps': 4}

  def __init__(self,
               image_size: ImageSize = 64,
               object_split: str = 'train',
               num_objects: int = 5,
               randomization: Union[
                   str, randomization_lib.DomainRandomization, None] = 'none',
               settle_substeps: int = 150,
               close_substeps: int = 150,
               lift_height: float = 0.5,
               lift_substeps: int = 250,
               success_height: float = 0.2,
               camera: Optional[camera_lib.CameraPose] = None,
               render_mode: Optional[str] = None):
    self._height, self._width = scene_lib.as_image_size(image_size)
    self._close_substeps = _count('close_substeps', close_substeps, 1)
    self._lift_height = _positive('lift_height', lift_height)
    self._lift_substeps = _count('lift_substeps', lift_substeps, 1)
    if isinstance(success_height, bool) or not isinstance(
        success_height, (int, float)) or not math.isfinite(success_height):
      raise ValueError(f'success_height must be a finite number, got '
                       f'{success_height!r}.')
    self._success_height = float(success_height)
    if render_mode not in (None, *self.metadata['render_modes']):
      raise ValueError(
          f'render_mode must be None or one of '
          f'{self.metadata["render_modes"]}, got {render_mode!r}.')
    self.render_mode = render_mode
    self.observation_space = spaces.Dict({
        'image': spaces.Box(0, 255, (self._height, self._width, 3), np.uint8),
        'gripper_pose': spaces.Box(-np.inf, np.inf, (4,), np.float32),
        'time_to_go': spaces.Box(0.0, 1.0, (1,), np.float32),
    })
    self.scene = scene_lib.KukaScene(
        object_split=object_split, num_objects=num_objects,
        randomization=randomization, camera=camera,
        settle_substeps=settle_substeps)
    self._step_count = 0
    self._episode_over = True
    self._image = None
    self._success = False
    self._num_lifted = 0

  @property
  def image_size(self) -> Tuple[int, int]:
    """The observation image's (height, width)."""
    return self._height, self._width

  @property
  def max_steps(self) -> int:
    """Steps per episode (the last one grasps)."""
    raise NotImplementedError

  @property
  def object_split(self) -> str:
    return self.scene.object_split

  # Episode mechanics.

  def _observation(self) -> Observation:
    self._image = self.scene.render(self._height, self._width)
    time_to_go = (self.max_steps - self._step_count) / self.max_steps
    return {
        'image': self._image.copy(),
        'gripper_pose': self.scene.gripper_pose().astype(np.float32),
        'time_to_go': np.array([time_to_go], np.float32),
    }

  def privileged_state(self) -> Dict[str, np.ndarray]:
    """What the simulator knows and the camera may not show.

    Example:
      >>> env.unwrapped.privileged_state()['object_centers'].shape
      (5, 3)

    Returns:
      'object_positions' (n, 3) base positions; from the collision meshes:
      'object_centers' (n, 3) and 'object_extents' (n, 3) of the tight
      axis-aligned boxes, 'object_minor_axes' (n,) the world angle (radians,
      in [-pi/2, pi/2)) of each footprint's narrow principal axis;
      'gripper_target' the commanded (x, y, z, yaw) and 'steps_left'.
    """
    vertices = self.scene.object_vertices()
    low = np.array([v.min(axis=0) for v in vertices])
    high = np.array([v.max(axis=0) for v in vertices])
    minor_axes = []
    for v in vertices:
      xy = v[:, :2] - v[:, :2].mean(axis=0)
      _, eigenvectors = np.linalg.eigh(xy.T @ xy)
      minor = eigenvectors[:, 0]  # The smallest eigenvalue's vector.
      angle = math.atan2(minor[1], minor[0])
      minor_axes.append((angle + math.pi / 2) % math.pi - math.pi / 2)
    return {
        'object_positions': self.scene.object_positions(),
        'object_centers': (low + high) / 2,
        'object_extents': high - low,
        'object_minor_axes': np.array(minor_axes),
        'gripper_target': np.array([*self.scene.target_position,
                                    self.scene.target_yaw]),
        'steps_left': np.array(self.max_steps - self._step_count),
    }

  def _info(self) -> Dict[str, Any]:
    return {
        'object_positions': self.scene.object_positions().astype(np.float32),
        'gripper_target': np.array(
            [*self.scene.target_position, self.scene.target_yaw], np.float32),
        'step': self._step_count,
        'num_lifted': self._num_lifted,
        'success': self._success,
    }

  def reset(self,
            *,
            seed: Optional[int] = None,
            options: Optional[Dict[str, Any]] = None
           ) -> Tuple[Observation, Dict[str, Any]]:
    """Drops new objects into the tray and returns the first observation.

    Args:
      seed: Reseeds the env (same seed, same episode).
      options: Unused; must be empty.

    Returns:
      (observation, info).

    Raises:
      ValueError: For options.
    """
    if options:
      raise ValueError(f'{type(self).__name__}.reset takes no options, got '
                       f'{options!r}.')
    super().reset(seed=seed)
    self.scene.reset(int(self.np_random.integers(2**63 - 1)))
    self._step_count = 0
    self._success = False
    self._num_lifted = 0
    self._episode_over = False
    return self._observation(), self._info()

  def _check_action(self, action: Any) -> np.ndarray:
    if self._episode_over:
      raise RuntimeError(f'{type(self).__name__}.step called on a finished '
                         'episode; call reset() first.')
    try:
      action = np.asarray(action, np.float64)
    except (TypeError, ValueError) as e:
      raise ValueError(f'{type(self).__name__}.step expects '
                       f'{self.action_space.shape[0]} numbers, got '
                       f'{action!r}.') from e
    if action.shape != self.action_space.shape or not np.all(
        np.isfinite(action)):
      raise ValueError(
          f'{type(self).__name__}.step expects {self.action_space.shape[0]} '
          f'finite numbers (action space {self.action_space}), got '
          f'{action!r} (shape {action.shape}).')
    return np.clip(action, self.action_space.low, self.action_space.high)

  def _grasp(self) -> float:
    """Closes, lifts and scores; ends the episode. Returns the reward."""
    self.scene.close_gripper(self._close_substeps)
    self.scene.lift(self._lift_height, self._lift_substeps)
    self._num_lifted = self.scene.num_objects_above(self._success_height)
    self._success = self._num_lifted > 0
    self._episode_over = True
    return float(self._success)

  def render(self) -> Optional[np.ndarray]:
    """The last observation image for render_mode 'rgb_array', else None."""
    if self.render_mode != 'rgb_array' or self._image is None:
      return None
    return self._image.copy()

  def close(self):
    """Releases the physics client; safe to call twice."""
    self.scene.close()


@gin.configurable
class KukaGraspMultiStepEnv(KukaGraspEnv):
  """Closed-loop grasping: 8 relative moves of the gripper, then a grasp.

  Action: (dx, dy, dz, dyaw) in [-1, 1]^4 (values outside are clipped),
  scaled by `translation_scale` metres and `rotation_scale` radians and
  added to the commanded end-effector target (kept inside the workspace
  box); with `terminate_action` a fifth entry > 0 grasps now. Each step
  holds the target for `action_repeat` substeps of 1/240 s. The step that
  grasps ends the episode (terminated=True) with reward 1 on success.

  Example:
    >>> env = KukaGraspMultiStepEnv(object_split='test')
    >>> obs, info = env.reset(seed=0)
    >>> sorted(obs), obs['image'].shape
    (['gripper_pose', 'image', 'time_to_go'], (64, 64, 3))
    >>> for _ in range(8):
    ...   obs, reward, terminated, truncated, info = env.step([0, 0, -1, 0])
    >>> terminated, reward == float(info['success'])
    (True, True)

  Args:
    max_steps: Steps per episode; the gripper closes after the last.
    action_repeat: Substeps per step.
    translation_scale: Metres per unit of dx, dy, dz.
    rotation_scale: Radians per unit of dyaw.
    terminate_action: Add QT-Opt's terminate entry (grasp now if > 0).
    workspace_low: Lowest commanded (x, y, z) of the end effector.
    workspace_high: Highest commanded (x, y, z).
    **kwargs: `KukaGraspEnv` arguments (image_size, object_split,
      randomization, ...).

  Raises:
    ValueError: For a bad argument (the message names it).
  """

  def __init__(self,
               max_steps: int = 8,
               action_repeat: int = 80,
               translation_scale: float = 0.06,
               rotation_scale: float = 0.25,
               terminate_action: bool = False,
               workspace_low: Sequence[float] = DEFAULT_WORKSPACE_LOW,
               workspace_high: Sequence[float] = DEFAULT_WORKSPACE_HIGH,
               **kwargs):
    self._max_steps = _count('max_steps', max_steps, 1)
    self._action_repeat = _count('action_repeat', action_repeat, 1)
    self._translation_scale = _positive('translation_scale',
                                        translation_scale)
    self._rotation_scale = _positive('rotation_scale', rotation_scale)
    if not isinstance(terminate_action, (bool, np.bool_)):
      raise ValueError(f'terminate_action must be a bool, got '
                       f'{terminate_action!r}.')
    self.terminate_action = bool(terminate_action)
    self._workspace = _bounds('workspace', workspace_low, workspace_high, 3)
    super().__init__(**kwargs)
    size = 5 if self.terminate_action else 4
    self.action_space = spaces.Box(-1.0, 1.0, (size,), np.float32)

  @property
  def max_steps(self) -> int:
    return self._max_steps

  def step(self, action: Any
          ) -> Tuple[Observation, float, bool, bool, Dict[str, Any]]:
    """Moves the gripper target by the action; grasps after the last step.

    Args:
      action: (dx, dy, dz, dyaw[, terminate]).

    Returns:
      (observation, reward, terminated, truncated=False, info).

    Raises:
      ValueError: For an action of the wrong shape or with NaN/inf.
      RuntimeError: If the episode is over.
    """
    action = self._check_action(action)
    scene = self.scene
    target = scene.target_position + action[:3] * self._translation_scale
    target = np.clip(target, *self._workspace)
    yaw = scene.target_yaw + action[3] * self._rotation_scale
    scene.move_gripper(target, yaw)
    scene.step(self._action_repeat)
    self._step_count += 1
    reward = 0.0
    if self._step_count >= self._max_steps or (self.terminate_action and
                                               action[4] > 0):
      reward = self._grasp()
    return self._observation(), reward, self._episode_over, False, (
        self._info())


@gin.configurable
class KukaGraspPointEnv(KukaGraspEnv):
  """Open-loop grasping: choose one grasp point; descend, close and lift.

  Action: the end effector's (x, y, yaw) in the box [action_low,
  action_high] (values outside are clipped). The gripper moves above the
  point at `hover_height`, descends to `grasp_height`, closes and lifts.
  Every episode is one step (terminated=True).

  Example:
    >>> env = KukaGraspPointEnv(object_split='test')
    >>> obs, info = env.reset(seed=0)
    >>> x, y = info['object_positions'][0, :2]
    >>> _, reward, terminated, _, info = env.step([x, y, 0.0])
    >>> terminated
    True

  Args:
    action_low: The lowest (x, y, yaw); default (0.4, -0.15, -pi/2).
    action_high: The highest (x, y, yaw); default (0.7, 0.15, pi/2).
    hover_height: End-effector z above the grasp point before descending.
    grasp_height: End-effector z to close at (the tray floor is about
      -0.18; the fingertips reach about 0.18 below the end effector).
    approach_substeps: Substeps to move above the grasp point.
    descent_substeps: Substeps to descend.
    joint_velocity: The arm joints' velocity cap (rad/s) while approaching
      and descending; faster than the multi-step moves, whose steps are
      short.
    **kwargs: `KukaGraspEnv` arguments.

  Raises:
    ValueError: For a bad argument (the message names it).
  """

  def __init__(self,
               action_low: Sequence[float] = DEFAULT_GRASP_POINT_LOW,
               action_high: Sequence[float] = DEFAULT_GRASP_POINT_HIGH,
               hover_height: float = 0.25,
               grasp_height: float = 0.03,
               approach_substeps: int = 120,
               descent_substeps: int = 120,
               joint_velocity: float = 1.0,
               **kwargs):
    low, high = _bounds('action_low/action_high', action_low, action_high, 3)
    for name, value in (('hover_height', hover_height),
                        ('grasp_height', grasp_height)):
      if isinstance(value, bool) or not isinstance(
          value, (int, float)) or not math.isfinite(value):
        raise ValueError(f'{name} must be a finite number, got {value!r}.')
    if not grasp_height < hover_height:
      raise ValueError(f'grasp_height ({grasp_height!r}) must be below '
                       f'hover_height ({hover_height!r}).')
    self._hover_height = float(hover_height)
    self._grasp_height = float(grasp_height)
    self._approach_substeps = _count('approach_substeps', approach_substeps,
                                     1)
    self._descent_substeps = _count('descent_substeps', descent_substeps, 1)
    self._joint_velocity = _positive('joint_velocity', joint_velocity)
    super().__init__(**kwargs)
    self.action_space = spaces.Box(low.astype(np.float32),
                                   high.astype(np.float32), dtype=np.float32)

  @property
  def max_steps(self) -> int:
    return 1

  def step(self, action: Any
          ) -> Tuple[Observation, float, bool, bool, Dict[str, Any]]:
    """Grasps at the action's (x, y, yaw); the episode ends.

    Args:
      action: (x, y, yaw) of the end effector.

    Returns:
      (observation, reward, terminated=True, truncated=False, info).

    Raises:
      ValueError: For an action of the wrong shape or with NaN/inf.
      RuntimeError: If the episode is over.
    """
    x, y, yaw = self._check_action(action)
    scene = self.scene
    scene.move_gripper_linearly((x, y, self._hover_height), yaw,
                                self._approach_substeps,
                                max_velocity=self._joint_velocity)
    scene.move_gripper_linearly((x, y, self._grasp_height), yaw,
                                self._descent_substeps,
                                max_velocity=self._joint_velocity)
    self._step_count = 1
    reward = self._grasp()
    return self._observation(), reward, True, False, self._info()
