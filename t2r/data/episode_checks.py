"""Checks of demonstration episodes before training on them.

Two questions worth asking of every demonstration before a policy imitates
it:

  - Does the robot move? `find_idle_stretches` flags stretches of at least
    `min_steps` steps in which neither the commands nor the measured pose
    change beyond a tolerance, and whole episodes that are (nearly) all idle
    ("a demonstration of the robot doing nothing for 5 minutes").
  - Do the labels solve the task? `replay_labels` resets an environment to
    the episode's initial state (`env.reset(seed=...)`) and executes the
    recorded actions open loop, in order; if that does not succeed, the
    labels do not describe a solution ("a robot that replays the exact
    labels in order can actually solve the task"), whatever the recorded
    images show.

`check_episodes` runs both over a dataset and counts what is kept, what is
dropped as idle and what fails the replay; its `summary()` is the line a
pipeline prints. Nothing here knows about a particular robot or simulator:
episodes are mappings of numpy arrays, the environment any gymnasium-style
object with `reset(seed=...)` and `step(action)`.

Example:
  >>> report = check_episodes(
  ...     episodes,                      # e.g. bcz_specs.read_episodes(...)
  ...     env_fn=lambda: gymnasium.make('MyTask-v0'),
  ...     idle_tolerance=1e-3, idle_min_steps=10)
  >>> print(report.summary())
  episode checks: 100 episodes, 96 kept, 3 idle (dropped), 1 failed label
  replay (dropped); 2 idle stretches (41 steps) in kept episodes
  >>> kept = [episodes[i] for i in report.kept_indices]
"""

import dataclasses
from typing import (Any, Callable, Dict, Iterable, List, Mapping, Optional,
                    Sequence, Tuple, Union)

import numpy as np

from t2r import progress

ACTION_KINDS = ('delta', 'absolute')
COMBINES = ('all', 'any')
SUCCESS_AT = ('end', 'any')
SUCCESS_INFO_KEYS = ('is_success', 'success')

Tolerance = Union[float, Sequence[float], np.ndarray]
SuccessFn = Callable[[Mapping[str, Any], float, bool, bool], Optional[bool]]


@dataclasses.dataclass(frozen=True)
class IdleReport:
  """Where an episode's robot does not move.

  Attributes:
    num_steps: The episode's steps.
    idle_steps: (num_steps,) bool, True for each step in which nothing moved
      beyond the tolerance.
    stretches: The flagged `(start, stop)` step ranges (half open, so
      `stop - start` steps): runs of idle steps at least `min_steps` long.
    is_idle_episode: The whole episode counts as idle (see
      `find_idle_stretches`' `idle_episode_fraction`).
  """
  num_steps: int
  idle_steps: np.ndarray
  stretches: Tuple[Tuple[int, int], ...]
  is_idle_episode: bool

  @property
  def idle_fraction(self) -> float:
    """The fraction of steps that are idle (1.0 for an empty episode)."""
    if not self.num_steps:
      return 1.0
    return float(np.mean(self.idle_steps))

  @property
  def flagged_steps(self) -> int:
    """The number of steps inside flagged stretches."""
    return sum(stop - start for start, stop in self.stretches)

  @property
  def keep_mask(self) -> np.ndarray:
    """(num_steps,) bool: False inside flagged stretches (to trim them)."""
    mask = np.ones(self.num_steps, bool)
    for start, stop in self.stretches:
      mask[start:stop] = False
    return mask


def _as_steps(name: str, values: Any) -> np.ndarray:
  array = np.asarray(values, dtype=np.float64)
  if array.ndim == 1:
    array = array[:, None]
  if array.ndim != 2:
    raise ValueError(
        f'find_idle_stretches: {name} must be (num_steps,) or (num_steps, '
        f'size), got shape {array.shape}.')
  if not np.all(np.isfinite(array)):
    raise ValueError(f'find_idle_stretches: {name} holds NaN or infinite '
                     'values.')
  return array


def _as_tolerance(name: str, tolerance: Tolerance, size: int) -> np.ndarray:
  array = np.asarray(tolerance, dtype=np.float64)
  if array.ndim == 0:
    array = np.full(size, float(array))
  if array.shape != (size,):
    raise ValueError(
        f'find_idle_stretches: {name} must be a number or one number per '
        f'dimension ({size}), got shape {array.shape}.')
  if np.any(array < 0) or not np.all(np.isfinite(array)):
    raise ValueError(f'find_idle_stretches: {name} must be finite and >= 0, '
                     f'got {tolerance!r}.')
  return array


def _runs(flags: np.ndarray, min_length: int) -> Tuple[Tuple[int, int], ...]:
  """The (start, stop) ranges of True runs of at least `min_length`."""
  padded = np.concatenate([[False], flags, [False]]).astype(np.int8)
  edges = np.flatnonzero(np.diff(padded))
  starts, stops = edges[0::2], edges[1::2]
  return tuple((int(a), int(b)) for a, b in zip(starts, stops)
               if b - a >= min_length)


def find_idle_stretches(actions: Optional[Any] = None,
                        proprioception: Optional[Any] = None,
                        tolerance: Tolerance = 1e-3,
                        proprioception_tolerance: Optional[Tolerance] = None,
                        min_steps: int = 10,
                        action_kind: str = 'delta',
                        combine: str = 'all',
                        idle_episode_fraction: float = 0.9) -> IdleReport:
  """Flags the stretches of an episode in which the robot does not move.

  A step is idle in the actions if its command moves nothing: for 'delta'
  actions (velocities, pose deltas) every entry is within the tolerance of
  0; for 'absolute' actions (target poses) the command is within the
  tolerance of the previous step's (the first step counts as idle if the
  second does). A step is idle in the proprioception if the measured pose
  changes by at most the tolerance (per dimension) to the next step's; the
  last observation has no next one and takes the flag of the step before.
  Proprioception may hold `num_steps + 1` observations (with the one after
  the last action); then every step has its own change.

  With both signals, `combine='all'` calls a step idle only if both are
  (nothing commanded and nothing moving); 'any' if either is (e.g. a robot
  commanded against an obstacle that does not move counts as idle).

  Example:
    >>> actions = np.zeros((30, 7)); actions[:5, 0] = 0.01
    >>> report = find_idle_stretches(actions, min_steps=10)
    >>> report.stretches, report.is_idle_episode
    (((5, 30),), False)

  Args:
    actions: (num_steps, action_size) or (num_steps,) recorded actions, or
      None.
    proprioception: (num_steps, size) or (num_steps + 1, size) measured
      poses (joint angles, end-effector pose, gripper), or None.
    tolerance: Largest change per dimension that counts as no motion, for
      the actions (and for the proprioception unless
      `proprioception_tolerance` is given): a number or one per dimension.
    proprioception_tolerance: The proprioception's tolerance; None uses
      `tolerance`.
    min_steps: The shortest idle run that is flagged as a stretch.
    action_kind: 'delta' or 'absolute' (see above).
    combine: 'all' or 'any' (see above); irrelevant with one signal.
    idle_episode_fraction: The episode is idle if at least this fraction of
      its steps is idle (an empty episode always is).

  Returns:
    An `IdleReport`.

  Raises:
    ValueError: If neither signal is given, their step counts disagree, a
      value is not finite, a tolerance has the wrong size or is negative,
      `min_steps` is not a positive int, `action_kind` / `combine` is
      unknown or `idle_episode_fraction` is outside (0, 1].
  """
  if actions is None and proprioception is None:
    raise ValueError('find_idle_stretches needs actions, proprioception or '
                     'both; got neither.')
  if isinstance(min_steps, bool) or not isinstance(
      min_steps, (int, np.integer)) or min_steps < 1:
    raise ValueError(f'find_idle_stretches: min_steps must be a positive int, '
                     f'got {min_steps!r}.')
  if action_kind not in ACTION_KINDS:
    raise ValueError(f'find_idle_stretches: action_kind must be one of '
                     f'{ACTION_KINDS}, got {action_kind!r}.')
  if combine not in COMBINES:
    raise ValueError(f'find_idle_stretches: combine must be one of '
                     f'{COMBINES}, got {combine!r}.')
  if not 0.0 < idle_episode_fraction <= 1.0:
    raise ValueError(
        f'find_idle_stretches: idle_episode_fraction must be in (0, 1], got '
        f'{idle_episode_fraction!r}.')
  signals = []
  num_steps = None
  if actions is not None:
    actions = _as_steps('actions', actions)
    num_steps = len(actions)
    action_tolerance = _as_tolerance('tolerance', tolerance,
                                     actions.shape[1])
    if action_kind == 'delta':
      idle = np.all(np.abs(actions) <= action_tolerance, axis=1)
    else:
      change = np.all(
          np.abs(np.diff(actions, axis=0)) <= action_tolerance, axis=1)
      idle = np.concatenate([change[:1], change]) if len(change) else (
          np.ones(num_steps, bool))
    signals.append(idle)
  if proprioception is not None:
    poses = _as_steps('proprioception', proprioception)
    if num_steps is None:
      num_steps = len(poses)
    if len(poses) not in (num_steps, num_steps + 1):
      raise ValueError(
          f'find_idle_stretches: proprioception has {len(poses)} entries for '
          f'{num_steps} actions; pass one per step (or one more, with the '
          'pose after the last action).')
    pose_tolerance = _as_tolerance(
        'proprioception_tolerance',
        tolerance if proprioception_tolerance is None else
        proprioception_tolerance, poses.shape[1])
    still = np.all(np.abs(np.diff(poses, axis=0)) <= pose_tolerance, axis=1)
    if len(still) < num_steps:  # The last step has no next observation.
      still = np.concatenate([still, still[-1:] if len(still) else [True]])
    signals.append(still[:num_steps])
  combined = signals[0]
  for signal in signals[1:]:
    combined = (combined & signal) if combine == 'all' else (
        combined | signal)
  combined = np.asarray(combined, bool)
  stretches = _runs(combined, int(min_steps))
  fraction = float(np.mean(combined)) if num_steps else 1.0
  return IdleReport(
      num_steps=int(num_steps),
      idle_steps=combined,
      stretches=stretches,
      is_idle_episode=(not num_steps) or fraction >= idle_episode_fraction)


@dataclasses.dataclass(frozen=True)
class ReplayResult:
  """The outcome of replaying an episode's actions open loop.

  Attributes:
    success: The replay solved the task (see `replay_labels`' `success_at`).
    steps_replayed: Actions executed before the episode ended or the
      actions ran out.
    total_reward: Sum of the rewards.
    terminated: The environment terminated the episode.
    truncated: The environment truncated it (e.g. a time limit).
    first_success_step: The index of the first step after which success was
      reported, or None.
    reason: Why it failed ('' on success).
  """
  success: bool
  steps_replayed: int
  total_reward: float
  terminated: bool
  truncated: bool
  first_success_step: Optional[int]
  reason: str = ''


def default_success_fn(info: Mapping[str, Any], reward: float,
                       terminated: bool, truncated: bool) -> Optional[bool]:
  """Success from `info['is_success']` (gymnasium's convention) or 'success'.

  Example:
    >>> default_success_fn({'is_success': True}, 0.0, True, False)
    True

  Args:
    info: The step's info dict.
    reward: The step's reward (unused).
    terminated: Whether the step terminated the episode (unused).
    truncated: Whether it truncated it (unused).

  Returns:
    The success flag, or None if the info reports none.
  """
  del reward, terminated, truncated
  for key in SUCCESS_INFO_KEYS:
    if key in info:
      return bool(np.asarray(info[key]).all())
  return None


def _is_env(value: Any) -> bool:
  """An environment instance (a class is a factory, though it has `step`)."""
  if isinstance(value, type):
    return False
  return callable(getattr(value, 'reset', None)) and callable(
      getattr(value, 'step', None))


def replay_labels(env: Any,
                  actions: Any,
                  seed: Optional[int] = None,
                  options: Optional[Mapping[str, Any]] = None,
                  success_fn: SuccessFn = default_success_fn,
                  success_at: str = 'end',
                  initial_state_check: Optional[Callable[[Any], bool]] = None
                 ) -> ReplayResult:
  """Re-runs recorded actions open loop from the episode's initial state.

  The environment is reset with `env.reset(seed=seed, options=options)`,
  which must reproduce the state the episode started in (gymnasium envs do
  when they draw their initial state from `self.np_random`), then stepped
  with each recorded action in order, ignoring what it observes. The replay
  stops early when the environment terminates or truncates the episode (a
  gymnasium env must not be stepped past that).

  Example:
    >>> result = replay_labels(lambda: PointGoalEnv(), episode['action'],
    ...                        seed=episode['reset_seed'])
    >>> result.success, result.reason
    (False, 'no success at the end of the replay (step 40)')

  Args:
    env: A gymnasium-style environment (`reset(seed=..., options=...)`
      returning `(observation, info)`, `step(action)` returning
      `(observation, reward, terminated, truncated, info)`), or a callable
      without arguments creating one (which is closed afterwards).
    actions: (num_steps, ...) recorded actions; each row is passed to
      `step` as a numpy array of the row's dtype.
    seed: The reset seed of the episode.
    options: The reset options of the episode, if any.
    success_fn: `fn(info, reward, terminated, truncated) -> bool or None`
      (None: this step says nothing); by default `info['is_success']` or
      `info['success']`.
    success_at: 'end': the last step replayed must report success; 'any':
      success reported after any step counts.
    initial_state_check: Optional `fn(observation) -> bool` run on the
      reset observation, e.g. comparing it with the recorded first one; a
      False fails the replay without stepping (the reset does not reproduce
      the episode, so the replay would test nothing).

  Returns:
    A `ReplayResult`.

  Raises:
    TypeError: If `env` is neither an environment nor a factory of one, or
      `success_fn` is not callable.
    ValueError: If `success_at` is unknown, or the environment never
      reports success or failure through `success_fn` (no 'is_success' /
      'success' in any info): pass a `success_fn`.
  """
  if success_at not in SUCCESS_AT:
    raise ValueError(f'replay_labels: success_at must be one of {SUCCESS_AT}, '
                     f'got {success_at!r}.')
  if not callable(success_fn):
    raise TypeError(f'replay_labels: success_fn must be callable, got '
                    f'{success_fn!r}.')
  owned = False
  if not _is_env(env):
    if not callable(env):
      raise TypeError(
          'replay_labels needs a gymnasium-style env (with reset and step) '
          f'or a callable creating one, got {type(env).__name__}.')
    env = env()
    owned = True
    if not _is_env(env):
      raise TypeError(f'The env factory returned {type(env).__name__}, which '
                      'has no reset and step methods.')
  try:
    return _replay(env, np.asarray(actions), seed, options, success_fn,
                   success_at, initial_state_check)
  finally:
    if owned and callable(getattr(env, 'close', None)):
      env.close()


def _replay(env, actions, seed, options, success_fn, success_at,
            initial_state_check) -> ReplayResult:
  """`replay_labels` on an environment instance."""
  reset_kwargs = {'seed': None if seed is None else int(seed)}
  if options is not None:
    reset_kwargs['options'] = dict(options)
  observation, _ = env.reset(**reset_kwargs)
  if initial_state_check is not None and not initial_state_check(observation):
    return ReplayResult(False, 0, 0.0, False, False, None,
                        'the reset state does not match the episode '
                        f'(reset seed {seed})')
  total_reward, terminated, truncated = 0.0, False, False
  first_success, last_success, reported = None, False, False
  steps = 0
  for action in actions:
    _, reward, terminated, truncated, info = env.step(np.asarray(action))
    steps += 1
    total_reward += float(reward)
    success = success_fn(info, float(reward), bool(terminated),
                         bool(truncated))
    if success is not None:
      reported = True
      last_success = bool(success)
      if success and first_success is None:
        first_success = steps - 1
    if terminated or truncated:
      # A gymnasium env must not be stepped past the end of its episode.
      break
  if not reported and steps:
    raise ValueError(
        'replay_labels: the environment reported no success flag in any of '
        f'the {steps} step infos (looked for {list(SUCCESS_INFO_KEYS)}). Pass '
        'success_fn=lambda info, reward, terminated, truncated: ... that '
        'tells success from them.')
  if success_at == 'any':
    success = first_success is not None
    reason = '' if success else f'no success in {steps} replayed steps'
  else:
    success = bool(last_success)
    reason = '' if success else (
        f'no success at the end of the replay (step {steps})')
  if not steps:
    success, reason = False, 'no actions to replay'
  return ReplayResult(success, steps, total_reward, bool(terminated),
                      bool(truncated), first_success, reason)


@dataclasses.dataclass
class EpisodeCheck:
  """The checks of one episode.

  Attributes:
    index: The episode's position in the dataset.
    idle: Its `IdleReport`.
    replay: Its `ReplayResult`, or None if not replayed (idle, or no env).
  """
  index: int
  idle: IdleReport
  replay: Optional[ReplayResult] = None

  @property
  def kept(self) -> bool:
    return not self.idle.is_idle_episode and (
        self.replay is None or self.replay.success)


@dataclasses.dataclass
class EpisodeCheckReport:
  """What `check_episodes` found, per episode and counted.

  Attributes:
    episodes: One `EpisodeCheck` per episode, in order.
    replayed: Whether label replay ran (an env was given).
  """
  episodes: List[EpisodeCheck]
  replayed: bool

  @property
  def num_episodes(self) -> int:
    return len(self.episodes)

  @property
  def kept_indices(self) -> List[int]:
    """Episodes neither idle nor failing the replay."""
    return [e.index for e in self.episodes if e.kept]

  @property
  def idle_indices(self) -> List[int]:
    """Episodes dropped as idle (not replayed)."""
    return [e.index for e in self.episodes if e.idle.is_idle_episode]

  @property
  def replay_failed_indices(self) -> List[int]:
    """Episodes whose labels did not solve the task when replayed."""
    return [e.index for e in self.episodes
            if e.replay is not None and not e.replay.success]

  @property
  def counts(self) -> Dict[str, int]:
    """{'total', 'kept', 'idle_dropped', 'replay_failed', 'idle_stretches',
    'idle_stretch_steps'}; the stretches counted in kept episodes."""
    kept = [e for e in self.episodes if e.kept]
    return {
        'total': self.num_episodes,
        'kept': len(kept),
        'idle_dropped': len(self.idle_indices),
        'replay_failed': len(self.replay_failed_indices),
        'idle_stretches': sum(len(e.idle.stretches) for e in kept),
        'idle_stretch_steps': sum(e.idle.flagged_steps for e in kept),
    }

  @property
  def replay_success_rate(self) -> Optional[float]:
    """Successful replays / replayed episodes (None if none replayed)."""
    replayed = [e for e in self.episodes if e.replay is not None]
    if not replayed:
      return None
    return sum(e.replay.success for e in replayed) / len(replayed)

  def summary(self) -> str:
    """One line with the counts, for a pipeline to print."""
    c = self.counts
    replay = (f", {c['replay_failed']} failed label replay (dropped)"
              if self.replayed else ', label replay not run (no env)')
    return (f"episode checks: {c['total']} episodes, {c['kept']} kept, "
            f"{c['idle_dropped']} idle (dropped){replay}; "
            f"{c['idle_stretches']} idle stretches "
            f"({c['idle_stretch_steps']} steps) in kept episodes")


def _lookup(episode: Mapping[str, Any], key: Optional[str], index: int,
            required: bool) -> Any:
  if key is None:
    return None
  if not isinstance(episode, Mapping):
    raise TypeError(f'check_episodes: episode {index} is a '
                    f'{type(episode).__name__}; expected a mapping of arrays '
                    "(e.g. {'action': ..., 'proprioception': ...}).")
  if key not in episode or episode[key] is None:
    if required:
      raise ValueError(
          f'check_episodes: episode {index} has no {key!r}; it has '
          f'{sorted(episode)}. Pass the right key name (action_key=, '
          'reset_seed_key=, ...).')
    return None
  return episode[key]


def check_episodes(episodes: Iterable[Mapping[str, Any]],
                   env_fn: Optional[Callable[[], Any]] = None,
                   action_key: str = 'action',
                   proprioception_key: Optional[str] = 'proprioception',
                   reset_seed_key: str = 'reset_seed',
                   reset_options_key: Optional[str] = None,
                   idle_kwargs: Optional[Mapping[str, Any]] = None,
                   replay_kwargs: Optional[Mapping[str, Any]] = None,
                   description: Optional[str] = None,
                   total: Optional[int] = None) -> EpisodeCheckReport:
  """Runs idle detection and (with an env) label replay over episodes.

  Idle episodes are dropped without a replay; every other episode is
  replayed in one environment (created once by `env_fn`, closed at the
  end). An episode is kept if it is not idle and its replay succeeds; idle
  stretches inside kept episodes are reported (`IdleReport.keep_mask` trims
  them) but do not drop the episode.

  Example:
    >>> report = check_episodes(bcz_specs.read_episodes(pattern),
    ...                         env_fn=MyTaskEnv,
    ...                         idle_kwargs={'tolerance': 1e-3,
    ...                                      'min_steps': 10})
    >>> print(report.summary())
    >>> report.counts['kept']

  Args:
    episodes: Mappings of numpy arrays (or lists): `action_key` (num_steps,
      ...) actions, optionally `proprioception_key` poses, and with an env
      `reset_seed_key` (an int).
    env_fn: A callable creating the environment for label replay; None
      skips the replay (only idle detection runs).
    action_key: The actions' key.
    proprioception_key: The poses' key; None (or a key an episode lacks)
      uses the actions alone.
    reset_seed_key: The reset seed's key (required with an env).
    reset_options_key: The key of reset options, if the episodes have them.
    idle_kwargs: More `find_idle_stretches` arguments (tolerance,
      min_steps, action_kind, combine, idle_episode_fraction, ...).
    replay_kwargs: More `replay_labels` arguments (success_fn, success_at,
      initial_state_check).
    description: If set (with `total`), a progress bar with this
      description: label replay runs an episode in the env per demo, minutes
      for a few hundred.
    total: The number of episodes (for the progress bar's ETA).

  Returns:
    An `EpisodeCheckReport`.

  Raises:
    ValueError: If an episode lacks its actions, or (with an env) its reset
      seed: replaying from an unknown state tests nothing. Also what
      `find_idle_stretches` and `replay_labels` raise, naming the episode.
    TypeError: If an episode is not a mapping, or `env_fn` is not callable.
  """
  if env_fn is not None and not callable(env_fn):
    raise TypeError(f'check_episodes: env_fn must be a callable creating an '
                    f'environment, got {env_fn!r}.')
  idle_kwargs = dict(idle_kwargs or {})
  replay_kwargs = dict(replay_kwargs or {})
  env = None
  checks = []
  bar = (progress.ProgressBar(description, total=total, unit='episodes')
         if description and total else None)
  dropped = 0
  try:
    for index, episode in enumerate(episodes):
      actions = _lookup(episode, action_key, index, required=True)
      poses = _lookup(episode, proprioception_key, index, required=False)
      try:
        idle = find_idle_stretches(actions, poses, **idle_kwargs)
      except ValueError as e:
        raise ValueError(f'check_episodes: episode {index}: {e}') from e
      check = EpisodeCheck(index=index, idle=idle)
      if env_fn is not None and not idle.is_idle_episode:
        seed = _lookup(episode, reset_seed_key, index, required=True)
        options = _lookup(episode, reset_options_key, index, required=False)
        if env is None:
          env = env_fn()
        try:
          check.replay = replay_labels(env, actions, seed=int(seed),
                                       options=options, **replay_kwargs)
        except ValueError as e:
          raise ValueError(f'check_episodes: episode {index}: {e}') from e
      checks.append(check)
      dropped += not check.kept
      if bar is not None:
        bar.update(min(index + 1, total), dropped=dropped)
  finally:
    if bar is not None:
      bar.close()
    if env is not None and callable(getattr(env, 'close', None)):
      env.close()
  return EpisodeCheckReport(episodes=checks, replayed=env_fn is not None)
