"""The KUKA iiwa grasping scene in headless pybullet, shared by projects.

The robot, tray, table, the `random_urdfs` objects (train/test split), the
camera, IK control of the gripper, and seeded domain randomization. Tasks
(grasping in `research.qtopt`, imitation in BC-Z) build on `KukaScene`.

Example:
  >>> from research import kuka_scene
  >>> scene = kuka_scene.KukaScene(object_split='test',
  ...                              randomization='randomized')
  >>> scene.reset(seed=0)
  >>> scene.render(64, 64).shape
  (64, 64, 3)

The names below load on first use (PEP 562).
"""

import importlib

_EXPORTS = {
    'CameraPose': 'camera',
    'EXCLUDED_OBJECTS': 'objects',
    'SPLITS': 'objects',
    'object_names': 'objects',
    'object_urdf_path': 'objects',
    'Appearance': 'randomization',
    'DomainRandomization': 'randomization',
    'PRESETS': 'randomization',
    'get_randomization': 'randomization',
    'KukaScene': 'scene',
    'as_image_size': 'scene',
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
  if name not in _EXPORTS:
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
  module = importlib.import_module(f'{__name__}.{_EXPORTS[name]}')
  value = getattr(module, name)
  globals()[name] = value
  return value


def __dir__():
  return sorted(set(globals()) | set(__all__))
