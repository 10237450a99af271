"""`run_env`: episodes of a policy in environments, written as replay records.

Tensor2Robot's collector primitive. Any gymnasium environment (or a list of
them, or a `gymnasium.vector.SyncVectorEnv`) and any `t2r.policies.Policy`:
with several environments the episodes run side by side and every step asks
the policy once for all of them (`Policy.sample_actions`), so a predictor
answers one batched call per step instead of one call per environment.

Each finished episode is a list of steps `(obs, action, reward, new_obs,
done, info)`: `done` is gymnasium's `terminated` (an episode cut by a time
limit is not done: its last state still has a future, which TD targets must
bootstrap from) and `info` holds `'truncated'` too. The episode goes
through `episode_to_transitions_fn` and is written, all its records or none,
through a `TFRecordReplayWriter` to `root_dir/policy_<tag>/gs<step>_<tag>_
<time>_<pid>.tfrecord` (`t2r.collect.replay_files`), which appears under
that name only when complete, with a sidecar naming the export the policy
ran (`t2r.provenance.collector_metadata`; for `t2r lineage`).
"""

import dataclasses
import os
import time
from typing import Any, Callable, List, Optional, Sequence, Tuple

import gin
import numpy as np
import tensorflow as tf

from t2r import progress
from t2r import provenance
from t2r.collect import replay_files
from t2r.data import replay_writer as replay_writer_lib

Step = Tuple[Any, Any, float, Any, bool, dict]
Episode = List[Step]
Schedule = Callable[[int], float]


@dataclasses.dataclass(frozen=True)
class RunEnvStats:
  """What one `run_env` call did.

  Attributes:
    tag: The collector tag.
    global_step: The step of the policy's weights (-1: none).
    explore_prob: The exploration probability used.
    num_episodes: Episodes run.
    num_transitions: Records written (0 without a writer).
    mean_return: Mean summed reward per episode.
    success_rate: Fraction of episodes `success_fn` called successful.
    mean_length: Mean steps per episode.
    mean_q: Mean Q of the chosen actions (NaN when the policy reports none).
    paths: The completed replay files.
    seconds: Wall time.
  """
  tag: str
  global_step: int
  explore_prob: float
  num_episodes: int
  num_transitions: int
  mean_return: float
  success_rate: float
  mean_length: float
  mean_q: float
  paths: List[str]
  seconds: float

  @property
  def episodes_per_second(self) -> float:
    return self.num_episodes / max(self.seconds, 1e-9)


@gin.configurable
def episode_success(episode: Episode) -> bool:
  """Success of an episode: its last info's 'success' or 'is_success', else
  whether the last reward is positive."""
  info = episode[-1][5] or {}
  for key in ('success', 'is_success'):
    if key in info:
      return bool(info[key])
  return float(episode[-1][2]) > 0


def _as_env_list(env: Any) -> List[Any]:
  if isinstance(env, (list, tuple)):
    envs = list(env)
  elif hasattr(env, 'envs') and hasattr(env, 'num_envs'):
    envs = list(env.envs)  # gymnasium.vector.SyncVectorEnv
  elif hasattr(env, 'num_envs'):
    raise TypeError(
        f'run_env got a {type(env).__name__}, a vector env whose '
        'sub-environments it cannot reach (e.g. AsyncVectorEnv); pass a list '
        'of environments or a SyncVectorEnv, or run several collector '
        'processes for parallelism.')
  else:
    envs = [env]
  if not envs or not all(hasattr(e, 'reset') and hasattr(e, 'step')
                         for e in envs):
    raise TypeError(
        f'run_env needs a gymnasium environment or a non-empty list of them, '
        f'got {env!r}.')
  return envs


def _explore_prob(schedule: Any, global_step: int) -> float:
  if schedule is None:
    return 0.0
  value = schedule.value(global_step) if hasattr(schedule, 'value') else (
      schedule(global_step))
  value = float(value)
  if not 0.0 <= value <= 1.0:
    raise ValueError(
        f'The explore schedule {schedule!r} gave {value} at global step '
        f'{global_step}; exploration probabilities must be in [0, 1].')
  return value


def _run_episodes_side_by_side(envs: Sequence[Any], policy: Any,
                               explore_prob: float,
                               seeds: Sequence[Optional[int]]
                              ) -> Tuple[List[Episode], List[float]]:
  """Runs len(seeds) episodes, one per env, in lockstep; returns them and
  the Q values the policy reported for its chosen actions."""
  policy.reset()
  obs = [envs[i].reset(seed=seed)[0] for i, seed in enumerate(seeds)]
  episodes: List[Episode] = [[] for _ in seeds]
  active, q_values = list(range(len(seeds))), []
  while active:
    actions, debugs = policy.sample_actions([obs[i] for i in active],
                                            explore_prob, slots=active)
    still_active = []
    for slot, action, debug in zip(active, actions, debugs):
      new_obs, reward, terminated, truncated, info = envs[slot].step(action)
      episodes[slot].append((obs[slot], action, reward, new_obs,
                             bool(terminated),
                             dict(info, truncated=bool(truncated))))
      if 'q' in debug:
        q_values.append(float(debug['q']))
      obs[slot] = new_obs
      if not (terminated or truncated):
        still_active.append(slot)
    active = still_active
  return episodes, q_values


def _write_summaries(summary_dir: str, stats: RunEnvStats):
  writer = tf.summary.create_file_writer(summary_dir)
  with writer.as_default(step=max(stats.global_step, 0)):
    tf.summary.scalar('mean_return', stats.mean_return)
    tf.summary.scalar('success_rate', stats.success_rate)
    tf.summary.scalar('episode_length', stats.mean_length)
    tf.summary.scalar('explore_prob', stats.explore_prob)
    tf.summary.scalar('episodes_per_second', stats.episodes_per_second)
    if not np.isnan(stats.mean_q):
      tf.summary.scalar('q_chosen_actions', stats.mean_q)
  writer.close()


@gin.configurable
def run_env(env: Any,
            policy: Any,
            explore_schedule: Optional[Schedule] = None,
            episode_to_transitions_fn: Optional[
                Callable[[Episode], List[Any]]] = None,
            replay_writer: Optional[
                replay_writer_lib.TFRecordReplayWriter] = None,
            root_dir: Optional[str] = None,
            tag: str = 'collect',
            global_step: Optional[int] = None,
            num_episodes: int = 1,
            seed: Optional[int] = None,
            success_fn: Callable[[Episode], bool] = episode_success,
            write_summaries: bool = True,
            show_progress: bool = True) -> RunEnvStats:
  """Runs episodes, writes their transitions and summaries; returns stats.

  Example:
    >>> stats = run_env([PoseEnv(seed=i) for i in range(8)],
    ...                 EpsilonRandomPolicy(CEMPolicy(predictor), low, high),
    ...                 explore_schedule=LinearSchedule(1.0, 0.1, 5000),
    ...                 episode_to_transitions_fn=episode_to_transitions,
    ...                 replay_writer=TFRecordReplayWriter(feature_spec=spec),
    ...                 root_dir='/tmp/flywheel', tag='collect',
    ...                 num_episodes=100, seed=0)
    >>> stats.paths
    ['/tmp/flywheel/policy_collect/gs0000001200_collect_..._4242.tfrecord']

  Args:
    env: A gymnasium environment, a list of them (stepped together, one
      policy call per step for all), or a `gymnasium.vector.SyncVectorEnv`.
    policy: A `t2r.policies.Policy`. If it has an `observe_episode(episode,
      slot=...)` method (e.g. `t2r.meta_learning.MAMLRegressionPolicy`), it
      is called with every finished episode and the index of its env.
    explore_schedule: global_step -> exploration probability (a
      `t2r.policies.schedules` schedule, any callable, or an object with a
      `value(step)` method); None: greedy.
    episode_to_transitions_fn: episode -> list of records (spec values the
      writer encodes, `tf.train.Example`s or bytes); None: write nothing
      (evaluation only).
    replay_writer: Writes the records; default `TFRecordReplayWriter()`
      (gin-configurable: bind its spec, compression and rotation).
    root_dir: Where `policy_<tag>/` (records) and `summaries/<tag>/`
      (TensorBoard) go; needed to write either.
    tag: The collector tag ('collect', 'eval', ...), in the paths.
    global_step: The step the schedule, the file name and the summaries use;
      None: the policy's `global_step`.
    num_episodes: Episodes to run (>= 1).
    seed: Episode i resets its env with seed + i (None: the envs' own random
      streams), so the same seed gives the same episodes whatever the number
      of envs when the policy is deterministic.
    success_fn: episode -> bool, for the success rate.
    write_summaries: Write TensorBoard scalars (mean return, success rate,
      episode length, Q of the chosen actions, explore probability,
      episodes/s) at the global step under `root_dir/summaries/<tag>`.
    show_progress: Show a progress bar (episodes/s, ETA, mean return).

  Returns:
    A `RunEnvStats`.

  Raises:
    ValueError: For a bad `num_episodes`, a schedule value outside [0, 1],
      records without a `root_dir`, or records that do not fit the writer's
      spec (nothing of that episode is written).
    TypeError: If `env` is not an environment or a list of them.
  """
  if isinstance(num_episodes, bool) or not isinstance(
      num_episodes, int) or num_episodes < 1:
    raise ValueError(
        f'run_env num_episodes must be a positive int, got {num_episodes!r}.')
  replay_files.check_tag(tag)
  if episode_to_transitions_fn is not None and root_dir is None:
    raise ValueError(
        'run_env got an episode_to_transitions_fn but no root_dir to write '
        'the records to; pass root_dir (any tf.io.gfile path).')
  envs = _as_env_list(env)
  step = policy.global_step if global_step is None else int(global_step)
  explore_prob = _explore_prob(explore_schedule, step)
  writer, paths_before = None, 0
  if episode_to_transitions_fn is not None:
    writer = replay_writer or replay_writer_lib.TFRecordReplayWriter()
    paths_before = len(writer.written_paths)
  path = None  # Opened at the first write: a failed run leaves no file.
  bar = (progress.ProgressBar(f'{tag} (step {step})', total=num_episodes,
                              unit='episodes') if show_progress else None)
  start = time.perf_counter()
  returns, lengths, successes, q_values, num_transitions = [], [], [], [], 0
  paths: List[str] = []
  try:
    while len(returns) < num_episodes:
      first = len(returns)
      count = min(len(envs), num_episodes - first)
      seeds = [None if seed is None else seed + first + i
               for i in range(count)]
      episodes, q = _run_episodes_side_by_side(envs, policy, explore_prob,
                                               seeds)
      q_values.extend(q)
      # Policies that learn from their episodes (meta policies) see each one.
      observe_episode = getattr(policy, 'observe_episode', None)
      for slot, episode in enumerate(episodes):
        if callable(observe_episode):
          observe_episode(episode, slot=slot)
        if writer is not None:
          transitions = episode_to_transitions_fn(episode)
          if path is None:
            path = replay_files.replay_file_path(root_dir, tag, step)
            writer.open(path,
                        file_metadata=provenance.collector_metadata(policy))
          writer.write(transitions)
          num_transitions += len(transitions)
        returns.append(sum(float(s[2]) for s in episode))
        lengths.append(len(episode))
        successes.append(bool(success_fn(episode)))
      if bar is not None:
        bar.update(len(returns), mean_return=float(np.mean(returns)),
                   success=float(np.mean(successes)))
  finally:
    if bar is not None:
      bar.close()
    if path is not None:
      writer.close()
      paths = writer.written_paths[paths_before:]
  stats = RunEnvStats(
      tag=tag, global_step=step, explore_prob=explore_prob,
      num_episodes=len(returns), num_transitions=num_transitions,
      mean_return=float(np.mean(returns)),
      success_rate=float(np.mean(successes)),
      mean_length=float(np.mean(lengths)),
      mean_q=float(np.mean(q_values)) if q_values else float('nan'),
      paths=paths, seconds=time.perf_counter() - start)
  if write_summaries and root_dir is not None:
    _write_summaries(os.path.join(root_dir, 'summaries', tag), stats)
  return stats
