"""Image sizes as research configs give them: 64 or (height, width)."""

from typing import Sequence, Tuple, Union

import numpy as np

ImageSize = Union[int, Sequence[int]]


def as_image_size(image_size: ImageSize) -> Tuple[int, int]:
  """Returns (height, width) from an int or a (height, width) pair.

  Example:
    >>> as_image_size(64), as_image_size((512, 640))
    ((64, 64), (512, 640))

  Raises:
    ValueError: If `image_size` is not a positive int or a pair of them.
  """
  if isinstance(image_size, (int, np.integer)) and not isinstance(
      image_size, bool):
    size = (image_size, image_size)
  elif isinstance(image_size, (list, tuple, np.ndarray)):
    size = tuple(image_size)
  else:
    size = ()
  if len(size) != 2 or not all(
      isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s > 0
      for s in size):
    raise ValueError(
        f'image_size must be a positive int or a (height, width) pair of '
        f'positive ints, got {image_size!r}.')
  return int(size[0]), int(size[1])
