"""The scene camera: a pose (target, yaw, pitch, distance, fov) and its images.

The default pose is pybullet `KukaDiverseObjectEnv`'s: looking at
(0.23, 0.2, 0.54) from yaw 245 and pitch -56 degrees at 1 m, with a 20
degree vertical field of view, so the tray fills most of the image.

Example:
  >>> pose = CameraPose()
  >>> view, projection = pose.matrices(width=64, height=64)
  >>> len(view), len(projection)
  (16, 16)
"""

import dataclasses
import math
from typing import Sequence, Tuple

import pybullet

DEFAULT_TARGET = (0.23, 0.2, 0.54)
DEFAULT_YAW = 245.0
DEFAULT_PITCH = -56.0
DEFAULT_DISTANCE = 1.0
DEFAULT_FOV = 20.0
NEAR, FAR = 0.01, 10.0


def _finite(name: str, value: float) -> float:
  try:
    value = float(value)
  except (TypeError, ValueError) as e:
    raise ValueError(f'{name} must be a number, got {value!r}.') from e
  if not math.isfinite(value):
    raise ValueError(f'{name} must be finite, got {value!r}.')
  return value


@dataclasses.dataclass(frozen=True)
class CameraPose:
  """Where the camera looks from (pybullet's yaw/pitch/distance convention).

  Attributes:
    target: The (x, y, z) the camera looks at, metres.
    yaw: Degrees around the vertical axis.
    pitch: Degrees, in (-90, 90); negative looks down.
    distance: Metres from the target, > 0.
    fov: Vertical field of view in degrees, in (0, 180).
  """
  target: Tuple[float, float, float] = DEFAULT_TARGET
  yaw: float = DEFAULT_YAW
  pitch: float = DEFAULT_PITCH
  distance: float = DEFAULT_DISTANCE
  fov: float = DEFAULT_FOV

  def __post_init__(self):
    target = tuple(_finite('CameraPose target', v) for v in self.target)
    if len(target) != 3:
      raise ValueError(f'CameraPose target must be (x, y, z), got '
                       f'{self.target!r}.')
    object.__setattr__(self, 'target', target)
    for name in ('yaw', 'pitch', 'distance', 'fov'):
      object.__setattr__(self, name,
                         _finite(f'CameraPose {name}', getattr(self, name)))
    if not -90.0 < self.pitch < 90.0:
      raise ValueError(f'CameraPose pitch must be in (-90, 90) degrees, got '
                       f'{self.pitch!r}.')
    if self.distance <= 0:
      raise ValueError(f'CameraPose distance must be positive, got '
                       f'{self.distance!r}.')
    if not 0.0 < self.fov < 180.0:
      raise ValueError(f'CameraPose fov must be in (0, 180) degrees, got '
                       f'{self.fov!r}.')

  def offset(self, target: Sequence[float] = (0.0, 0.0, 0.0),
             yaw: float = 0.0, pitch: float = 0.0, distance: float = 0.0,
             fov: float = 0.0) -> 'CameraPose':
    """Returns this pose moved by the given amounts.

    Example:
      >>> CameraPose().offset(yaw=5.0).yaw
      250.0
    """
    return CameraPose(
        target=tuple(a + float(b) for a, b in zip(self.target, target)),
        yaw=self.yaw + yaw, pitch=self.pitch + pitch,
        distance=self.distance + distance, fov=self.fov + fov)

  def matrices(self, width: int, height: int
              ) -> Tuple[Tuple[float, ...], Tuple[float, ...]]:
    """Returns pybullet's (view matrix, projection matrix) for an image size."""
    view = pybullet.computeViewMatrixFromYawPitchRoll(
        cameraTargetPosition=list(self.target), distance=self.distance,
        yaw=self.yaw, pitch=self.pitch, roll=0.0, upAxisIndex=2)
    projection = pybullet.computeProjectionMatrixFOV(
        self.fov, width / height, NEAR, FAR)
    return tuple(view), tuple(projection)
