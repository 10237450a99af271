"""The duck pose environment: predict where a duck sits on a table.

A headless pybullet scene (plane, table and a duck from `pybullet_data`) seen
by a camera from a random yaw and pitch. The agent observes one RGB image and
answers with the duck's (x, y) in table coordinates; the reward is minus the
distance to the true position and every episode is one step, so collecting
random episodes yields a supervised regression data set (image -> pose) and,
with the actions and rewards, a critic data set (image, action -> reward).

A *task* fixes the camera (and the optional hidden drift); every episode draws
a new duck pose. With `hidden_drift` each task adds a secret offset to the
target that the image does not show, so only adaptation within a task can
find it (the meta-learning setting of Tensor2Robot's PoseEnv).
"""

import functools
import os
import weakref
from typing import Any, Dict, Optional, Sequence, Tuple

from absl import logging
import gin
import gymnasium
from gymnasium import spaces
import numpy as np
import pybullet
import pybullet_data

import research.pose_env
from research.pose_env import pose_env_specs

# Where the duck may stand, in table coordinates (the table top is 1.5 x 1 m,
# centred on the origin).
DUCK_X_RANGE = (-0.7, 0.7)
DUCK_Y_RANGE = (-0.4, 0.4)
_TABLE_TOP_Z = 0.625
# The duck mesh is modelled y-up; this roll stands it on the table.
_DUCK_ROLL = np.pi / 2
_NEAR, _FAR = 0.1, 10.0

Range = Tuple[float, float]
# `gymnasium.make(ENV_ID)` builds a `PoseEnv` (keyword args pass through);
# the package registers it.
ENV_ID = research.pose_env.ENV_ID


def _as_range(name: str, value: Sequence[float], low: float,
              high: float) -> Range:
  """Validates a (low, high) range lying within [low, high]."""
  try:
    start, end = (float(v) for v in value)
  except (TypeError, ValueError) as e:
    raise ValueError(
        f'{name} must be a (low, high) pair of numbers, got {value!r}.') from e
  if not low <= start <= end <= high:
    raise ValueError(
        f'{name} must satisfy {low} <= low <= high <= {high}, got '
        f'{value!r}.')
  return start, end


def _positive(name: str, value: float) -> float:
  if not value > 0:
    raise ValueError(f'{name} must be positive, got {value!r}.')
  return float(value)


def _disconnect(client_id: int):
  if pybullet.isConnected(physicsClientId=client_id):
    pybullet.disconnect(physicsClientId=client_id)


@gin.configurable
class PoseEnv(gymnasium.Env):
  """Predict the (x, y) of a duck on a table from one 64x64 RGB image.

  Observation: a (height, width, 3) uint8 RGB image. Action: the predicted
  (x, y) of the duck in table coordinates (metres; the table top spans
  [-0.75, 0.75] x [-0.5, 0.5]). Reward: `-||action - target_pose||`. Every
  episode ends after one step (`terminated=True`); the observation does not
  change.

  `info` (from `reset` and `step`) holds what the observation hides, for
  evaluation and plotting: 'target_pose' (float32 (2,), the answer: the
  duck's x, y plus the task's drift), 'duck_pose' (float32 (3,): rendered x,
  y and yaw in radians), 'drift' (float32 (2,)), 'camera_yaw' and
  'camera_pitch' (degrees), 'task_id' (counts tasks since the last seeded
  reset) and 'duck_pixels' (how many pixels show the duck).

  A new task (camera pose, drift) is drawn on a seeded `reset`, every
  `episodes_per_task` resets, or on `reset(options={'new_task': True})`.
  The same seed gives the same images and poses, byte for byte.

  The table and the floor look the same after a half turn, so a camera yaw
  range of 180 degrees or more makes (x, y) and (-x, -y) indistinguishable;
  the default range is 120 degrees wide.

  Example:
    >>> env = PoseEnv()
    >>> image, info = env.reset(seed=0)
    >>> image.shape, image.dtype
    ((64, 64, 3), dtype('uint8'))
    >>> _, reward, terminated, _, info = env.step(info['target_pose'])
    >>> reward, terminated
    (0.0, True)
    >>> env.close()

  Args:
    image_size: Observation height and width: an int or (height, width).
    camera_yaw_range: (low, high) camera yaw around the table in degrees,
      drawn uniformly per task.
    camera_pitch_range: (low, high) camera pitch in degrees within [-90, 0]
      (-90 looks straight down), drawn uniformly per task.
    camera_distance: Metres from the camera to the table centre.
    camera_fov: Vertical field of view in degrees.
    duck_scale: Size of the duck relative to `duck_vhacd.urdf` (about 9 cm
      long at 1); the default shows it on about 14-39 pixels at 64x64.
    hidden_drift: Add a per-task hidden offset to the target.
    drift_range: The drift's x and y are uniform in [-drift_range,
      drift_range].
    episodes_per_task: Resets that share one task before a new one is drawn.
    render_mode: None or 'rgb_array' (`render()` returns the current image).

  Raises:
    ValueError: For an invalid argument (the message names it).
  """

  metadata = {'render_modes': ['rgb_array'], 'render_fps': 4}

  def __init__(self,
               image_size: pose_env_specs.ImageSize = 64,
               camera_yaw_range: Sequence[float] = (-60.0, 60.0),
               camera_pitch_range: Sequence[float] = (-70.0, -40.0),
               camera_distance: float = 2.8,
               camera_fov: float = 40.0,
               duck_scale: float = 2.5,
               hidden_drift: bool = False,
               drift_range: float = 0.3,
               episodes_per_task: int = 1,
               render_mode: Optional[str] = None):
    self._height, self._width = pose_env_specs.as_image_size(image_size)
    self._yaw_range = _as_range('camera_yaw_range', camera_yaw_range, -360.0,
                                360.0)
    self._pitch_range = _as_range('camera_pitch_range', camera_pitch_range,
                                  -90.0, 0.0)
    if self._yaw_range[1] - self._yaw_range[0] >= 180.0:
      logging.warning(
          'PoseEnv camera_yaw_range %s spans 180 degrees or more: the scene '
          'looks the same after a half turn, so some images show two '
          'possible duck positions.', self._yaw_range)
    self._camera_distance = _positive('camera_distance', camera_distance)
    self._camera_fov = _positive('camera_fov', camera_fov)
    if self._camera_fov >= 180.0:
      raise ValueError(f'camera_fov must be below 180 degrees, got '
                       f'{camera_fov!r}.')
    duck_scale = _positive('duck_scale', duck_scale)
    if drift_range < 0:
      raise ValueError(f'drift_range must be >= 0, got {drift_range!r}.')
    self._drift_range = float(drift_range) if hidden_drift else 0.0
    if not isinstance(episodes_per_task, (int, np.integer)) or (
        episodes_per_task < 1):
      raise ValueError(f'episodes_per_task must be a positive int, got '
                       f'{episodes_per_task!r}.')
    self._episodes_per_task = int(episodes_per_task)
    if render_mode not in (None, *self.metadata['render_modes']):
      raise ValueError(
          f'render_mode must be None or one of '
          f'{self.metadata["render_modes"]}, got {render_mode!r}.')
    self.render_mode = render_mode

    self.observation_space = spaces.Box(
        0, 255, (self._height, self._width, 3), np.uint8)
    margin = self._drift_range
    self.action_space = spaces.Box(
        low=np.array([DUCK_X_RANGE[0] - margin, DUCK_Y_RANGE[0] - margin],
                     np.float32),
        high=np.array([DUCK_X_RANGE[1] + margin, DUCK_Y_RANGE[1] + margin],
                      np.float32))

    self._client = pybullet.connect(pybullet.DIRECT)
    if self._client < 0:
      raise RuntimeError('PoseEnv could not start a pybullet DIRECT physics '
                         'client (pybullet.connect returned -1).')
    self._finalizer = weakref.finalize(self, _disconnect, self._client)
    self._duck = self._load_scene(duck_scale)
    self._projection = pybullet.computeProjectionMatrixFOV(
        self._camera_fov, self._width / self._height, _NEAR, _FAR)
    self._task = None
    self._task_id = -1
    self._episodes_in_task = 0
    self._image = None
    self._info = None
    self._episode_over = True

  def _load_scene(self, duck_scale: float) -> int:
    """Loads plane, table and duck; returns the duck's body id."""
    load = functools.partial(pybullet.loadURDF, physicsClientId=self._client)
    root = pybullet_data.getDataPath()
    load(os.path.join(root, 'plane.urdf'))
    load(os.path.join(root, 'table', 'table.urdf'), useFixedBase=True)
    return load(os.path.join(root, 'duck_vhacd.urdf'),
                globalScaling=duck_scale, useFixedBase=True)

  def _sample_task(self):
    """Draws the camera pose and the drift of a new task."""
    yaw = self.np_random.uniform(*self._yaw_range)
    pitch = self.np_random.uniform(*self._pitch_range)
    # Drawn even without drift, so that hidden_drift leaves images unchanged.
    drift = self.np_random.uniform(-self._drift_range, self._drift_range, 2)
    view = pybullet.computeViewMatrixFromYawPitchRoll(
        cameraTargetPosition=[0.0, 0.0, _TABLE_TOP_Z],
        distance=self._camera_distance, yaw=yaw, pitch=pitch, roll=0.0,
        upAxisIndex=2)
    self._task_id += 1
    self._episodes_in_task = 0
    self._task = {'camera_yaw': float(yaw), 'camera_pitch': float(pitch),
                  'drift': drift.astype(np.float32), 'view': view}

  def _place_duck(self) -> np.ndarray:
    """Puts the duck at a random pose on the table; returns (x, y, yaw)."""
    pose = np.array([self.np_random.uniform(*DUCK_X_RANGE),
                     self.np_random.uniform(*DUCK_Y_RANGE),
                     self.np_random.uniform(-np.pi, np.pi)])
    pybullet.resetBasePositionAndOrientation(
        self._duck, [pose[0], pose[1], _TABLE_TOP_Z],
        pybullet.getQuaternionFromEuler([_DUCK_ROLL, 0.0, pose[2]]),
        physicsClientId=self._client)
    return pose

  def _render(self) -> Tuple[np.ndarray, int]:
    """Returns the RGB image and the number of pixels showing the duck."""
    _, _, rgba, _, segmentation = pybullet.getCameraImage(
        self._width, self._height, viewMatrix=self._task['view'],
        projectionMatrix=self._projection,
        renderer=pybullet.ER_TINY_RENDERER, physicsClientId=self._client)
    rgba = np.asarray(rgba, np.uint8).reshape(self._height, self._width, 4)
    duck_pixels = np.count_nonzero(
        np.asarray(segmentation).reshape(self._height, self._width) ==
        self._duck)
    return np.ascontiguousarray(rgba[:, :, :3]), int(duck_pixels)

  def reset(self,
            *,
            seed: Optional[int] = None,
            options: Optional[Dict[str, Any]] = None
           ) -> Tuple[np.ndarray, Dict[str, Any]]:
    """Places the duck anew (and starts a new task when due).

    Args:
      seed: Reseeds the environment and starts a new task.
      options: {'new_task': True} starts a new task now.

    Returns:
      (image, info); see the class docstring for `info`.

    Raises:
      ValueError: For an unknown option.
    """
    options = dict(options or {})
    unknown = set(options) - {'new_task'}
    if unknown:
      raise ValueError(f'PoseEnv.reset got unknown options {sorted(unknown)}; '
                       "the only option is 'new_task' (bool).")
    if not self._finalizer.alive:
      raise RuntimeError('PoseEnv.reset called after close(); create a new '
                         'PoseEnv.')
    super().reset(seed=seed)
    if seed is not None:
      self._task_id = -1
    if (seed is not None or self._task is None or options.get('new_task') or
        self._episodes_in_task >= self._episodes_per_task):
      self._sample_task()
    self._episodes_in_task += 1
    duck_pose = self._place_duck()
    self._image, duck_pixels = self._render()
    self._info = {
        'target_pose': (duck_pose[:2] + self._task['drift']).astype(
            np.float32),
        'duck_pose': duck_pose.astype(np.float32),
        'drift': self._task['drift'],
        'camera_yaw': self._task['camera_yaw'],
        'camera_pitch': self._task['camera_pitch'],
        'task_id': self._task_id,
        'duck_pixels': duck_pixels,
    }
    self._episode_over = False
    return self._image.copy(), self._info_copy()

  def step(self, action: Any
          ) -> Tuple[np.ndarray, float, bool, bool, Dict[str, Any]]:
    """Scores a predicted (x, y); the episode ends.

    Args:
      action: The predicted duck position, shape (2,).

    Returns:
      (image, reward, terminated=True, truncated=False, info) with
      reward = -||action - info['target_pose']||.

    Raises:
      ValueError: If the action is not 2 finite numbers.
      RuntimeError: If the episode is over (call `reset` first).
    """
    if self._episode_over:
      raise RuntimeError('PoseEnv.step called on a finished episode (every '
                         'episode is one step); call reset() first.')
    action = np.asarray(action, dtype=np.float64)
    if action.shape != (2,) or not np.all(np.isfinite(action)):
      raise ValueError(
          f'PoseEnv.step expects the predicted (x, y) of the duck: 2 finite '
          f'numbers, got {action!r} (shape {action.shape}).')
    reward = 0.0 - float(np.linalg.norm(action - self._info['target_pose']))
    self._episode_over = True
    return self._image.copy(), reward, True, False, self._info_copy()

  def _info_copy(self) -> Dict[str, Any]:
    return {key: np.copy(value) if isinstance(value, np.ndarray) else value
            for key, value in self._info.items()}

  def render(self) -> Optional[np.ndarray]:
    """Returns the current image for render_mode 'rgb_array', else None."""
    if self.render_mode != 'rgb_array' or self._image is None:
      return None
    return self._image.copy()

  def close(self):
    """Disconnects the physics client; safe to call twice."""
    self._finalizer()

