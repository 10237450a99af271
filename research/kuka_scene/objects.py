"""The graspable objects: pybullet_data's `random_urdfs`, split train/test.

The 1000 procedurally generated objects live in folders `000` ... `999`.
As in pybullet's `KukaDiverseObjectEnv` (and Quillen et al. 2018), folders
ending in 0 are the held-out test objects and all others are for training.
`random_urdfs/168` has NaN vertices and is left out of both splits.

Example:
  >>> names = object_names('test')
  >>> len(names), names[:3]
  (100, ('000', '010', '020'))
  >>> object_urdf_path(names[0])
  '.../pybullet_data/random_urdfs/000/000.urdf'
"""

import functools
import os
from typing import Optional, Tuple

import pybullet_data

SPLITS = ('train', 'test')
# Objects that break the simulation (168 has NaN vertices).
EXCLUDED_OBJECTS = ('168',)


def _default_root() -> str:
  return os.path.join(pybullet_data.getDataPath(), 'random_urdfs')


@functools.lru_cache(maxsize=None)
def _names_in(root: str) -> Tuple[str, ...]:
  if not os.path.isdir(root):
    raise ValueError(
        f'The object directory {root!r} does not exist; pass the '
        "`random_urdfs` folder of pybullet_data (pip install pybullet).")
  return tuple(sorted(
      name for name in os.listdir(root)
      if os.path.isfile(os.path.join(root, name, name + '.urdf'))))


def check_split(split: str) -> str:
  """Returns `split` if it is 'train' or 'test'.

  Raises:
    ValueError: For any other value.
  """
  if split not in SPLITS:
    raise ValueError(
        f"object_split must be one of {SPLITS}, got {split!r}. 'train' "
        "holds the random_urdfs folders not ending in 0, 'test' those "
        'ending in 0.')
  return split


def object_names(split: str, root: Optional[str] = None) -> Tuple[str, ...]:
  """The object folder names of a split, sorted, without excluded objects.

  Example:
    >>> len(object_names('train')), len(object_names('test'))
    (899, 100)

  Args:
    split: 'train' (folders not ending in 0) or 'test' (ending in 0).
    root: The `random_urdfs` directory; default pybullet_data's.

  Returns:
    The folder names, e.g. ('000', '010', ...).

  Raises:
    ValueError: For an unknown split or a missing directory.
  """
  check_split(split)
  names = _names_in(root or _default_root())
  is_test = split == 'test'
  return tuple(name for name in names
               if name.endswith('0') == is_test and
               name not in EXCLUDED_OBJECTS)


def object_urdf_path(name: str, root: Optional[str] = None) -> str:
  """The URDF file of object folder `name` (e.g. '010').

  Raises:
    ValueError: If the object is excluded or has no URDF.
  """
  if name in EXCLUDED_OBJECTS:
    raise ValueError(f'Object {name!r} is excluded ({EXCLUDED_OBJECTS}): '
                     'its mesh has NaN vertices.')
  path = os.path.join(root or _default_root(), name, name + '.urdf')
  if not os.path.isfile(path):
    raise ValueError(f'No object URDF at {path!r} (object {name!r}).')
  return path
