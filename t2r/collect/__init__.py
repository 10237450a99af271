"""The off-policy flywheel: collectors, their replay files, the launcher.

Example:
  >>> from t2r import collect
  >>> stats = collect.run_env(envs, policy, explore_schedule=schedule,
  ...                         episode_to_transitions_fn=to_transitions,
  ...                         replay_writer=writer, root_dir='/tmp/run',
  ...                         num_episodes=100, seed=0)
  >>> collect.replay_pattern('/tmp/run', 'collect')
  '/tmp/run/policy_collect/gs*.tfrecord'
"""

from t2r.collect.collect_eval import CollectEvalRound
from t2r.collect.collect_eval import collect_eval_loop
from t2r.collect.replay_files import policy_dir
from t2r.collect.replay_files import replay_file_path
from t2r.collect.replay_files import replay_pattern
from t2r.collect.env_runner import RunEnvStats
from t2r.collect.env_runner import episode_success
from t2r.collect.env_runner import run_env
