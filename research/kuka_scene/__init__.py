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

from research import lazy_exports

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


__getattr__, __dir__ = lazy_exports.lazy_exports(__name__, _EXPORTS, globals())
