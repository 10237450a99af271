"""`collect_eval_loop`: a collector that follows the trainer's exports.

Tensor2Robot's collector job. Each round it acts with the newest complete
export its policy's predictor can load: `num_collect` exploring episodes
written to `root_dir/policy_collect/` (the replay the trainer reads), then
`num_eval` greedy episodes whose success rate is the export's score
(summaries under `root_dir/summaries/eval`). Then it waits, bounded and
logged, for a newer export, and stops once the policy's global step reaches
`max_steps`. With `continuous=False` it runs one round with whatever the
policy acts with, e.g. a random policy before any export exists (the
bootstrap of the replay).

The evaluation episodes use the same reset seeds every round, so the score
of successive exports is measured on the same scenes.
"""

import dataclasses
import time
from typing import Any, Callable, List, Optional

from absl import logging
import gin
import numpy as np

from t2r.collect import env_runner

RunAgentFn = Callable[..., env_runner.RunEnvStats]


@dataclasses.dataclass(frozen=True)
class CollectEvalRound:
  """One round of `collect_eval_loop`.

  Attributes:
    global_step: The step of the export acted with (-1: no export).
    collect: The exploring episodes' stats (None when num_collect is 0).
    eval: The greedy episodes' stats (None when num_eval is 0).
  """
  global_step: int
  collect: Optional[env_runner.RunEnvStats]
  eval: Optional[env_runner.RunEnvStats]


def round_seed(seed: Optional[int], *keys: int) -> Optional[int]:
  """A reproducible seed per (seed, *keys); None stays None."""
  if seed is None:
    return None
  return int(np.random.SeedSequence([seed, *keys]).generate_state(1)[0])


def _wait_for_newer_export(policy: Any, step: int, timeout_secs: float,
                           poll_interval_secs: float,
                           log_every_secs: float = 30.0):
  """Polls `policy.restore()` until it loads weights newer than `step`.

  Raises:
    TimeoutError: If none appears within `timeout_secs`.
  """
  start = last_log = time.monotonic()
  while not (policy.restore() and policy.global_step > step):
    now = time.monotonic()
    if now - start > timeout_secs:
      raise TimeoutError(
          f'collect_eval_loop: no export newer than global step {step} '
          f'appeared within {timeout_secs:.0f} s; is the trainer running? '
          'Raise new_export_timeout_secs for slow trainers.')
    if now - last_log >= log_every_secs:
      logging.info('collect_eval_loop: waiting for an export newer than step '
                   '%d (%.0f s so far).', step, now - start)
      last_log = now
    time.sleep(poll_interval_secs)


@gin.configurable
def collect_eval_loop(collect_env: Any,
                      eval_env: Any,
                      policy: Any,
                      root_dir: str,
                      episode_to_transitions_fn: Optional[Callable] = None,
                      replay_writer: Any = None,
                      explore_schedule: Any = None,
                      num_collect: int = 100,
                      num_eval: int = 10,
                      continuous: bool = True,
                      max_steps: Optional[int] = None,
                      new_export_timeout_secs: float = 3600.0,
                      poll_interval_secs: float = 1.0,
                      seed: Optional[int] = None,
                      run_agent_fn: RunAgentFn = env_runner.run_env,
                      record_eval_episodes: bool = False,
                      max_episodes: Optional[int] = None,
                      wait_for_new_export: bool = True,
                      show_progress: bool = True) -> List[CollectEvalRound]:
  """Collects and evaluates with each new export until `max_steps`.

  Example:
    >>> predictor = ExportedSavedModelPredictor('/tmp/run/model/export')
    >>> policy = EpsilonRandomPolicy(CEMPolicy(predictor, seed=0), low, high,
    ...                              seed=1)
    >>> rounds = collect_eval_loop(
    ...     [PoseEnv(seed=i) for i in range(8)], PoseEnv(seed=100), policy,
    ...     root_dir='/tmp/run', episode_to_transitions_fn=to_transitions,
    ...     replay_writer=TFRecordReplayWriter(feature_spec=record_spec),
    ...     explore_schedule=LinearSchedule(0.5, 0.1, 5000),
    ...     num_collect=200, num_eval=20, max_steps=5000, seed=0)
    >>> rounds[-1].eval.success_rate

  Args:
    collect_env: The exploring episodes' environment (or a list of them,
      stepped together; see `run_env`).
    eval_env: The greedy episodes' environment (or a list).
    policy: The policy (exploration wrappers around a model policy; they
      explore with the schedule's probability and act greedily at 0).
    root_dir: The flywheel's root directory: replay files under
      `policy_collect/` (and `policy_eval/`), summaries under `summaries/`.
    episode_to_transitions_fn: episode -> records, as for `run_env`.
    replay_writer: The writer (`run_env`'s default when None).
    explore_schedule: global_step -> exploration probability of collection.
    num_collect: Exploring episodes per round (0: none).
    num_eval: Greedy episodes per round (0: none).
    continuous: Follow the exports; False: one round with the policy as it
      is (no export needed when the policy acts without one).
    max_steps: Stop after the round with an export at or past this global
      step; None: only a timeout ends the loop.
    new_export_timeout_secs: How long to wait for a newer export.
    poll_interval_secs: How often to look for one.
    seed: Seeds the episodes (a fresh stream per round for collection, the
      same eval scenes every round); None: random.
    run_agent_fn: Runs episodes (`run_env`'s signature).
    record_eval_episodes: Also write the greedy episodes, under
      `policy_eval/`.
    max_episodes: Stop once this many exploring episodes are collected
      (the last round is cut to fit); None: no limit.
    wait_for_new_export: True: every round acts with a newer export than
      the last (waiting for it). False: a round starts at once, with the
      newest export there is (QT-Opt's collectors, which never wait; needed
      when the trainer is held to a ratio of collected data).
    show_progress: Progress bars per run.

  Returns:
    One `CollectEvalRound` per round.

  Raises:
    ValueError: For negative episode counts, a `max_episodes` < 1, or
      `max_episodes` / `wait_for_new_export=False` with `num_collect=0`.
    TimeoutError: If no newer export appears in time (continuous mode), or
      none at all for a policy that needs one.
  """
  for name, value in (('num_collect', num_collect), ('num_eval', num_eval)):
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
      raise ValueError(f'collect_eval_loop {name} must be an int >= 0, got '
                       f'{value!r}.')
  if max_episodes is not None and (
      isinstance(max_episodes, bool) or not isinstance(max_episodes, int) or
      max_episodes < 1):
    raise ValueError(f'collect_eval_loop max_episodes must be None or an int '
                     f'>= 1, got {max_episodes!r}.')
  if not num_collect and (max_episodes is not None or
                          (continuous and not wait_for_new_export)):
    raise ValueError(
        'collect_eval_loop with num_collect=0 collects nothing, so '
        'max_episodes would never end it and wait_for_new_export=False would '
        'repeat the same export forever; pass num_collect > 0 or drop '
        f'those (got max_episodes={max_episodes!r}, '
        f'wait_for_new_export={wait_for_new_export!r}).')
  rounds: List[CollectEvalRound] = []
  collected = 0
  policy.restore()
  if continuous and policy.predictor is not None and policy.global_step < 0:
    _wait_for_newer_export(policy, -1, new_export_timeout_secs,
                           poll_interval_secs)
  while True:
    step = policy.global_step
    collect = evaluation = None
    count = num_collect if max_episodes is None else min(
        num_collect, max_episodes - collected)
    if count:
      collect = run_agent_fn(
          collect_env, policy, explore_schedule=explore_schedule,
          episode_to_transitions_fn=episode_to_transitions_fn,
          replay_writer=replay_writer, root_dir=root_dir, tag='collect',
          global_step=step, num_episodes=count,
          seed=round_seed(seed, len(rounds), 0), show_progress=show_progress)
      collected += count
    if num_eval:
      evaluation = run_agent_fn(
          eval_env, policy, explore_schedule=None,
          episode_to_transitions_fn=(episode_to_transitions_fn
                                     if record_eval_episodes else None),
          replay_writer=replay_writer, root_dir=root_dir, tag='eval',
          global_step=step, num_episodes=num_eval,
          seed=round_seed(seed, 1), show_progress=show_progress)
    rounds.append(CollectEvalRound(step, collect, evaluation))
    logging.info(
        'collect_eval_loop: step %d: %s', step, '; '.join(
            f'{stats.tag} {stats.num_episodes} episodes, success '
            f'{stats.success_rate:.3f}, return {stats.mean_return:.4g}'
            for stats in (collect, evaluation) if stats is not None))
    if not continuous or (max_steps is not None and step >= max_steps) or (
        max_episodes is not None and collected >= max_episodes):
      return rounds
    if wait_for_new_export:
      _wait_for_newer_export(policy, step, new_export_timeout_secs,
                             poll_interval_secs)
    else:
      policy.restore()
