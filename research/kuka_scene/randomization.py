"""Domain randomization of the KUKA scene's appearance, seeded and gin-wired.

Randomizing what the camera sees (object and tray colours, tray textures,
the light direction and the camera pose) so that a policy cannot rely on
any one look is how OpenAI's Rubik's-cube hand crossed from simulation to
reality. Here a *shifted* setting stands in for reality: colours from a hue
band the randomized training setting never draws, textures from another
bank and a camera moved beyond the training jitter; the drop in success
from the randomized to the shifted setting measures transfer.

Appearance never changes the physics: the objects, their placement and
every motion are drawn from a separate random stream, so the same episode
seed gives the same scene under every setting.

Example:
  >>> randomization = get_randomization('randomized')
  >>> appearance = randomization.sample(np.random.default_rng(0),
  ...                                   num_objects=5)
  >>> appearance.camera.yaw        # 245 plus up to 3 degrees of jitter
  246.1...
  >>> len(appearance.object_colors)
  5
"""

import colorsys
import dataclasses
import math
import os
from typing import Optional, Sequence, Tuple, Union

import gin
import numpy as np
from PIL import Image

from research.kuka_scene import camera as camera_lib

Rgba = Tuple[float, float, float, float]
Range = Tuple[float, float]

# The light of the unrandomized scene: from above, behind the camera.
DEFAULT_LIGHT_DIRECTION = (0.52, -0.45, 1.0)
TEXTURE_SIZE = 64
_PATTERNS = ('checker', 'stripes', 'blobs')


def _range(name: str, value: Sequence[float], low: float,
           high: float) -> Range:
  try:
    start, end = (float(v) for v in value)
  except (TypeError, ValueError) as e:
    raise ValueError(f'DomainRandomization {name} must be a (low, high) pair '
                     f'of numbers, got {value!r}.') from e
  if not low <= start <= end <= high:
    raise ValueError(f'DomainRandomization {name} must satisfy {low} <= low '
                     f'<= high <= {high}, got {value!r}.')
  return start, end


def _non_negative(name: str, value: float) -> float:
  try:
    value = float(value)
  except (TypeError, ValueError) as e:
    raise ValueError(f'DomainRandomization {name} must be a number, got '
                     f'{value!r}.') from e
  if not (math.isfinite(value) and value >= 0):
    raise ValueError(f'DomainRandomization {name} must be >= 0, got '
                     f'{value!r}.')
  return value


@dataclasses.dataclass(frozen=True)
class Appearance:
  """One episode's sampled look of the scene.

  Attributes:
    camera: The camera pose of the episode.
    light_direction: The direction towards the light (x, y, z).
    object_colors: One RGBA per object, or None to keep the URDF colours.
    tray_color: The tray's RGBA, or None to keep it.
    tray_texture: Index into the texture bank for the tray, or None to keep
      its own texture.
  """
  camera: camera_lib.CameraPose
  light_direction: Tuple[float, float, float]
  object_colors: Optional[Tuple[Rgba, ...]]
  tray_color: Optional[Rgba]
  tray_texture: Optional[int]


@gin.configurable
@dataclasses.dataclass(frozen=True)
class DomainRandomization:
  """What to randomize per episode, and how far.

  The default randomizes nothing (the plain scene, its camera exactly at
  `camera.CameraPose()`). `get_randomization('randomized')` is the training
  setting and `get_randomization('shifted')` the unseen test setting.
  Jitters are half-widths of uniform ranges; offsets move the camera by a
  fixed amount before the jitter.

  Example:
    >>> DomainRandomization(object_colors=True, camera_yaw_jitter=3.0)
    DomainRandomization(object_colors=True, ..., camera_yaw_jitter=3.0, ...)

  Attributes:
    object_colors: Give every object a random colour (from the HSV ranges).
    tray_color: Give the tray a random colour.
    texture_probability: Probability that the tray gets a procedural texture
      from the bank (checkers, stripes, blobs in two random colours). The
      objects' meshes have no texture coordinates, so they are coloured,
      not textured.
    light: Draw the light direction (azimuth uniform, elevation in
      `light_elevation_range` degrees) instead of the default one.
    light_elevation_range: (low, high) light elevation in degrees.
    camera_yaw_jitter: Degrees.
    camera_pitch_jitter: Degrees.
    camera_distance_jitter: Metres.
    camera_target_jitter: Metres, per axis of the look-at point.
    camera_fov_jitter: Degrees.
    camera_yaw_offset: Degrees, fixed.
    camera_pitch_offset: Degrees, fixed.
    camera_distance_offset: Metres, fixed.
    hue_range: (low, high) hue in [0, 1] of random colours.
    saturation_range: (low, high) saturation in [0, 1].
    value_range: (low, high) value (brightness) in [0, 1].
    texture_seed: Seeds the texture bank (another seed: unseen textures).
    num_textures: Textures in the bank.

  Raises:
    ValueError: For a negative jitter, a probability outside [0, 1] or a
      range outside its bounds (the message names the field).
  """
  object_colors: bool = False
  tray_color: bool = False
  texture_probability: float = 0.0
  light: bool = False
  light_elevation_range: Tuple[float, float] = (35.0, 80.0)
  camera_yaw_jitter: float = 0.0
  camera_pitch_jitter: float = 0.0
  camera_distance_jitter: float = 0.0
  camera_target_jitter: float = 0.0
  camera_fov_jitter: float = 0.0
  camera_yaw_offset: float = 0.0
  camera_pitch_offset: float = 0.0
  camera_distance_offset: float = 0.0
  hue_range: Tuple[float, float] = (0.0, 1.0)
  saturation_range: Tuple[float, float] = (0.3, 1.0)
  value_range: Tuple[float, float] = (0.3, 1.0)
  texture_seed: int = 0
  num_textures: int = 16

  def __post_init__(self):
    for name in ('object_colors', 'tray_color', 'light'):
      if not isinstance(getattr(self, name), (bool, np.bool_)):
        raise ValueError(f'DomainRandomization {name} must be a bool, got '
                         f'{getattr(self, name)!r}.')
    probability = _non_negative('texture_probability',
                                self.texture_probability)
    if probability > 1:
      raise ValueError(f'DomainRandomization texture_probability must be in '
                       f'[0, 1], got {self.texture_probability!r}.')
    object.__setattr__(self, 'texture_probability', probability)
    for name in ('camera_yaw_jitter', 'camera_pitch_jitter',
                 'camera_distance_jitter', 'camera_target_jitter',
                 'camera_fov_jitter'):
      object.__setattr__(self, name, _non_negative(name, getattr(self, name)))
    for name in ('camera_yaw_offset', 'camera_pitch_offset',
                 'camera_distance_offset'):
      value = getattr(self, name)
      if not isinstance(value, (int, float, np.number)) or not math.isfinite(
          value):
        raise ValueError(f'DomainRandomization {name} must be a finite '
                         f'number, got {value!r}.')
      object.__setattr__(self, name, float(value))
    object.__setattr__(self, 'light_elevation_range', _range(
        'light_elevation_range', self.light_elevation_range, 0.0, 90.0))
    for name in ('hue_range', 'saturation_range', 'value_range'):
      object.__setattr__(self, name,
                         _range(name, getattr(self, name), 0.0, 1.0))
    for name in ('texture_seed', 'num_textures'):
      value = getattr(self, name)
      if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f'DomainRandomization {name} must be an int, got '
                         f'{value!r}.')
    if self.texture_seed < 0 or self.num_textures < 1:
      raise ValueError(
          f'DomainRandomization needs texture_seed >= 0 and num_textures >= '
          f'1, got {self.texture_seed!r} and {self.num_textures!r}.')

  @property
  def is_identity(self) -> bool:
    """True if nothing is randomized or offset (the plain scene)."""
    return self == DomainRandomization()

  def _color(self, rng: np.random.Generator) -> Rgba:
    hue, saturation, value = (rng.uniform(*r) for r in (
        self.hue_range, self.saturation_range, self.value_range))
    return (*colorsys.hsv_to_rgb(hue % 1.0, saturation, value), 1.0)

  def sample(self, rng: np.random.Generator, num_objects: int,
             camera: Optional[camera_lib.CameraPose] = None) -> Appearance:
    """Draws one episode's appearance.

    The same number of values is drawn whatever is enabled, so turning one
    aspect on leaves the others' draws unchanged.

    Example:
      >>> DomainRandomization().sample(np.random.default_rng(0), 5).camera
      CameraPose(target=(0.23, 0.2, 0.54), yaw=245.0, pitch=-56.0, ...)

    Args:
      rng: The episode's appearance random stream.
      num_objects: How many object colours to draw.
      camera: The nominal camera pose; default `CameraPose()`.

    Returns:
      An `Appearance`.
    """
    camera = camera or camera_lib.CameraPose()
    unit = rng.uniform(-1.0, 1.0, size=7)
    pose = camera.offset(
        target=unit[4:7] * self.camera_target_jitter,
        yaw=self.camera_yaw_offset + unit[0] * self.camera_yaw_jitter,
        pitch=self.camera_pitch_offset + unit[1] * self.camera_pitch_jitter,
        distance=(self.camera_distance_offset +
                  unit[2] * self.camera_distance_jitter),
        fov=unit[3] * self.camera_fov_jitter)
    azimuth = rng.uniform(0.0, 2.0 * math.pi)
    elevation = math.radians(rng.uniform(*self.light_elevation_range))
    light = (math.cos(elevation) * math.cos(azimuth),
             math.cos(elevation) * math.sin(azimuth), math.sin(elevation))
    object_colors = tuple(self._color(rng) for _ in range(num_objects))
    tray_color = self._color(rng)
    textured = rng.uniform() < self.texture_probability
    texture = int(rng.integers(self.num_textures))
    return Appearance(
        camera=pose,
        light_direction=light if self.light else DEFAULT_LIGHT_DIRECTION,
        object_colors=object_colors if self.object_colors else None,
        tray_color=tray_color if self.tray_color else None,
        tray_texture=texture if textured else None)

  def texture_images(self) -> Tuple[np.ndarray, ...]:
    """The texture bank: `num_textures` (64, 64, 3) uint8 images.

    Deterministic in `texture_seed` and the colour ranges.
    """
    rngs = [np.random.default_rng(s) for s in
            np.random.SeedSequence(self.texture_seed).spawn(self.num_textures)]
    return tuple(self._texture(rng) for rng in rngs)

  def _texture(self, rng: np.random.Generator) -> np.ndarray:
    first = np.array(self._color(rng)[:3])
    second = np.array(self._color(rng)[:3])
    pattern = _PATTERNS[int(rng.integers(len(_PATTERNS)))]
    y, x = np.mgrid[0:TEXTURE_SIZE, 0:TEXTURE_SIZE] / TEXTURE_SIZE
    if pattern == 'checker':
      cells = int(rng.integers(2, 9))
      mask = ((np.floor(x * cells) + np.floor(y * cells)) % 2).astype(bool)
    elif pattern == 'stripes':
      angle = rng.uniform(0.0, math.pi)
      frequency = rng.uniform(2.0, 10.0)
      mask = np.sin(2 * math.pi * frequency * (
          x * math.cos(angle) + y * math.sin(angle))) > 0
    else:
      coarse = rng.uniform(size=(8, 8))
      mask = np.kron(coarse, np.ones((TEXTURE_SIZE // 8,) * 2)) > 0.5
    image = np.where(mask[..., None], first, second)
    return np.round(image * 255).astype(np.uint8)

  def write_textures(self, directory: str) -> Tuple[str, ...]:
    """Writes the texture bank as PNG files; returns their paths."""
    paths = []
    for index, image in enumerate(self.texture_images()):
      path = os.path.join(directory, f'texture_{self.texture_seed}_'
                          f'{index:03d}.png')
      Image.fromarray(image).save(path)
      paths.append(path)
    return tuple(paths)


def _randomized() -> DomainRandomization:
  return DomainRandomization(
      object_colors=True, tray_color=True, texture_probability=0.5,
      light=True, camera_yaw_jitter=3.0, camera_pitch_jitter=3.0,
      camera_distance_jitter=0.03, camera_target_jitter=0.01,
      camera_fov_jitter=1.0, hue_range=(0.0, 0.65), texture_seed=0)


def _shifted() -> DomainRandomization:
  return dataclasses.replace(
      _randomized(), hue_range=(0.7, 0.95), texture_seed=1,
      camera_yaw_offset=7.0, camera_pitch_offset=5.0,
      camera_distance_offset=0.06)


# Named settings: 'none' (the plain scene), 'randomized' (training) and
# 'shifted' (unseen colours, textures and camera offsets).
PRESETS = {
    'none': DomainRandomization,
    'randomized': _randomized,
    'shifted': _shifted,
}


@gin.configurable
def get_randomization(
    randomization: Union[str, DomainRandomization, None] = 'none'
) -> DomainRandomization:
  """Returns a `DomainRandomization` from a preset name or as given.

  Example:
    >>> get_randomization('shifted').hue_range
    (0.7, 0.95)

  Args:
    randomization: A preset name ('none', 'randomized', 'shifted'), a
      `DomainRandomization`, or None (no randomization).

  Returns:
    The `DomainRandomization`.

  Raises:
    ValueError: For an unknown preset name.
    TypeError: For any other type.
  """
  if randomization is None:
    return DomainRandomization()
  if isinstance(randomization, DomainRandomization):
    return randomization
  if isinstance(randomization, str):
    if randomization not in PRESETS:
      raise ValueError(
          f'randomization must be one of {sorted(PRESETS)} or a '
          f'DomainRandomization, got {randomization!r}.')
    return PRESETS[randomization]()
  raise TypeError(
      f'randomization must be a preset name {sorted(PRESETS)}, a '
      f'DomainRandomization or None, got {type(randomization).__name__} '
      f'{randomization!r}.')
