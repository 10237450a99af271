"""The duck pose environment (Tensor2Robot's PoseEnv) and its data collection.

Example:
  >>> from research import pose_env
  >>> env = pose_env.PoseEnv()
  >>> stats = pose_env.collect_episodes(
  ...     env, pose_env.PoseEnvRandomPolicy(seed=0), num_episodes=10,
  ...     output_dir='/tmp/pose_env_data', seed=0)

The names below load on first use (PEP 562), so that importing the package
stays light: `python -m research.pose_env.quickstart` imports this package
before the quickstart, which must quiet TensorFlow's logs before TensorFlow
is imported. `gymnasium.make('t2r/PoseEnv-v0')` works once `research.pose_env`
is imported.
"""

from research import lazy_exports

_EXPORTS = {
    'collect_episodes': 'collection',
    'CollectStats': 'collection',
    'run_episode': 'collection',
    'episode_to_transitions': 'episode_to_transitions',
    'DUCK_X_RANGE': 'pose_env',
    'DUCK_Y_RANGE': 'pose_env',
    'PoseEnv': 'pose_env',
    'get_pose_env_specs': 'pose_env_specs',
    'PoseEnvRandomPolicy': 'random_policy',
}

__all__ = sorted(_EXPORTS) + ['ENV_ID']

# The gymnasium id of `PoseEnv`, registered with a lazy entry point.
ENV_ID = 't2r/PoseEnv-v0'


def _register_env():
  import gymnasium  # pylint: disable=g-import-not-at-top
  if ENV_ID not in gymnasium.registry:
    gymnasium.register(ENV_ID,
                       entry_point='research.pose_env.pose_env:PoseEnv')


__getattr__, __dir__ = lazy_exports.lazy_exports(__name__, _EXPORTS, globals())


_register_env()
