"""QT-Opt grasping in the KUKA scene: envs, scripted baselines, record specs.

Example:
  >>> import gymnasium
  >>> from research import qtopt
  >>> env = gymnasium.make('t2r/KukaGraspMultiStep-v0', object_split='test')
  >>> policy = qtopt.make_baseline('privileged', [env.unwrapped], seed=0)

The names below load on first use (PEP 562), so importing the package stays
light (no pybullet or TensorFlow until needed). `gymnasium.make` works for
`MULTI_STEP_ENV_ID` ('t2r/KukaGraspMultiStep-v0') and `GRASP_POINT_ENV_ID`
('t2r/KukaGraspPoint-v0') once `research.qtopt` is imported.
"""

from research import lazy_exports

_EXPORTS = {
    'KukaGraspEnv': 'grasping_env',
    'KukaGraspMultiStepEnv': 'grasping_env',
    'KukaGraspPointEnv': 'grasping_env',
    'BASELINES': 'baselines',
    'PrivilegedExpertPolicy': 'baselines',
    'RandomDescendingPolicy': 'baselines',
    'StraightDownPolicy': 'baselines',
    'UniformRandomPolicy': 'baselines',
    'make_baseline': 'baselines',
    'episode_to_transitions': 'qtopt_specs',
    'get_qtopt_specs': 'qtopt_specs',
    'specs_for_env': 'qtopt_specs',
}

__all__ = sorted(_EXPORTS) + ['GRASP_POINT_ENV_ID', 'MULTI_STEP_ENV_ID']

MULTI_STEP_ENV_ID = 't2r/KukaGraspMultiStep-v0'
GRASP_POINT_ENV_ID = 't2r/KukaGraspPoint-v0'


def _register_envs():
  import gymnasium  # pylint: disable=g-import-not-at-top
  for env_id, entry_point in (
      (MULTI_STEP_ENV_ID, 'research.qtopt.grasping_env:KukaGraspMultiStepEnv'),
      (GRASP_POINT_ENV_ID, 'research.qtopt.grasping_env:KukaGraspPointEnv')):
    if env_id not in gymnasium.registry:
      gymnasium.register(env_id, entry_point=entry_point)


__getattr__, __dir__ = lazy_exports.lazy_exports(__name__, _EXPORTS, globals())


_register_envs()
