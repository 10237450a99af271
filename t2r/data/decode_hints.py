"""Decode hints: decode only the part of a JPEG that the preprocessor keeps.

A preprocessor that crops or shrinks recorded images declares it through
`decode_hints(mode)`: per image path of its in feature spec, a `DecodeHint`
saying which window it crops (random or centred) and to which size it then
resizes. The input generator passes the hints to the parser, which picks a
`DecodePlan` per image from the hint and the spec alone (no data):

* `'crop'`: the window is smaller than the stored image. Only the window is
  decoded (`tf.io.decode_and_crop_jpeg`), at offsets drawn before decoding
  with the distribution of `preprocessors.image_transformations.
  RandomCropImages` (one uniform draw per example, shared by its timesteps,
  from stateless ops seeded like it) or centred like `CenterCropImages`.
  Accuracy against decode-then-crop: libjpeg upsamples the chroma of the
  window's border rows and columns without their outside neighbours, so
  pixels within 2 of the window's edges may differ by a few levels, the
  rest is identical (measured on camera-like q95 4:2:0 images: for 472x472
  windows of 512x640, 0-0.3% of the values differ, by at most 6 levels, a
  mean absolute difference below 0.005 levels per channel; for a 100x100
  window about 1%). The tests check a mean below `CROP_MEAN_ABS_TOLERANCE`
  and fewer than `CROP_DIFFERING_FRACTION` of the values differing for
  100x100 windows.
* `'scale'`: no crop, and the final size is at most half the stored size in
  both dimensions. The image is decoded at 1/2, 1/4 or 1/8 of its size by
  libjpeg's DCT scaling (`tf.io.decode_jpeg(ratio=...)`), the largest ratio
  whose result is still at least the final size; the preprocessor's resize
  finishes the job. Accuracy against full decode + the same antialiased
  resize (512x640 to 64x64, 128x128 or 200x256): a mean absolute difference
  of 0.5-1.5 levels (of 255) per channel, at most ~6 levels, on camera-like
  frames; about twice that on images with 4x the detail per pixel. The tests
  check a mean per channel below `SCALE_MEAN_ABS_TOLERANCE` on camera-like
  frames.
* `'full'`: everything else (PNG, no hint, hints turned off, windows as large
  as the image); the image is decoded in full as before.

The stored size is still checked: a hinted decode reads the JPEG header
(`tf.image.extract_jpeg_shape`) and fails for an image whose size is not the
spec's, just like a full decode.

Example:
  >>> hint = DecodeHint(crop_size=(472, 472), random_crop=True,
  ...                   resize_to=(472, 472))
  >>> plan_decode(hint, spec)      # spec: (512, 640, 3) uint8 'jpeg'
  DecodePlan(kind='crop', decoded_size=(472, 472), ratio=1, random_crop=True)
"""

import dataclasses
import math
from typing import Any, Optional, Tuple

import tensorflow as tf

# The DCT scaling ratios libjpeg offers through tf.io.decode_jpeg.
SCALE_RATIOS = (8, 4, 2)
# Mean absolute difference per channel (levels of 255) the tests allow for a
# windowed decode against decode-then-crop.
CROP_MEAN_ABS_TOLERANCE = 0.05
# The fraction of values that may differ at all (100x100 windows; larger
# windows have fewer border pixels).
CROP_DIFFERING_FRACTION = 0.03
# The same for a DCT-scaled decode + resize against full decode + resize.
SCALE_MEAN_ABS_TOLERANCE = 2.0

_KINDS = ('full', 'crop', 'scale')


def _check_size(value: Any, argument: str) -> Tuple[int, int]:
  if (not isinstance(value, (list, tuple)) or len(value) != 2 or not all(
      isinstance(v, int) and not isinstance(v, bool) and v > 0
      for v in value)):
    raise ValueError(f'DecodeHint: {argument} must be (height, width) with '
                     f'positive ints, got {value!r}.')
  return tuple(value)


@dataclasses.dataclass(frozen=True)
class DecodeHint:
  """What a preprocessor does first with a decoded image: crop, then resize.

  Example:
    >>> DecodeHint(crop_size=(512, 640), random_crop=False,
    ...            resize_to=(64, 64))   # shrink the whole image to 64x64

  Attributes:
    crop_size: (height, width) of the window the preprocessor crops; the
      stored size when it does not crop.
    random_crop: True: a uniformly random window per example (as
      `RandomCropImages`); False: the central one (as `CenterCropImages`).
    resize_to: (height, width) the window is then resized to (antialiased
      bilinear); equal to `crop_size` when there is no resize.

  Raises:
    ValueError: For sizes that are not two positive ints.
    TypeError: If `random_crop` is not a bool.
  """
  crop_size: Tuple[int, int]
  random_crop: bool
  resize_to: Tuple[int, int]

  def __post_init__(self):
    object.__setattr__(self, 'crop_size', _check_size(self.crop_size,
                                                      'crop_size'))
    object.__setattr__(self, 'resize_to', _check_size(self.resize_to,
                                                      'resize_to'))
    if not isinstance(self.random_crop, bool):
      raise TypeError(f'DecodeHint: random_crop must be a bool, got '
                      f'{self.random_crop!r}.')


@dataclasses.dataclass(frozen=True)
class DecodePlan:
  """How the parser decodes one image feature.

  Attributes:
    kind: 'full', 'crop' (decode the window only) or 'scale' (DCT-scaled
      decode).
    decoded_size: (height, width) of the decoded images.
    ratio: The DCT scaling ratio (1 unless kind is 'scale').
    random_crop: For 'crop': a random window per example, else centred.
  """
  kind: str
  decoded_size: Tuple[int, int]
  ratio: int = 1
  random_crop: bool = False

  def __post_init__(self):
    if self.kind not in _KINDS:
      raise ValueError(f'DecodePlan: kind must be one of {_KINDS}, got '
                       f'{self.kind!r}.')


def plan_decode(hint: Optional[DecodeHint], spec: Any) -> DecodePlan:
  """Chooses how to decode the images of `spec` for a preprocessor's hint.

  Example:
    >>> plan_decode(DecodeHint((512, 640), False, (64, 64)), spec)
    DecodePlan(kind='scale', decoded_size=(64, 80), ratio=8, ...)

  Args:
    hint: The preprocessor's hint for this image, or None.
    spec: The image spec (shape ending in (height, width, channels),
      `data_format`).

  Returns:
    The plan: 'crop' when the window is smaller than the stored image,
    'scale' when the final size is at most half the stored size, else (and
    for PNG or without a hint) 'full'.

  Raises:
    ValueError: If the hint's window does not fit the stored image.
  """
  stored = tuple(spec.shape[-3:-1].as_list())
  full = DecodePlan('full', stored)
  if hint is None:
    return full
  if hint.crop_size[0] > stored[0] or hint.crop_size[1] > stored[1]:
    raise ValueError(
        f'A decode hint crops {hint.crop_size} from images stored at '
        f'{stored} (spec {spec!r}); the window must fit the image. Fix the '
        "preprocessor's crop size or the spec.")
  if spec.data_format != 'jpeg':
    return full
  if hint.crop_size != stored:
    return DecodePlan('crop', hint.crop_size, random_crop=hint.random_crop)
  for ratio in SCALE_RATIOS:
    scaled = scaled_size(stored, ratio)
    if (2 * hint.resize_to[0] <= stored[0] and
        2 * hint.resize_to[1] <= stored[1] and
        scaled[0] >= hint.resize_to[0] and scaled[1] >= hint.resize_to[1]):
      return DecodePlan('scale', scaled, ratio=ratio)
  return full


def scaled_size(size: Tuple[int, int], ratio: int) -> Tuple[int, int]:
  """(height, width) that libjpeg decodes `size` to at 1/`ratio` scale.

  Example:
    >>> scaled_size((512, 640), 8)
    (64, 80)

  Args:
    size: The stored (height, width).
    ratio: 1, 2, 4 or 8.

  Returns:
    The rounded-up quotient of each dimension.
  """
  return tuple(math.ceil(s / ratio) for s in size)


def random_crop_offsets(batch_size: tf.Tensor, input_size: Tuple[int, int],
                        crop_size: Tuple[int, int],
                        seed: tf.Tensor) -> Tuple[tf.Tensor, tf.Tensor]:
  """Per-example top-left offsets of uniformly random crop windows.

  `RandomCropImages` and the windowed decode both draw with this function,
  so their windows have the same distribution (and, for the same seed, the
  same values).

  Example:
    >>> top, left = random_crop_offsets(8, (512, 640), (472, 472),
    ...                                 tf.constant([1, 2], tf.int64))

  Args:
    batch_size: Number of examples (scalar int).
    input_size: (height, width) of the images.
    crop_size: (height, width) of the windows.
    seed: A shape [2] integer seed of stateless random ops.

  Returns:
    (offset_y, offset_x), int32 tensors of shape (batch_size,).
  """
  seed_y, seed_x = tf.unstack(tf.random.split(seed, 2))
  shape = tf.reshape(batch_size, [1])
  offset_y = tf.random.stateless_uniform(
      shape, seed_y, minval=0, maxval=input_size[0] - crop_size[0] + 1,
      dtype=tf.int32)
  offset_x = tf.random.stateless_uniform(
      shape, seed_x, minval=0, maxval=input_size[1] - crop_size[1] + 1,
      dtype=tf.int32)
  return offset_y, offset_x
