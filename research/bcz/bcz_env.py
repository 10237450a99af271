"""BC-Z's tasks in the KUKA scene: a multi-task, language-named gymnasium env.

Three objects lie in the tray of `research.kuka_scene` in every episode (a
red block, a blue block and a duck, at random non-overlapping poses), so a
policy has to read the task text to know which object to act on. The tasks
(`TASKS`) combine a verb with an object:

  'pick up the <object>'           lift it 8 cm above where it lay
  'push the <object> to the left'  slide it 8 cm to the image's left (+y)
                                   without lifting it
  'reach the <object>'             bring the open fingertips to within 3 cm
                                   (horizontally) and 5 cm above its top

Observation (a dict, `bcz_specs` layout): 'image' the (64, 64, 3) uint8
camera frame and 'proprioception' (7,) float32: the end effector's measured
xyz, its rotation from the home orientation as an axis-angle vector (the
gripper always points down, so this is (0, 0, yaw), a rotation about the
world vertical), and the gripper closure in [0, 1] (commanded; 1 closed).

Action (7,): delta xyz (metres, at most `max_translation` per axis), delta
axis-angle (only the vertical component turns the gripper, at most
`max_rotation` radians; the others are ignored since the gripper cannot
tilt) and the gripper target in [0, 1] (>= 0.5 closes, below opens). The
deltas move the commanded end-effector target, which the arm follows by IK
for `substeps` physics substeps of 1/240 s (48: 5 Hz control).

Reward 1 and `terminated` when the task succeeds (from privileged state,
`info['success']`); `truncated` after `max_steps` steps. The task comes
from `reset(options={'task': text})`, else the env's `task`, else it is
drawn from the seed. The initial state depends on the seed only, not on the
task: the same seed gives the same layout for every task, and the same
images and motions, byte for byte.

Example:
  >>> env = BCZEnv()
  >>> obs, info = env.reset(seed=3, options={'task': 'pick up the duck'})
  >>> obs['image'].shape, obs['proprioception'].shape, info['task']
  ((64, 64, 3), (7,), 'pick up the duck')
  >>> obs, reward, terminated, truncated, info = env.step(np.zeros(7))
"""

import dataclasses
import math
import os
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple, Union

import gin
import gymnasium
from gymnasium import spaces
import numpy as np
import pybullet_data

from research.bcz import bcz_specs
from research.kuka_scene import camera as camera_lib
from research.kuka_scene import randomization as randomization_lib
from research.kuka_scene import scene as scene_lib

Observation = Dict[str, np.ndarray]
_count = scene_lib.check_count
_positive = scene_lib.check_positive

PICK, PUSH_LEFT, REACH = 'pick', 'push_left', 'reach'
KINDS = (PICK, PUSH_LEFT, REACH)
_TEMPLATES = {PICK: 'pick up the {}', PUSH_LEFT: 'push the {} to the left',
              REACH: 'reach the {}'}

# Seeds of the initial states: demonstrations for training and for the
# offline eval loss, and closed-loop evaluation, from disjoint ranges.
SEED_STARTS = {'train': 0, 'eval': 1_000_000, 'test': 2_000_000}
SEEDS_PER_TASK = 100_000

# Geometry (metres): the tray floor; how far the fingertip links are below the
# commanded end-effector target (link 6's frame) and below its measured
# position (`KukaScene.gripper_pose`: link 6's centre of mass, 2 cm lower).
FLOOR_Z = -0.184
FINGERTIP_OFFSET = 0.242
MEASURED_FINGERTIP_OFFSET = 0.222
# Objects lie in this box of the tray, at least MIN_SEPARATION apart.
LAYOUT_X = (0.46, 0.64)
LAYOUT_Y = (-0.12, 0.12)
MIN_SEPARATION = 0.11
# An object that is pushed keeps this corridor to its left (+y) free and
# starts at most PUSH_MAX_Y, so that it does not hit the tray wall.
PUSH_CORRIDOR = (0.07, 0.22)   # (half width in x, length in y)
PUSH_MAX_Y = 0.06
# Success thresholds.
LIFT_HEIGHT = 0.08
PUSH_DISTANCE = 0.08
PUSH_MAX_RISE = 0.03
REACH_RADIUS = 0.03
REACH_HEIGHT = 0.05

DEFAULT_WORKSPACE_LOW = (0.35, -0.3, 0.03)
DEFAULT_WORKSPACE_HIGH = (0.8, 0.35, 0.55)


@dataclasses.dataclass(frozen=True)
class SceneObject:
  """One object of the BC-Z scene.

  Attributes:
    name: How the task text names it ('red block').
    urdf: The URDF file, relative to pybullet_data.
    rgba: Its colour, or None for the URDF's.
    grasp_yaw: The world rotation about the vertical (relative to the
      object's yaw) at which the fingers close across its narrow side.
    symmetry: Its footprint looks the same after turning by this angle
      (pi / 2 for a block), so the expert turns the gripper the least.
    roll: The roll that stands the mesh upright.
    top: The height of its top above its base position (metres).
  """
  name: str
  urdf: str
  rgba: Optional[Tuple[float, float, float, float]]
  grasp_yaw: float = 0.0
  symmetry: float = math.pi
  roll: float = 0.0
  top: float = 0.025

  @property
  def path(self) -> str:
    return os.path.join(pybullet_data.getDataPath(), self.urdf)


OBJECTS = (
    SceneObject('red block', 'cube_small.urdf', (0.9, 0.1, 0.1, 1.0),
                symmetry=math.pi / 2),
    SceneObject('blue block', 'cube_small.urdf', (0.1, 0.2, 0.9, 1.0),
                symmetry=math.pi / 2),
    # The duck is modelled with y up; standing, it is 8 cm long (its x) and
    # 6 cm wide.
    SceneObject('duck', 'duck_vhacd.urdf', None, grasp_yaw=math.pi / 2,
                roll=math.pi / 2, top=0.062),
)
OBJECT_NAMES = tuple(o.name for o in OBJECTS)


@dataclasses.dataclass(frozen=True)
class Task:
  """A task: a verb (`KINDS`) applied to an object of `OBJECTS`."""
  kind: str
  object_name: str

  @property
  def text(self) -> str:
    return _TEMPLATES[self.kind].format(self.object_name)


def parse_task(text: str) -> Task:
  """The `Task` a text names, e.g. 'push the blue block to the left'.

  Raises:
    ValueError: If the text is no verb template applied to a scene object.
  """
  for kind in KINDS:
    for name in OBJECT_NAMES:
      if _TEMPLATES[kind].format(name) == text:
        return Task(kind, name)
  known = [_TEMPLATES[k].format('<object>') for k in KINDS]
  raise ValueError(f'Unknown task {text!r}; a task is one of {known} with '
                   f'<object> one of {list(OBJECT_NAMES)}.')


# The default task set: every object and verb appears, in two combinations
# or more, so both words matter.
TASKS = ('pick up the red block', 'pick up the duck',
         'push the blue block to the left', 'reach the blue block',
         'reach the duck')


def tasks_with_standard_ids(tasks: Sequence[str] = ()) -> Tuple[str, ...]:
  """`TASKS`, then those of `tasks` not among them: for a job on a subset.

  An env's task table numbers its tasks in order, and the task index picks
  each split's initial states (`initial_state_seeds`). A job that collects
  or scores some tasks only builds its env with these, so that each standard
  task keeps its id and its states whichever subset a job (or each of
  several jobs run side by side) works on.

  Example:
    >>> tasks_with_standard_ids(['reach the duck', 'reach the red block'])[-2:]
    ('reach the duck', 'reach the red block')
  """
  return TASKS + tuple(task for task in dict.fromkeys(tasks)
                       if task not in TASKS)


def initial_state_seeds(split: str, task_index: int, count: int,
                        start: int = 0) -> Tuple[int, ...]:
  """Reset seeds of one task's episodes in a split; splits never overlap.

  Example:
    >>> initial_state_seeds('test', 1, 3)
    (2100000, 2100001, 2100002)

  Args:
    split: 'train', 'eval' (demonstrations) or 'test' (closed-loop
      evaluation).
    task_index: The task's index (each task has its own seeds).
    count: How many seeds.
    start: The first episode's index within the task's seeds.

  Returns:
    `count` distinct seeds.

  Raises:
    ValueError: For an unknown split, or counts that leave the task's range.
  """
  if split not in SEED_STARTS:
    raise ValueError(f'split must be one of {sorted(SEED_STARTS)}, got '
                     f'{split!r}.')
  for name, value in (('task_index', task_index), ('count', count),
                      ('start', start)):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or (
        value < 0):
      raise ValueError(f'{name} must be an int >= 0, got {value!r}.')
  if start + count > SEEDS_PER_TASK or task_index >= (
      1_000_000 // SEEDS_PER_TASK):
    raise ValueError(f'start + count must be <= {SEEDS_PER_TASK} and '
                     f'task_index < {1_000_000 // SEEDS_PER_TASK}, got start='
                     f'{start}, count={count}, task_index={task_index}.')
  first = SEED_STARTS[split] + task_index * SEEDS_PER_TASK + start
  return tuple(range(first, first + count))


def sample_layout(rng: np.random.Generator,
                  pushed: Sequence[str] = ()) -> Dict[str, Tuple[float, ...]]:
  """Draws non-overlapping (x, y, yaw) poses of the scene objects.

  Args:
    rng: The random stream.
    pushed: Objects some task pushes: their left corridor stays free.

  Returns:
    {object name: (x, y, yaw)}.
  """
  for _ in range(10_000):
    poses = {}
    for obj in OBJECTS:
      high_y = PUSH_MAX_Y if obj.name in pushed else LAYOUT_Y[1]
      poses[obj.name] = (rng.uniform(*LAYOUT_X), rng.uniform(LAYOUT_Y[0],
                                                             high_y),
                         rng.uniform(-math.pi, math.pi))
    if _layout_ok(poses, pushed):
      return poses
  raise RuntimeError('sample_layout found no layout; the constraints are '
                     'too tight.')


def _layout_ok(poses, pushed) -> bool:
  names = list(poses)
  xy = np.array([poses[n][:2] for n in names])
  distances = np.linalg.norm(xy[:, None] - xy[None], axis=-1)
  if np.any(distances[np.triu_indices(len(names), 1)] < MIN_SEPARATION):
    return False
  half_width, length = PUSH_CORRIDOR
  for name in pushed:
    x, y = poses[name][:2]
    for other in names:
      ox, oy = poses[other][:2]
      if other != name and abs(ox - x) < half_width and (
          -MIN_SEPARATION < oy - y < length):
        return False
  return True


class BCZScene(scene_lib.KukaScene):
  """The KUKA scene with the BC-Z objects instead of `random_urdfs` ones.

  Args:
    pushed: Objects that a task pushes (their left corridor stays free).
    **kwargs: `KukaScene` arguments (randomization, camera, ...).
  """

  def __init__(self, pushed: Sequence[str] = (), **kwargs):
    super().__init__(num_objects=len(OBJECTS), **kwargs)
    self._pushed = tuple(pushed)

  def _drop_objects(self, rng: np.random.Generator):
    layout = sample_layout(rng, self._pushed)
    for obj in OBJECTS:
      x, y, yaw = layout[obj.name]
      self.load_object(obj.path, (x, y, FLOOR_Z + 0.03), yaw, obj.rgba,
                       obj.name, roll=obj.roll)
    self.step(self._settle_substeps)


def _yaw_of(quaternion: Sequence[float]) -> float:
  x, y, z, w = quaternion
  return math.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))


@gin.configurable
class BCZEnv(gymnasium.Env):
  """BC-Z's multi-task env (see the module docstring).

  Example:
    >>> env = BCZEnv(task='reach the duck', randomization='randomized')
    >>> obs, info = env.reset(seed=0)
    >>> env.privileged_state()['object_positions']['duck']

  Args:
    tasks: The task texts the env knows (ids are positions); default
      `TASKS`.
    task: The task when `reset` gets none in its options; None draws one
      per episode from the seed.
    image_size: The image's (height, width), or one int.
    max_steps: Steps per episode before truncation.
    substeps: Physics substeps of 1/240 s per step (48: 5 Hz).
    max_translation: The largest delta per axis, metres.
    max_rotation: The largest delta yaw, radians.
    joint_velocity: The arm joints' velocity cap, rad/s.
    settle_substeps: Substeps for the objects to settle at reset.
    randomization: Domain randomization of the look: 'none',
      'randomized', 'shifted' or a `DomainRandomization`. The object
      colours name the objects in the tasks, so they are never randomized
      (`object_colors` is turned off); the tray, light and camera are.
    camera: The nominal camera pose (default `CameraPose()`).
    workspace_low: The lowest commanded end-effector (x, y, z).
    workspace_high: The highest commanded end-effector (x, y, z).
    render_mode: None or 'rgb_array'.
    robot_rgba: The arm's colour (`KukaScene` robot_rgba); None keeps the
      stock orange links, whose hue the red block and the duck share.

  Raises:
    ValueError: For a bad argument (the message names it).
  """

  metadata = {'render_modes': ['rgb_array'], 'render_fps': 5}

  def __init__(self,
               tasks: Sequence[str] = TASKS,
               task: Optional[str] = None,
               image_size: scene_lib.ImageSize = bcz_specs.DEFAULT_IMAGE_SIZE,
               max_steps: int = 50,
               substeps: int = 48,
               max_translation: float = 0.05,
               max_rotation: float = 0.3,
               joint_velocity: float = 1.0,
               settle_substeps: int = 40,
               randomization: Union[
                   str, randomization_lib.DomainRandomization, None] = 'none',
               camera: Optional[camera_lib.CameraPose] = None,
               workspace_low: Sequence[float] = DEFAULT_WORKSPACE_LOW,
               workspace_high: Sequence[float] = DEFAULT_WORKSPACE_HIGH,
               render_mode: Optional[str] = None,
               robot_rgba: Optional[Sequence[float]] = None):
    if isinstance(tasks, str):
      raise ValueError(f'tasks must be a sequence of task texts, got the '
                       f'string {tasks!r}; wrap it in a list.')
    self._tasks = tuple(parse_task(text) for text in tasks)
    self.task_table = bcz_specs.TaskTable([t.text for t in self._tasks])
    if task is not None:
      self.task_table.task_id(task)  # Raises for an unknown task.
    self._default_task = task
    self._height, self._width = scene_lib.as_image_size(image_size)
    self.max_steps = _count('max_steps', max_steps, 1)
    self._substeps = _count('substeps', substeps, 1)
    self.max_translation = _positive('max_translation', max_translation)
    self.max_rotation = _positive('max_rotation', max_rotation)
    self._joint_velocity = _positive('joint_velocity', joint_velocity)
    low = np.asarray(workspace_low, np.float64)
    high = np.asarray(workspace_high, np.float64)
    if low.shape != (3,) or high.shape != (3,) or not np.all(low < high):
      raise ValueError(f'workspace_low and workspace_high must be 3 numbers '
                       f'each with low < high, got {workspace_low!r} and '
                       f'{workspace_high!r}.')
    self._workspace = (low, high)
    if render_mode not in (None, *self.metadata['render_modes']):
      raise ValueError(f'render_mode must be None or one of '
                       f'{self.metadata["render_modes"]}, got '
                       f'{render_mode!r}.')
    self.render_mode = render_mode
    randomization = dataclasses.replace(
        randomization_lib.get_randomization(randomization),
        object_colors=False)
    self.scene = BCZScene(
        pushed=[t.object_name for t in self._tasks if t.kind == PUSH_LEFT],
        randomization=randomization, camera=camera,
        settle_substeps=settle_substeps,
        max_joint_velocity=self._joint_velocity, robot_rgba=robot_rgba)
    pose = bcz_specs.POSE_SIZE
    self.observation_space = spaces.Dict({
        'image': spaces.Box(0, 255, (self._height, self._width, 3), np.uint8),
        'proprioception': spaces.Box(-np.inf, np.inf, (pose,), np.float32),
    })
    bound = np.array([self.max_translation] * 3 + [self.max_rotation] * 3 +
                     [1.0], np.float32)
    low_action = -bound
    low_action[bcz_specs.GRIPPER] = 0.0
    self.action_space = spaces.Box(low_action, bound, dtype=np.float32)
    self._task: Optional[Task] = None
    self._initial_positions: Dict[str, np.ndarray] = {}
    self._step_count = 0
    self._episode_over = True
    self._success = False
    self._image = None

  # Properties.

  @property
  def tasks(self) -> Tuple[str, ...]:
    return tuple(t.text for t in self._tasks)

  @property
  def task(self) -> Optional[Task]:
    """The episode's `Task` (None before the first reset)."""
    return self._task

  @property
  def step_count(self) -> int:
    return self._step_count

  @property
  def substeps(self) -> int:
    return self._substeps

  # State.

  def gripper_closure(self) -> float:
    """The commanded closure in [0, 1]: 0 open, 1 closed."""
    return float(np.clip(1.0 - self.scene.finger_angle / scene_lib.FINGER_OPEN,
                         0.0, 1.0))

  def gripper_rotation(self) -> float:
    """The commanded world rotation of the gripper about the vertical."""
    # The yaw joint turns about the downward-pointing gripper axis.
    return -self.scene.target_yaw

  def proprioception(self) -> np.ndarray:
    """(7,) float32: measured xyz, axis-angle (0, 0, yaw), closure."""
    x, y, z, joint_yaw = self.scene.gripper_pose()
    return np.array([x, y, z, 0.0, 0.0, -joint_yaw, self.gripper_closure()],
                    np.float32)

  def privileged_state(self) -> Dict[str, Any]:
    """What the simulator knows: for experts, success and analysis.

    Example:
      >>> state = env.privileged_state()
      >>> state['object_positions']['red block'], state['target'][:3]

    Returns:
      'object_positions' and 'initial_positions' {name: (3,)},
      'object_yaws' {name: float}, 'target' the commanded (x, y, z,
      rotation about the vertical), 'gripper' (4,) the measured (x, y, z,
      rotation), 'closure', 'task' (a `Task`) and 'step'.
    """
    positions = self.scene.object_positions()
    orientations = self.scene.object_orientations()
    names = self.scene.object_names_in_scene
    x, y, z, joint_yaw = self.scene.gripper_pose()
    return {
        'object_positions': dict(zip(names, positions)),
        'initial_positions': dict(self._initial_positions),
        'object_yaws': {n: _yaw_of(q) for n, q in zip(names, orientations)},
        'target': np.array([*self.scene.target_position,
                            self.gripper_rotation()]),
        'gripper': np.array([x, y, z, -joint_yaw]),
        'closure': self.gripper_closure(),
        'task': self._task,
        'step': self._step_count,
    }

  def _is_success(self) -> bool:
    task = self._task
    position = self.scene.object_positions()[
        self.scene.object_names_in_scene.index(task.object_name)]
    start = self._initial_positions[task.object_name]
    if task.kind == PICK:
      return bool(position[2] - start[2] > LIFT_HEIGHT and
                  self.gripper_closure() > 0.5)
    if task.kind == PUSH_LEFT:
      return bool(position[1] - start[1] > PUSH_DISTANCE and
                  position[2] - start[2] < PUSH_MAX_RISE)
    gripper = self.scene.gripper_pose()[:3]
    top = next(o.top for o in OBJECTS if o.name == task.object_name)
    tips_above = gripper[2] - MEASURED_FINGERTIP_OFFSET - position[2] - top
    return bool(np.linalg.norm(gripper[:2] - position[:2]) < REACH_RADIUS and
                tips_above < REACH_HEIGHT and self.gripper_closure() < 0.5)

  # Episodes.

  def _observation(self) -> Observation:
    self._image = self.scene.render(self._height, self._width)
    return {'image': self._image.copy(),
            'proprioception': self.proprioception()}

  def _info(self) -> Dict[str, Any]:
    return {'task': self._task.text,
            'task_id': self.task_table.task_id(self._task.text),
            'success': self._success, 'step': self._step_count}

  def _choose_task(self, options: Optional[Mapping[str, Any]]) -> str:
    options = dict(options or {})
    unknown = sorted(set(options) - {'task'})
    if unknown:
      raise ValueError(f'BCZEnv.reset options take only "task", got '
                       f'{unknown}.')
    task = options.get('task', self._default_task)
    if task is None:
      # A stream of its own: the layout does not depend on the task.
      rng = np.random.default_rng(self.np_random.integers(2**63 - 1))
      return self.tasks[int(rng.integers(len(self.tasks)))]
    if isinstance(task, (int, np.integer)) and not isinstance(task, bool):
      if not 0 <= task < len(self.tasks):
        raise ValueError(f'options["task"] id {task} is not in [0, '
                         f'{len(self.tasks)}).')
      return self.tasks[int(task)]
    self.task_table.task_id(task)  # Raises for an unknown task.
    return task

  def reset(self,
            *,
            seed: Optional[int] = None,
            options: Optional[Mapping[str, Any]] = None
           ) -> Tuple[Observation, Dict[str, Any]]:
    """Lays out the objects for `seed` and returns the first observation.

    Args:
      seed: Reseeds the env: the same seed gives the same layout (for every
        task) and episode.
      options: {'task': text or task id}, optional.

    Returns:
      (observation, info) with info 'task', 'task_id', 'success', 'step'.

    Raises:
      ValueError: For an unknown task or option.
    """
    super().reset(seed=seed)
    scene_seed = int(self.np_random.integers(2**63 - 1))
    self._task = parse_task(self._choose_task(options))
    self.scene.reset(scene_seed)
    self._initial_positions = dict(zip(self.scene.object_names_in_scene,
                                       self.scene.object_positions()))
    self._step_count = 0
    self._success = False
    self._episode_over = False
    return self._observation(), self._info()

  def _check_action(self, action: Any) -> np.ndarray:
    if self._episode_over:
      raise RuntimeError('BCZEnv.step called on a finished episode; call '
                         'reset() first.')
    try:
      action = np.asarray(action, np.float64)
    except (TypeError, ValueError) as e:
      raise ValueError(f'BCZEnv.step expects 7 numbers, got {action!r}.') from e
    if action.shape != self.action_space.shape or not np.all(
        np.isfinite(action)):
      raise ValueError(
          f'BCZEnv.step expects an action of 7 finite numbers (delta xyz, '
          f'delta axis-angle, gripper target), got {action!r} (shape '
          f'{action.shape}).')
    return np.clip(action, self.action_space.low, self.action_space.high)

  def step(self, action: Any
          ) -> Tuple[Observation, float, bool, bool, Dict[str, Any]]:
    """Moves the commanded gripper by the action for `substeps` substeps.

    Args:
      action: (7,) delta xyz, delta axis-angle, gripper target (clipped to
        the action space).

    Returns:
      (observation, reward, terminated, truncated, info).

    Raises:
      ValueError: For an action of the wrong shape or with NaN/inf.
      RuntimeError: If the episode is over.
    """
    action = self._check_action(action)
    scene = self.scene
    target = np.clip(scene.target_position + action[bcz_specs.XYZ],
                     *self._workspace)
    rotation = self.gripper_rotation() + action[bcz_specs.AXIS_ANGLE][2]
    scene.move_gripper(target, -rotation)
    if action[bcz_specs.GRIPPER] >= 0.5:
      scene.close_gripper(self._substeps)
    else:
      scene.open_gripper()
      scene.step(self._substeps)
    self._step_count += 1
    self._success = self._is_success()
    truncated = not self._success and self._step_count >= self.max_steps
    self._episode_over = self._success or truncated
    return (self._observation(), float(self._success), self._success,
            truncated, self._info())

  def render(self) -> Optional[np.ndarray]:
    """With render_mode 'rgb_array', a copy of the last camera frame."""
    rendering = self.render_mode == 'rgb_array' and self._image is not None
    return self._image.copy() if rendering else None

  def close(self):
    """Disconnects the scene's physics client (twice is fine)."""
    self.scene.close()
