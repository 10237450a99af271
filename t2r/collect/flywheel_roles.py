"""The processes of a flywheel: trainer, collectors and evaluator.

Each role is a gin-configurable function that the launcher
(`t2r.collect.flywheel`) runs in its own process, all sharing one
`root_dir` (any `tf.io.gfile` filesystem, so they may run on different
machines):

  root_dir/model/             the trainer's model_dir: checkpoints, export/<step>
  root_dir/policy_collect/    replay files the collectors write, the trainer reads
  root_dir/summaries/<tag>/   collector and evaluator TensorBoard scalars
  root_dir/status/<name>.json progress for the launcher's status line

Collectors bootstrap the replay with `bootstrap_policy_fn` (e.g. a random
policy) until the first export appears, then act with the newest export
(`policy_fn(predictor)`, exploring with `explore_schedule`) until the
policy's global step reaches `max_steps`. Started again, every role resumes:
the trainer from its checkpoint, the collectors with the newest export.

Example (gin):
  ROOT_DIR = '/tmp/flywheel'
  MAX_STEPS = 2000
  run_collector.root_dir = %ROOT_DIR
  run_collector.env_fn = @PoseEnv
  run_collector.policy_fn = @exploring_cem_policy
  run_collector.bootstrap_policy_fn = @PoseEnvRandomPolicy
  run_collector.episode_to_transitions_fn = @episode_to_transitions
  run_collector.max_steps = %MAX_STEPS
"""

import contextlib
import numbers
import os
import signal
import time
from typing import Any, Callable, Dict, List, Optional

import gin
import numpy as np
import tensorflow as tf
import tf_keras

from t2r import policies
from t2r.collect import collect_eval
from t2r.collect import replay_files
from t2r.collect import env_runner
from t2r.collect import status_files
from t2r.predictors import export_dirs
from t2r.predictors.exported_savedmodel_predictor import ExportedSavedModelPredictor
from t2r.train import train_eval
from t2r.train import train_steps

MODEL_DIR = 'model'


def model_dir(root_dir: str) -> str:
  """The trainer's model_dir inside the flywheel's root_dir."""
  return os.path.join(root_dir, MODEL_DIR)


def export_root(root_dir: str) -> str:
  """Where the trainer's exports appear: `root_dir/model/export`."""
  return os.path.join(model_dir(root_dir), 'export')


@gin.configurable
def replay_glob(root_dir: str = gin.REQUIRED) -> str:
  """The collectors' replay files, for the trainer's input generator.

  Example (gin):
    GrowingReplayInputGenerator.file_patterns = @replay_glob()
    replay_glob.root_dir = %ROOT_DIR
  """
  return replay_files.replay_pattern(root_dir, 'collect')


def stop_on_sigterm():
  """Turns SIGTERM into KeyboardInterrupt, so writers complete their files."""

  def handler(signum, frame):
    del signum, frame
    raise KeyboardInterrupt('SIGTERM')

  signal.signal(signal.SIGTERM, handler)


def role_seed(seed: Optional[int], role: str, index: int) -> Optional[int]:
  """A distinct, reproducible seed per process of the flywheel."""
  if seed is None:
    return None
  return int(np.random.SeedSequence(
      [seed, index, *role.encode()]).generate_state(1)[0] % (2 ** 31))


@gin.configurable
def exploring_cem_policy(predictor: Any,
                         action_low: Any = gin.REQUIRED,
                         action_high: Any = gin.REQUIRED,
                         exported_cem_signature: Optional[str] = 'cem_action',
                         seed: Optional[int] = None) -> policies.Policy:
  """QT-Opt's collector policy: CEM over the critic, epsilon-random actions.

  Args:
    predictor: The critic export's predictor.
    action_low: Lower action bounds (CEM's box and the random actions').
    action_high: Upper action bounds.
    exported_cem_signature: The export's in-graph CEM signature (None: CEM
      in Python over the critic's default signature).
    seed: Seeds CEM and the exploration.

  Returns:
    An `EpsilonRandomPolicy` around a `CEMPolicy`.
  """
  greedy = policies.CEMPolicy(predictor, action_low, action_high,
                              exported_cem_signature=exported_cem_signature,
                              seed=seed)
  return policies.EpsilonRandomPolicy(
      greedy, action_low, action_high,
      seed=None if seed is None else seed + 1)


def collected_totals(root_dir: str) -> Dict[str, int]:
  """The collectors' episodes and transitions so far, from their statuses."""
  statuses = status_files.read_statuses(root_dir)
  collectors = [s for name, s in statuses.items()
                if name.startswith('collector-')]
  return {key: int(sum(s.get(key, 0) for s in collectors))
          for key in ('episodes', 'transitions')}


class _StatusReporter:
  """Wraps `run_env`, totalling its stats into a status file.

  The totals (and the evaluator's history) continue those of the status
  file a previous run of the role left, so a resumed flywheel counts all
  its episodes.
  """

  def __init__(self, root_dir: str, name: str, history_key: Optional[str]):
    self._root_dir, self._name = root_dir, name
    self._history_key = history_key
    previous = status_files.read_statuses(root_dir).get(name, {})
    self.status: Dict[str, Any] = {
        key: int(previous.get(key, 0))
        for key in ('episodes', 'transitions', 'files')}
    self.status['global_step'] = int(previous.get('global_step', -1))
    self.history: List[Dict[str, float]] = list(
        previous.get(history_key, [])) if history_key else []

  def report(self, **fields):
    self.status.update(fields)
    status = dict(self.status)
    if self._history_key:
      status[self._history_key] = self.history
    status_files.write_status(self._root_dir, self._name, status)

  def __call__(self, *args, **kwargs) -> env_runner.RunEnvStats:
    stats = env_runner.run_env(*args, **kwargs)
    if self._history_key:
      self.history.append({'global_step': stats.global_step,
                           'success_rate': stats.success_rate,
                           'mean_return': stats.mean_return,
                           'mean_length': stats.mean_length,
                           'collected_episodes': collected_totals(
                               self._root_dir)['episodes']})
    self.report(episodes=self.status['episodes'] + stats.num_episodes,
                transitions=self.status['transitions'] +
                stats.num_transitions,
                files=self.status['files'] + len(stats.paths),
                global_step=stats.global_step,
                success_rate=stats.success_rate,
                episodes_per_second=stats.episodes_per_second)
    return stats


@contextlib.contextmanager
def _failure_reported(reporter: _StatusReporter):
  """Reports state 'failed' if the body raises (then re-raises)."""
  try:
    yield
  except Exception:
    reporter.report(state='failed')
    raise


def _make_envs(env_fn: Callable[[], Any], count: int) -> List[Any]:
  if isinstance(count, bool) or not isinstance(count, int) or count < 1:
    raise ValueError(f'envs_per_process must be a positive int, got '
                     f'{count!r}.')
  return [env_fn() for _ in range(count)]


@gin.configurable
def run_collector(root_dir: str = gin.REQUIRED,
                  index: int = 0,
                  env_fn: Callable[[], Any] = gin.REQUIRED,
                  policy_fn: Callable[[Any], Any] = gin.REQUIRED,
                  episode_to_transitions_fn: Callable = gin.REQUIRED,
                  bootstrap_policy_fn: Optional[Callable[[], Any]] = None,
                  replay_writer: Any = None,
                  explore_schedule: Any = None,
                  episodes_per_round: int = 50,
                  envs_per_process: int = 1,
                  bootstrap_episodes: int = 200,
                  max_steps: Optional[int] = None,
                  max_episodes: Optional[int] = None,
                  wait_for_new_export: bool = True,
                  new_export_timeout_secs: float = 3600.0,
                  seed: Optional[int] = 0,
                  show_progress: bool = False) -> None:
  """A collector process: bootstrap, then follow the exports.

  Args:
    root_dir: The flywheel's root directory.
    index: This collector's number (its name and seed).
    env_fn: () -> a gymnasium environment.
    policy_fn: predictor -> the collecting policy (e.g.
      `exploring_cem_policy`).
    episode_to_transitions_fn: episode -> records.
    bootstrap_policy_fn: () -> the policy acting before any export exists;
      None: wait for the first export.
    replay_writer: Writes the records (bind its spec and rotation).
    explore_schedule: global_step -> exploration probability.
    episodes_per_round: Episodes per export (and per bootstrap file).
    envs_per_process: Environments stepped together (one predictor call
      per step for all).
    bootstrap_episodes: Bootstrap episodes this collector writes at most
      before it waits for the first export.
    max_steps: Stop after the round acted with an export at or past it.
    max_episodes: Stop once this collector has written this many episodes
      in all (bootstrap and earlier runs of the flywheel included); None:
      no limit.
    wait_for_new_export: False: start each round at once with the newest
      export (see `collect_eval_loop`); set it when the trainer is held to
      a replay ratio (`run_trainer.max_steps_per_transition`), which
      otherwise waits for the collectors while they wait for an export.
    new_export_timeout_secs: How long to wait for a newer export.
    seed: The flywheel's seed (each collector derives its own).
    show_progress: Progress bars in the collector's log.
  """
  name = f'collector-{index}'
  seed = role_seed(seed, 'collector', index)
  envs = _make_envs(env_fn, envs_per_process)
  reporter = _StatusReporter(root_dir, name, history_key=None)
  reporter.report(state='starting')
  with _failure_reported(reporter):
    predictor = ExportedSavedModelPredictor(export_root(root_dir), timeout=0)
    bootstrapped = 0

    def remaining() -> Optional[int]:
      if max_episodes is None:
        return None
      return max_episodes - reporter.status['episodes']

    if bootstrap_policy_fn is not None:
      bootstrap_policy = bootstrap_policy_fn()
      while (bootstrapped < bootstrap_episodes and not predictor.restore()
             and (remaining() is None or remaining() > 0)):
        reporter.report(state='bootstrap')
        count = min(episodes_per_round, bootstrap_episodes - bootstrapped,
                    *([remaining()] if max_episodes is not None else []))
        reporter(envs, bootstrap_policy, explore_schedule=None,
                 episode_to_transitions_fn=episode_to_transitions_fn,
                 replay_writer=replay_writer, root_dir=root_dir, tag='collect',
                 global_step=-1, num_episodes=count,
                 seed=None if seed is None else seed + 7919 * bootstrapped,
                 show_progress=show_progress)
        bootstrapped += count
    if remaining() is not None and remaining() <= 0:
      reporter.report(state='done')
      return
    reporter.report(state='collecting')
    collect_eval.collect_eval_loop(
        envs, envs, policy_fn(predictor), root_dir,
        episode_to_transitions_fn=episode_to_transitions_fn,
        replay_writer=replay_writer, explore_schedule=explore_schedule,
        num_collect=episodes_per_round, num_eval=0, continuous=True,
        max_steps=max_steps, new_export_timeout_secs=new_export_timeout_secs,
        seed=seed, run_agent_fn=reporter, max_episodes=remaining(),
        wait_for_new_export=wait_for_new_export, show_progress=show_progress)
  reporter.report(state='done')


@gin.configurable
def run_evaluator(root_dir: str = gin.REQUIRED,
                  env_fn: Callable[[], Any] = gin.REQUIRED,
                  policy_fn: Callable[[Any], Any] = gin.REQUIRED,
                  num_episodes: int = 20,
                  envs_per_process: int = 1,
                  max_steps: Optional[int] = None,
                  new_export_timeout_secs: float = 3600.0,
                  seed: Optional[int] = 0,
                  show_progress: bool = False) -> None:
  """The evaluator process: greedy episodes with each new export.

  Its status file keeps the history (global step, success rate, mean
  return) that the launcher's summary table and picture show.

  Args:
    root_dir: The flywheel's root directory.
    env_fn: () -> a gymnasium environment.
    policy_fn: predictor -> the policy (acting greedily: explore_prob 0).
    num_episodes: Greedy episodes per export, on the same scenes each time.
    envs_per_process: Environments stepped together.
    max_steps: Stop after evaluating an export at or past it.
    new_export_timeout_secs: How long to wait for a newer export.
    seed: The flywheel's seed.
    show_progress: Progress bars in the evaluator's log.
  """
  envs = _make_envs(env_fn, envs_per_process)
  reporter = _StatusReporter(root_dir, 'evaluator', history_key='history')
  reporter.report(state='waiting for an export')
  predictor = ExportedSavedModelPredictor(export_root(root_dir), timeout=0)
  collect_eval.collect_eval_loop(
      envs, envs, policy_fn(predictor), root_dir, num_collect=0,
      num_eval=num_episodes, continuous=True, max_steps=max_steps,
      new_export_timeout_secs=new_export_timeout_secs,
      seed=role_seed(seed, 'evaluator', 0), run_agent_fn=reporter,
      show_progress=show_progress)
  reporter.report(state='done')


class TrainerStatusCallback(tf_keras.callbacks.Callback):
  """Writes the trainer's step and steps/s to its status file every few s.

  Args:
    root_dir: The flywheel's root directory.
    every_secs: Seconds between writes.
  """

  def __init__(self, root_dir: str, every_secs: float = 2.0):
    super().__init__()
    self._root_dir, self._every_secs = root_dir, every_secs
    self._last_time = self._last_step = self._start_step = None

  def _write(self, state: str):
    step = train_steps.global_step(self.model)
    now = time.monotonic()
    rate = 0.0
    if self._last_time is not None and now > self._last_time:
      rate = (step - self._last_step) / (now - self._last_time)
    self._last_time, self._last_step = now, step
    status_files.write_status(self._root_dir, 'trainer', {
        'state': state, 'global_step': step, 'steps_per_second': rate,
        'start_step': self._start_step})

  def on_train_begin(self, logs=None):
    self._start_step = train_steps.global_step(self.model)
    self._write('training')

  def on_train_batch_end(self, batch, logs=None):
    if time.monotonic() - self._last_time >= self._every_secs:
      self._write('training')

  def on_train_end(self, logs=None):
    self._write('done')


class ReplayRatioLimiter(tf_keras.callbacks.Callback):
  """Holds the trainer back to at most K train steps per collected transition.

  Off-policy training on a growing replay overfits its first files when the
  trainer runs far ahead of the collectors (a fast GPU trainer, slow
  simulators): Reverb's rate limiters and QT-Opt's fixed train/collect
  ratio bound it. Before each step this callback compares the global step
  with `max_steps_per_transition` times the transitions the collectors
  report in their status files, and waits (polling every `poll_secs`) while
  the step is past it. It stops waiting once no collector is running any
  more (all report 'done' or 'failed'), so a finished collection never
  stalls the last steps, and it does not hold the trainer back before its
  first export (collectors that run out of bootstrap episodes wait for it).

  Example (gin):
    run_trainer.max_steps_per_transition = 2.0

  Args:
    root_dir: The flywheel's root directory.
    max_steps_per_transition: Train steps allowed per collected transition
      (> 0).
    poll_secs: Seconds between checks while waiting.

  Raises:
    ValueError: If `max_steps_per_transition` is not positive.
  """

  def __init__(self, root_dir: str, max_steps_per_transition: float,
               poll_secs: float = 1.0):
    super().__init__()
    if isinstance(max_steps_per_transition, bool) or not isinstance(
        max_steps_per_transition, numbers.Real) or not (
            max_steps_per_transition > 0):
      raise ValueError(
          'max_steps_per_transition must be a positive number (train steps '
          f'per collected transition), got {max_steps_per_transition!r}.')
    self._root_dir = root_dir
    self._ratio = float(max_steps_per_transition)
    self._poll_secs = poll_secs
    self._export_seen = False
    self.waited_secs = 0.0

  def _collection_over(self) -> bool:
    statuses = status_files.read_statuses(self._root_dir)
    collectors = [s for name, s in statuses.items()
                  if name.startswith('collector-')]
    return bool(collectors) and all(s.get('state') in ('done', 'failed')
                                    for s in collectors)

  def _exported(self) -> bool:
    if not self._export_seen:
      self._export_seen = export_dirs.latest_export(
          export_root(self._root_dir)) is not None
    return self._export_seen

  def on_train_batch_begin(self, batch, logs=None):
    if not self._exported():
      return  # Collectors wait for the first export: never hold it back.
    step = train_steps.global_step(self.model)
    while (step >= self._ratio * collected_totals(
        self._root_dir)['transitions'] and not self._collection_over()):
      time.sleep(self._poll_secs)
      self.waited_secs += self._poll_secs


@gin.configurable
def run_trainer(root_dir: str = gin.REQUIRED,
                strategy: Optional[tf.distribute.Strategy] = None,
                max_steps_per_transition: Optional[float] = None
               ) -> Dict[str, Any]:
  """The trainer process: `train_eval_model` into `root_dir/model`.

  Everything else (model, input generator over the replay, steps, export)
  comes from the gin bindings of `train_eval_model`.

  Args:
    root_dir: The flywheel's root directory.
    strategy: The tf.distribute strategy to train under (None: default).
    max_steps_per_transition: None trains as fast as it can; a number K
      holds the trainer at K train steps per transition the collectors have
      written (`ReplayRatioLimiter`).

  Returns:
    `train_eval_model`'s result.

  Raises:
    ValueError: For a non-positive `max_steps_per_transition`.
  """
  callbacks = [TrainerStatusCallback(root_dir)]
  one_step_per_call = {}
  if max_steps_per_transition is not None:
    callbacks.append(ReplayRatioLimiter(root_dir, max_steps_per_transition))
    # The limiter holds the trainer between tf.function calls: with several
    # steps per call it would overshoot its ratio by up to that many steps.
    one_step_per_call = {'steps_per_execution': 1}
  newest = export_dirs.latest_export(export_root(root_dir))
  status_files.write_status(root_dir, 'trainer', {
      'state': 'starting', 'global_step': newest[0] if newest else 0,
      'steps_per_second': 0.0})
  return train_eval.train_eval_model(
      model_dir=model_dir(root_dir), strategy=strategy,
      callbacks=callbacks, **one_step_per_call)
