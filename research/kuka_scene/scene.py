"""The KUKA iiwa grasping scene in headless pybullet (one client per scene).

The scene of pybullet's `KukaDiverseObjectEnv` and Quillen et al. 2018's
grasping benchmark: a KUKA iiwa with a two-finger gripper above a tray on a
table, random objects from `random_urdfs` dropped into the tray, and a fixed
camera looking at it over the robot's shoulder. Shared by the research
projects that grasp (`research/qtopt`) or imitate (BC-Z) in it; each
project builds its own task (actions, rewards, episodes) on the primitives
here: `reset` (a new scene for a seed), `move_gripper` (IK on link 6 with
the gripper pointing down), `step`, `close_gripper`, `lift`, `render` and
the privileged state (`object_positions`).

Every scene owns its physics client (`pybullet_utils.BulletClient`, DIRECT
mode), so several scenes run side by side in one process. `reset(seed)`
rebuilds the simulation from scratch, so the same seed gives the same
scene, motions and images whatever ran before.

Example:
  >>> scene = KukaScene(object_split='test')
  >>> scene.reset(seed=0)
  >>> scene.move_gripper((0.55, 0.0, 0.3), yaw=0.0)
  >>> scene.step(80)
  >>> scene.render(64, 64).shape
  (64, 64, 3)
  >>> scene.close_gripper(150); scene.lift(0.5, 250)
  >>> scene.num_objects_above(0.2)
  0
  >>> scene.close()
"""

import contextlib
import math
import os
import shutil
import sys
import tempfile
import weakref
from typing import Optional, Sequence, Tuple, Union

import gin
import numpy as np
import pybullet
from pybullet_utils import bullet_client
import pybullet_data

from research.kuka_scene import camera as camera_lib
from research.kuka_scene import objects as objects_lib
from research.kuka_scene import randomization as randomization_lib
from research import image_sizes

TIME_STEP = 1.0 / 240.0
SOLVER_ITERATIONS = 150
GRAVITY = -10.0
ROBOT_BASE = (-0.1, 0.0, 0.07)
TRAY_POSITION = (0.64, 0.075, -0.19)
TRAY_ORIENTATION = (0.0, 0.0, 1.0, 0.0)
TABLE_POSITION = (0.5, 0.0, -0.82)
# The gripper's resting point and the height objects fall from.
HOME_POSITION = (0.537, 0.0, 0.5)
SPAWN_HEIGHT = 0.15
# Objects spawn at x = 0.4 + 0.3 u, y = 0.3 (u - 0.5) for uniform u.
SPAWN_X = (0.4, 0.7)
SPAWN_Y = (-0.15, 0.15)

END_EFFECTOR_LINK = 6
GRIPPER_YAW_JOINT = 7
_LEFT_FINGER, _RIGHT_FINGER = 8, 11
_LEFT_TIP, _RIGHT_TIP = 10, 13
FINGER_OPEN = 0.3
# Per substep while closing: closed after 100 substeps.
_FINGER_CLOSING_RATE = 0.003
_ARM_FORCE = 200.0
_FINGER_FORCES = (2.0, 2.5)
_TIP_FORCE = 2.0
# The iiwa's initial joint angles and the null space of its IK
# (pybullet_envs' kuka.py).
_INITIAL_JOINTS = (0.006418, 0.413184, -0.011401, -1.589317, 0.005379,
                   1.137684, -0.006539, 0.000048, -0.299912, 0.0, -0.000043,
                   0.299960, 0.0, -0.000200)
_IK_LOWER = (-0.967, -2.0, -2.96, 0.19, -2.96, -2.09, -3.05)
_IK_UPPER = (0.967, 2.0, 2.96, 2.29, 2.96, 2.09, 3.05)
_IK_RANGES = (5.8, 4.0, 5.8, 4.0, 5.8, 4.0, 6.0)
_IK_REST = (0.0, 0.0, 0.0, 0.5 * math.pi, 0.0, -math.pi * 0.5 * 0.66, 0.0)
# A single IK iteration misses far targets by up to 3 cm; these converge.
_IK_ITERATIONS = 100
_IK_RESIDUAL = 1e-5
# The gripper points down.
_DOWN = pybullet.getQuaternionFromEuler((0.0, -math.pi, 0.0))

ImageSize = image_sizes.ImageSize
as_image_size = image_sizes.as_image_size




def check_count(name: str, value: int, minimum: int) -> int:
  """Returns `value` as an int if it is an int >= `minimum`.

  Example:
    >>> check_count('substeps', 48, 1)
    48

  Raises:
    ValueError: Naming `name`, for a bool, a non-int or a smaller value.
  """
  if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or (
      value < minimum):
    raise ValueError(f'{name} must be an int >= {minimum}, got {value!r}.')
  return int(value)


def _check_rgba(name: str, value: Optional[Sequence[float]]
               ) -> Optional[Tuple[float, ...]]:
  """None, or 4 floats in [0, 1] (RGBA)."""
  if value is None:
    return None
  try:
    rgba = tuple(float(v) for v in value)
  except (TypeError, ValueError):
    rgba = ()
  if len(rgba) != 4 or not all(0.0 <= v <= 1.0 for v in rgba):
    raise ValueError(f'{name} must be None or 4 numbers in [0, 1] (red, '
                     f'green, blue, alpha), got {value!r}.')
  return rgba


def check_positive(name: str, value: float) -> float:
  """Returns `value` as a float if it is a finite number > 0.

  Raises:
    ValueError: Naming `name`, for anything else.
  """
  if isinstance(value, bool) or not isinstance(
      value, (int, float, np.number)) or not (math.isfinite(value) and
                                               value > 0):
    raise ValueError(f'{name} must be a positive number, got {value!r}.')
  return float(value)


@contextlib.contextmanager
def _quiet_stdout():
  """Silences file descriptor 1: pybullet prints 'argv[0]=' on connect."""
  try:
    sys.stdout.flush()
    saved = os.dup(1)
  except (OSError, ValueError):
    yield
    return
  devnull = os.open(os.devnull, os.O_WRONLY)
  try:
    os.dup2(devnull, 1)
    yield
  finally:
    os.dup2(saved, 1)
    os.close(saved)
    os.close(devnull)


def _close_client(client: bullet_client.BulletClient):
  # pylint: disable=protected-access
  if client._client >= 0:
    try:
      pybullet.disconnect(physicsClientId=client._client)
    except pybullet.error:
      pass
    client._client = -1


@gin.configurable
class KukaScene:
  """The KUKA grasping scene: robot, tray, table, objects, camera.

  Args:
    object_split: 'train' (random_urdfs folders not ending in 0) or 'test'
      (ending in 0); `random_urdfs/168` is in neither.
    num_objects: Objects dropped into the tray per episode (distinct).
    randomization: A `DomainRandomization` or a preset name ('none',
      'randomized', 'shifted'); see `research.kuka_scene.randomization`.
    camera: The nominal camera pose; default `CameraPose()` (target
      (0.23, 0.2, 0.54), yaw 245, pitch -56, distance 1, fov 20).
    settle_substeps: Physics substeps after dropping each object, so that
      objects land one by one and do not start inside each other.
    max_joint_velocity: The arm joints' velocity limit in rad/s while
      moving (pybullet's kuka.py uses 0.35).
    lift_joint_velocity: The arm joints' velocity limit while lifting.
    object_root: The `random_urdfs` directory; default pybullet_data's.
    robot_rgba: Paint every link of the arm and gripper this colour (RGBA in
      [0, 1]); None keeps the model's (orange links). E.g. grey, so that the
      arm shares no hue with red or yellow objects.

  Raises:
    ValueError: For a bad argument (the message names it).
    TypeError: For a `randomization` of the wrong type.
  """

  def __init__(self,
               object_split: str = 'train',
               num_objects: int = 5,
               randomization: Union[
                   str, randomization_lib.DomainRandomization, None] = 'none',
               camera: Optional[camera_lib.CameraPose] = None,
               settle_substeps: int = 150,
               max_joint_velocity: float = 0.35,
               lift_joint_velocity: float = 1.0,
               object_root: Optional[str] = None,
               robot_rgba: Optional[Sequence[float]] = None):
    self._object_root = object_root
    self._robot_rgba = _check_rgba('robot_rgba', robot_rgba)
    self._object_names = objects_lib.object_names(object_split, object_root)
    self.object_split = object_split
    self.num_objects = check_count('num_objects', num_objects, 1)
    if self.num_objects > len(self._object_names):
      raise ValueError(
          f'num_objects={num_objects} exceeds the {len(self._object_names)} '
          f'{object_split!r} objects.')
    self.randomization = randomization_lib.get_randomization(randomization)
    if camera is None:
      camera = camera_lib.CameraPose()
    if not isinstance(camera, camera_lib.CameraPose):
      raise TypeError(f'camera must be a CameraPose, got '
                      f'{type(camera).__name__} {camera!r}.')
    self.camera = camera
    self._settle_substeps = check_count('settle_substeps', settle_substeps, 0)
    self._max_velocity = check_positive('max_joint_velocity',
                                        max_joint_velocity)
    self._lift_velocity = check_positive('lift_joint_velocity',
                                         lift_joint_velocity)

    with _quiet_stdout():
      self._client = bullet_client.BulletClient(
          connection_mode=pybullet.DIRECT)
    if self._client._client < 0:  # pylint: disable=protected-access
      raise RuntimeError('KukaScene could not start a pybullet DIRECT client.')
    self._finalizer = weakref.finalize(self, _close_client, self._client)
    self._texture_paths: Tuple[str, ...] = ()
    self._texture_finalizer = None
    if self.randomization.texture_probability > 0:
      directory = tempfile.mkdtemp(prefix='kuka_scene_textures_')
      self._texture_finalizer = weakref.finalize(self, shutil.rmtree,
                                                 directory, True)
      self._texture_paths = self.randomization.write_textures(directory)
    self._robot = self._tray = -1
    self._objects: Tuple[int, ...] = ()
    self.object_names_in_scene: Tuple[str, ...] = ()
    self.appearance: Optional[randomization_lib.Appearance] = None
    self._target_position = np.array(HOME_POSITION)
    self._target_yaw = 0.0
    self._finger_angle = FINGER_OPEN
    self._matrices = {}

  # Building the scene.

  def _check_open(self, what: str):
    if not self._finalizer.alive:
      raise RuntimeError(f'KukaScene.{what} called after close(); create a '
                         'new scene.')

  def _load_static(self):
    client, root = self._client, pybullet_data.getDataPath()
    client.resetSimulation()
    client.setPhysicsEngineParameter(numSolverIterations=SOLVER_ITERATIONS,
                                     deterministicOverlappingPairs=1)
    client.setTimeStep(TIME_STEP)
    client.setGravity(0.0, 0.0, GRAVITY)
    client.loadURDF(os.path.join(root, 'plane.urdf'), [0.0, 0.0, -1.0])
    client.loadURDF(os.path.join(root, 'table', 'table.urdf'),
                    list(TABLE_POSITION), [0.0, 0.0, 0.0, 1.0])
    self._robot = client.loadSDF(
        os.path.join(root, 'kuka_iiwa', 'kuka_with_gripper2.sdf'))[0]
    client.resetBasePositionAndOrientation(self._robot, list(ROBOT_BASE),
                                           [0.0, 0.0, 0.0, 1.0])
    if self._robot_rgba is not None:
      for link in range(-1, client.getNumJoints(self._robot)):
        client.changeVisualShape(self._robot, link,
                                 rgbaColor=list(self._robot_rgba))
    for joint, angle in enumerate(_INITIAL_JOINTS):
      client.resetJointState(self._robot, joint, angle)
      client.setJointMotorControl2(self._robot, joint,
                                   pybullet.POSITION_CONTROL,
                                   targetPosition=angle, force=_ARM_FORCE)
    self._tray = client.loadURDF(os.path.join(root, 'tray', 'tray.urdf'),
                                 list(TRAY_POSITION), list(TRAY_ORIENTATION))

  def _drop_objects(self, rng: np.random.Generator):
    names = rng.choice(self._object_names, self.num_objects, replace=False)
    uids = []
    for name in names:
      x = SPAWN_X[0] + (SPAWN_X[1] - SPAWN_X[0]) * rng.uniform()
      y = SPAWN_Y[0] + (SPAWN_Y[1] - SPAWN_Y[0]) * rng.uniform()
      yaw = math.pi / 2 + 0.3 * math.pi * rng.uniform()
      uids.append(self._client.loadURDF(
          objects_lib.object_urdf_path(str(name), self._object_root),
          [x, y, SPAWN_HEIGHT],
          list(self._client.getQuaternionFromEuler([0.0, 0.0, yaw]))))
      self.step(self._settle_substeps)
    self._objects = tuple(uids)
    self.object_names_in_scene = tuple(str(n) for n in names)

  def _apply_appearance(self):
    appearance = self.appearance
    client = self._client
    if appearance.object_colors is not None:
      for uid, color in zip(self._objects, appearance.object_colors):
        client.changeVisualShape(uid, -1, rgbaColor=list(color))
    if appearance.tray_texture is not None:
      texture = client.loadTexture(
          self._texture_paths[appearance.tray_texture])
      client.changeVisualShape(self._tray, -1, textureUniqueId=texture)
    if appearance.tray_color is not None:
      client.changeVisualShape(self._tray, -1,
                               rgbaColor=list(appearance.tray_color))
    self._matrices = {}

  def reset(self, seed: int):
    """Builds a new scene: robot at home, objects dropped, appearance drawn.

    Args:
      seed: Seeds both the objects (choice, placement) and the appearance,
        from separate streams: the randomization setting never changes
        which objects land where.

    Raises:
      ValueError: If `seed` is not a non-negative int.
      RuntimeError: After `close()`.
    """
    self._check_open('reset')
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or (
        seed < 0):
      raise ValueError(f'KukaScene.reset needs a non-negative int seed, got '
                       f'{seed!r}.')
    scene_seed, appearance_seed = np.random.SeedSequence(int(seed)).spawn(2)
    self._load_static()
    self._objects, self.object_names_in_scene = (), ()
    self._target_position = np.array(HOME_POSITION)
    self._target_yaw = 0.0
    self._finger_angle = FINGER_OPEN
    self.step(1)
    self._drop_objects(np.random.default_rng(scene_seed))
    self.appearance = self.randomization.sample(
        np.random.default_rng(appearance_seed), self.num_objects,
        self.camera)
    self._apply_appearance()

  def load_object(self, urdf_path: str, position: Sequence[float],
                  yaw: float = 0.0, rgba: Optional[Sequence[float]] = None,
                  name: Optional[str] = None, roll: float = 0.0) -> int:
    """Adds an object to the scene; it joins `object_positions` and the rest.

    For tasks that place their own objects: a subclass overriding
    `_drop_objects(rng)` (called by `reset` after the robot, tray and table
    are loaded) calls this instead of dropping `random_urdfs` objects.

    Example:
      >>> index = scene.load_object(
      ...     os.path.join(pybullet_data.getDataPath(), 'cube_small.urdf'),
      ...     (0.55, 0.0, -0.15), yaw=0.3, rgba=(1, 0, 0, 1), name='red block')
      >>> scene.object_positions()[index]

    Args:
      urdf_path: The object's URDF file.
      position: Its base (x, y, z), metres.
      yaw: Its rotation about the vertical, radians.
      rgba: Its colour (overrides the URDF's), or None.
      name: Its name in `object_names_in_scene`; default the file name.
      roll: Its rotation about x before the yaw, radians (pi / 2 stands up
        a mesh modelled with y up, such as pybullet_data's duck).

    Returns:
      The object's index in `object_positions()`.

    Raises:
      ValueError: If the file does not exist or the pose is not finite.
    """
    self._check_open('load_object')
    if not os.path.isfile(urdf_path):
      raise ValueError(f'load_object: no URDF file at {urdf_path!r}.')
    position = np.asarray(position, np.float64)
    if position.shape != (3,) or not np.all(np.isfinite(position)) or (
        not (math.isfinite(yaw) and math.isfinite(roll))):
      raise ValueError(f'load_object needs a finite (x, y, z) position, yaw '
                       f'and roll, got {position!r}, {yaw!r} and {roll!r}.')
    uid = self._client.loadURDF(
        urdf_path, list(position), list(self._client.getQuaternionFromEuler(
            [float(roll), 0.0, float(yaw)])))
    if rgba is not None:
      self._client.changeVisualShape(uid, -1, rgbaColor=list(rgba))
    self._objects += (uid,)
    self.object_names_in_scene += (
        name or os.path.splitext(os.path.basename(urdf_path))[0],)
    return len(self._objects) - 1

  # Moving the robot.

  def _command(self, max_velocity: float):
    client, robot = self._client, self._robot
    joints = client.calculateInverseKinematics(
        robot, END_EFFECTOR_LINK, list(self._target_position), _DOWN,
        list(_IK_LOWER), list(_IK_UPPER), list(_IK_RANGES), list(_IK_REST),
        maxNumIterations=_IK_ITERATIONS, residualThreshold=_IK_RESIDUAL)
    for joint in range(END_EFFECTOR_LINK + 1):
      client.setJointMotorControl2(
          bodyUniqueId=robot, jointIndex=joint,
          controlMode=pybullet.POSITION_CONTROL,
          targetPosition=joints[joint], targetVelocity=0, force=_ARM_FORCE,
          maxVelocity=max_velocity, positionGain=0.3, velocityGain=1)
    client.setJointMotorControl2(robot, GRIPPER_YAW_JOINT,
                                 pybullet.POSITION_CONTROL,
                                 targetPosition=self._target_yaw,
                                 force=_ARM_FORCE)
    self._command_fingers()

  def _command_fingers(self):
    client, robot, angle = self._client, self._robot, self._finger_angle
    client.setJointMotorControl2(robot, _LEFT_FINGER,
                                 pybullet.POSITION_CONTROL,
                                 targetPosition=-angle,
                                 force=_FINGER_FORCES[0])
    client.setJointMotorControl2(robot, _RIGHT_FINGER,
                                 pybullet.POSITION_CONTROL,
                                 targetPosition=angle,
                                 force=_FINGER_FORCES[1])
    for tip in (_LEFT_TIP, _RIGHT_TIP):
      client.setJointMotorControl2(robot, tip, pybullet.POSITION_CONTROL,
                                   targetPosition=0, force=_TIP_FORCE)

  def move_gripper(self, position: Sequence[float], yaw: float,
                   max_velocity: Optional[float] = None):
    """Sets the gripper's target: link 6 at `position`, pointing down.

    The arm moves there (joint velocity capped) over the following `step`s;
    the fingers keep their current opening.

    Args:
      position: (x, y, z) of the end effector (link 6), metres.
      yaw: The gripper's rotation about the vertical, radians.
      max_velocity: The joint velocity cap (rad/s) for this move; default
        the scene's `max_joint_velocity`.

    Raises:
      ValueError: If the target is not 3 finite numbers and a finite yaw.
    """
    self._check_open('move_gripper')
    position = np.asarray(position, np.float64)
    if position.shape != (3,) or not np.all(np.isfinite(position)) or (
        not math.isfinite(yaw)):
      raise ValueError(
          f'move_gripper needs a finite (x, y, z) position and yaw, got '
          f'{position!r} and {yaw!r}.')
    self._target_position = position.copy()
    self._target_yaw = float(yaw)
    self._command(self._max_velocity if max_velocity is None else
                  float(max_velocity))

  def move_gripper_linearly(self, position: Sequence[float], yaw: float,
                            substeps: int, retarget_every: int = 10,
                            max_velocity: Optional[float] = None):
    """Moves the gripper target along a straight line over `substeps`.

    One IK target far away makes the arm swing through joint space, off the
    straight line (into the tray walls or neighbouring objects); moving the
    target along the line every `retarget_every` substeps keeps the
    end effector on it. Yaw turns along.

    Example:
      >>> scene.move_gripper_linearly((0.6, 0.05, 0.03), yaw=0.5,
      ...                             substeps=120)

    Args:
      position: The final (x, y, z) of link 6.
      yaw: The final gripper yaw, radians.
      substeps: Physics substeps of the whole move (>= 1).
      retarget_every: Substeps between target updates (>= 1).
      max_velocity: As for `move_gripper`.

    Raises:
      ValueError: For a bad target or counts.
    """
    substeps = check_count('substeps', substeps, 1)
    retarget_every = check_count('retarget_every', retarget_every, 1)
    start, start_yaw = self._target_position.copy(), self._target_yaw
    end = np.asarray(position, np.float64)
    segments = max(1, -(-substeps // retarget_every))
    done = 0
    for segment in range(1, segments + 1):
      fraction = segment / segments
      self.move_gripper(start + fraction * (end - start),
                        start_yaw + fraction * (yaw - start_yaw),
                        max_velocity)
      count = round(substeps * fraction) - done
      self.step(count)
      done += count

  def step(self, substeps: int = 1):
    """Advances the physics by `substeps` steps of 1/240 s."""
    step = self._client.stepSimulation
    for _ in range(substeps):
      step()

  def close_gripper(self, substeps: int = 150):
    """Closes the fingers (fully closed after 100 substeps), arm holding."""
    self._check_open('close_gripper')
    for _ in range(substeps):
      self._finger_angle = max(0.0, self._finger_angle - _FINGER_CLOSING_RATE)
      self._command_fingers()
      self._client.stepSimulation()

  def open_gripper(self):
    """Opens the fingers (they move over the following steps)."""
    self._check_open('open_gripper')
    self._finger_angle = FINGER_OPEN
    self._command_fingers()

  def lift(self, height: float = 0.5, substeps: int = 250):
    """Raises the gripper target by `height` metres over `substeps` steps.

    The fingers keep closing, as in pybullet's KukaDiverseObjectEnv.
    """
    self._check_open('lift')
    start = self._target_position.copy()
    for index in range(substeps):
      self._target_position = start + np.array(
          [0.0, 0.0, height * (index + 1) / substeps])
      self._finger_angle = max(0.0, self._finger_angle - _FINGER_CLOSING_RATE)
      self._command(self._lift_velocity)
      self._client.stepSimulation()

  # Reading the state.

  @property
  def target_position(self) -> np.ndarray:
    """The commanded end-effector position (x, y, z)."""
    return self._target_position.copy()

  @property
  def target_yaw(self) -> float:
    """The commanded gripper yaw, radians."""
    return self._target_yaw

  @property
  def finger_angle(self) -> float:
    """The commanded finger opening: 0.3 open, 0 closed."""
    return self._finger_angle

  def gripper_pose(self) -> np.ndarray:
    """The end effector's measured (x, y, z, yaw): link 6 and joint 7."""
    self._check_open('gripper_pose')
    position = self._client.getLinkState(self._robot, END_EFFECTOR_LINK)[0]
    yaw = self._client.getJointState(self._robot, GRIPPER_YAW_JOINT)[0]
    return np.array([*position, yaw], np.float64)

  def object_positions(self) -> np.ndarray:
    """The objects' base positions, (num_objects, 3) (privileged)."""
    self._check_open('object_positions')
    return np.array([self._client.getBasePositionAndOrientation(uid)[0]
                     for uid in self._objects], np.float64).reshape(-1, 3)

  def object_orientations(self) -> np.ndarray:
    """The objects' base orientations as (x, y, z, w) quaternions, (n, 4)."""
    self._check_open('object_orientations')
    return np.array([self._client.getBasePositionAndOrientation(uid)[1]
                     for uid in self._objects], np.float64).reshape(-1, 4)

  def object_vertices(self) -> Tuple[np.ndarray, ...]:
    """Each object's collision-mesh vertices in world coordinates, (k, 3).

    Tighter than pybullet's AABBs, which add the collision margin (4 cm).
    """
    self._check_open('object_vertices')
    client, result = self._client, []
    for uid in self._objects:
      _, vertices = client.getMeshData(uid, -1)
      position, orientation = client.getBasePositionAndOrientation(uid)
      rotation = np.array(client.getMatrixFromQuaternion(orientation)).reshape(
          3, 3)
      result.append(np.asarray(vertices, np.float64).reshape(-1, 3) @
                    rotation.T + np.asarray(position))
    return tuple(result)

  def num_objects_above(self, height: float) -> int:
    """How many objects have their base above `height` (z, metres)."""
    return int(np.sum(self.object_positions()[:, 2] > height))

  def render(self, height: int, width: int) -> np.ndarray:
    """The camera image, (height, width, 3) uint8 (tiny renderer)."""
    self._check_open('render')
    if self.appearance is None:
      raise RuntimeError('KukaScene.render called before reset().')
    key = (height, width)
    if key not in self._matrices:
      self._matrices[key] = self.appearance.camera.matrices(width, height)
    view, projection = self._matrices[key]
    _, _, rgba, _, _ = self._client.getCameraImage(
        width, height, viewMatrix=view, projectionMatrix=projection,
        lightDirection=list(self.appearance.light_direction), shadow=0,
        renderer=pybullet.ER_TINY_RENDERER,
        flags=pybullet.ER_NO_SEGMENTATION_MASK)
    rgba = np.asarray(rgba, np.uint8).reshape(height, width, 4)
    return np.ascontiguousarray(rgba[:, :, :3])

  def close(self):
    """Disconnects the physics client and removes the textures; safe to
    call twice."""
    self._finalizer()
    if self._texture_finalizer is not None:
      self._texture_finalizer()
