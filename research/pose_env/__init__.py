"""The duck pose environment (Tensor2Robot's PoseEnv) and its data collection.

Example:
  >>> from research import pose_env
  >>> env = pose_env.PoseEnv()
  >>> stats = pose_env.collect_episodes(
  ...     env, pose_env.PoseEnvRandomPolicy(seed=0), num_episodes=10,
  ...     output_dir='/tmp/pose_env_data', seed=0)
"""

from research.pose_env.collection import collect_episodes
from research.pose_env.collection import CollectStats
from research.pose_env.collection import run_episode
from research.pose_env.episode_to_transitions import episode_to_transitions
from research.pose_env.pose_env import DUCK_X_RANGE
from research.pose_env.pose_env import DUCK_Y_RANGE
from research.pose_env.pose_env import ENV_ID
from research.pose_env.pose_env import PoseEnv
from research.pose_env.pose_env_specs import get_pose_env_specs
from research.pose_env.random_policy import PoseEnvRandomPolicy
