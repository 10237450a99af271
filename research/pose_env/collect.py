r"""Collects random-policy pose-env episodes into TFRecords.

Usage:
  python -m research.pose_env.collect --output_dir /tmp/pose_env_data \
      --num_episodes 1000 --seed 0 \
      --gin_configs research/pose_env/configs/collect.gin

The environment (`PoseEnv`), the policy (`PoseEnvRandomPolicy`), the
collection (`collect_episodes`) and the writer (`TFRecordReplayWriter`) take
their settings from gin; the flags give the output, the size and the seed.
"""

if __name__ == '__main__':
  # Before TensorFlow is imported: its C++ logs print at import.
  from t2r import quiet_logs  # pylint: disable=g-import-not-at-top
  quiet_logs.quiet_tensorflow_logs()

from typing import Sequence

from absl import app
from absl import flags
from absl import logging
import gin

from research.pose_env import collection
from research.pose_env import pose_env
from research.pose_env import random_policy


def _define_flags():
  """Defines the command-line flags.

  Called only when run as a program, so that importing this module registers
  no global flags that could clash with another program's.
  """
  flags.DEFINE_string('output_dir', None,
                      'Directory to write the TFRecords to.', required=True)
  flags.DEFINE_integer('num_episodes', 1000, 'Episodes to collect.')
  flags.DEFINE_integer('seed', None,
                       'Seeds the env and the policy; unset: random.')
  flags.DEFINE_multi_string(
      'gin_configs', [],
      'Gin config files, e.g. research/pose_env/configs/collect.gin.')
  flags.DEFINE_multi_string(
      'gin_bindings', [], "Gin bindings, e.g. 'PoseEnv.hidden_drift = True'.")


def main(argv: Sequence[str]):
  del argv  # Everything comes from flags.
  flag_values = flags.FLAGS
  gin.parse_config_files_and_bindings(flag_values.gin_configs,
                                      flag_values.gin_bindings)
  env = pose_env.PoseEnv()
  try:
    stats = collection.collect_episodes(
        env, random_policy.PoseEnvRandomPolicy(seed=flag_values.seed),
        num_episodes=flag_values.num_episodes,
        output_dir=flag_values.output_dir, seed=flag_values.seed)
  finally:
    env.close()
  logging.info('Wrote %d transitions of %d episodes to %s in %.1f s '
               '(%.1f episodes/s, mean reward %.4f).', stats.num_transitions,
               stats.num_episodes, stats.paths, stats.seconds,
               stats.num_episodes / stats.seconds, stats.mean_reward)


if __name__ == '__main__':
  _define_flags()
  app.run(main)
