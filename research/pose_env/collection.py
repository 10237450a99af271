"""Runs pose-env episodes with a policy and writes them as TFRecords.

Each `collect_episodes` call writes one file (or shards, see
`TFRecordReplayWriter`) of `tf.train.Example`s laid out by
`pose_env_specs.get_pose_env_specs()`; the file appears complete, under its
final name, when the call returns. The command-line entry point is
`research.pose_env.collect`.
"""

import dataclasses
import os
import time
from typing import Any, Callable, List, Optional, Sequence, Tuple

import gin

from research.pose_env import pose_env_specs
from research.pose_env.episode_to_transitions import episode_to_transitions
from t2r import progress
from t2r.data import replay_writer

Step = Tuple[Any, Any, float, Any, bool, dict]


@dataclasses.dataclass(frozen=True)
class CollectStats:
  """What one `collect_episodes` call wrote.

  Attributes:
    paths: The completed TFRecord files.
    num_episodes: Episodes run.
    num_transitions: Records written.
    mean_reward: Mean reward per step.
    seconds: Wall time of the collection.
  """
  paths: List[str]
  num_episodes: int
  num_transitions: int
  mean_reward: float
  seconds: float


def run_episode(env: Any, policy: Any, explore_prob: float = 0.0,
                seed: Optional[int] = None) -> List[Step]:
  """Runs one episode; returns its (obs, action, reward, new_obs, done, info).

  Args:
    env: A gymnasium-style environment.
    policy: Has `reset()` and `sample_action(obs, explore_prob) -> (action,
      debug)`.
    explore_prob: Passed to `sample_action`.
    seed: Passed to `env.reset` (None continues the env's random stream).

  Returns:
    The steps of the episode, in order.
  """
  obs, _ = env.reset(seed=seed)
  policy.reset()
  steps, done = [], False
  while not done:
    action, _ = policy.sample_action(obs, explore_prob)
    new_obs, reward, terminated, truncated, info = env.step(action)
    done = terminated or truncated
    steps.append((obs, action, reward, new_obs, done, info))
    obs = new_obs
  return steps


@gin.configurable
def collect_episodes(
    env: Any,
    policy: Any,
    num_episodes: int,
    output_dir: str,
    seed: Optional[int] = None,
    file_name: Optional[str] = None,
    explore_prob: float = 0.0,
    episode_to_transitions_fn: Callable[
        [Sequence[Step]],
        List[Any]] = episode_to_transitions,
    record_spec: Any = None,
    show_progress: bool = True) -> CollectStats:
  """Runs episodes and writes their transitions to one TFRecord file.

  The writer is a `TFRecordReplayWriter` (bind its compression and sharding
  in gin); values are checked against the spec and images JPEG encoded.

  Example:
    >>> stats = collect_episodes(PoseEnv(), PoseEnvRandomPolicy(seed=0),
    ...                          num_episodes=100, output_dir='/tmp/pose',
    ...                          seed=0)
    >>> stats.paths
    ['/tmp/pose/pose_env-seed0-100.tfrecord']

  Args:
    env: A gymnasium-style environment.
    policy: Has `reset()` and `sample_action(obs, explore_prob)`.
    num_episodes: How many episodes to run (>= 1).
    output_dir: Directory of the file (any `tf.io.gfile` filesystem; created
      if needed).
    seed: Seeds the env at the first episode (the rest continue its random
      stream), so the same seed and policy give the same data.
    file_name: The file name; defaults to
      'pose_env-seed<seed>-<num_episodes>.tfrecord', or a UTC timestamp and
      the process id in place of the seed when `seed` is None.
    explore_prob: Passed to the policy.
    episode_to_transitions_fn: Turns an episode into values laid out like
      `record_spec`.
    record_spec: The spec structure the transitions are laid out like (the
      records store each spec under its name); defaults to
      `get_pose_env_specs()` at the env's image size.
    show_progress: Show a progress bar (episodes/s, ETA, mean reward); a
      line every few seconds when stdout is not a terminal.

  Returns:
    A `CollectStats` with the written paths and counts.

  Raises:
    ValueError: If `num_episodes` is not a positive int, the file exists, or
      a transition does not match the spec.
  """
  if isinstance(num_episodes, bool) or not isinstance(
      num_episodes, int) or num_episodes < 1:
    raise ValueError(
        f'num_episodes must be a positive int, got {num_episodes!r}.')
  if record_spec is None:
    record_spec = pose_env_specs.get_pose_env_specs(
        env.observation_space.shape[:2])
  if file_name is None:
    tag = (f'seed{seed}' if seed is not None else
           time.strftime('%Y%m%d-%H%M%S-', time.gmtime()) + str(os.getpid()))
    file_name = f'pose_env-{tag}-{num_episodes}.tfrecord'
  path = os.path.join(output_dir, file_name)
  reward_sum, num_steps = 0.0, 0
  start = time.perf_counter()
  writer = replay_writer.TFRecordReplayWriter(feature_spec=record_spec)
  bar = (progress.ProgressBar(f'collect {file_name}', total=num_episodes,
                              unit='episodes') if show_progress else None)
  with writer.open(path):
    for episode_index in range(num_episodes):
      episode = run_episode(env, policy, explore_prob,
                            seed=seed if episode_index == 0 else None)
      writer.write(episode_to_transitions_fn(episode))
      reward_sum += sum(float(step[2]) for step in episode)
      num_steps += len(episode)
      if bar is not None:
        bar.update(episode_index + 1, mean_reward=reward_sum / num_steps)
  if bar is not None:
    bar.close()
  return CollectStats(
      paths=writer.written_paths,
      num_episodes=num_episodes,
      num_transitions=num_steps,
      mean_reward=reward_sum / num_steps,
      seconds=time.perf_counter() - start)
