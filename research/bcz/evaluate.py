"""Closed-loop evaluation of BC-Z policies on held-out initial states.

A policy here is any callable `policy(observation, task) -> action` (with
an optional `reset()` called at the start of every episode): the scripted
expert (`ExpertPolicy`), a uniformly random one (`RandomPolicy`) or a
trained model's SavedModel export (`ExportedPolicy`, served through t2r's
`ExportedSavedModelPredictor` and `RegressionPolicy`: TensorFlow and the
specs only, no model code). `evaluate_policy` runs each of them on the same
K initial states per task (`bcz_env.initial_state_seeds(split='test')`,
disjoint from the demonstrations' seeds), so their success rates compare.

Example:
  >>> env = bcz_env.BCZEnv()
  >>> expert = evaluate_policy(env, ExpertPolicy(env), episodes_per_task=20)
  >>> model = evaluate_policy(env, ExportedPolicy('/tmp/bcz_cpu/export',
  ...                                             env.task_table),
  ...                         episodes_per_task=20)
  >>> print(format_table({'expert': expert, 'model': model}))
"""

import collections
import dataclasses
from typing import Any, Callable, Dict, Mapping, Optional, Sequence, Tuple

import numpy as np

from research.bcz import bcz_env
from research.bcz import bcz_specs
from research.bcz import experts
from t2r import progress

PolicyFn = Callable[[Dict[str, np.ndarray], str], np.ndarray]


@dataclasses.dataclass(frozen=True)
class TaskResult:
  """One task's episodes.

  Attributes:
    task: The task text.
    seeds: The reset seeds, one episode each.
    successes: (episodes,) bool.
    steps: (episodes,) int, steps until success or the time limit.
  """
  task: str
  seeds: Tuple[int, ...]
  successes: np.ndarray
  steps: np.ndarray

  @property
  def num_episodes(self) -> int:
    return len(self.seeds)

  @property
  def success_rate(self) -> float:
    return float(np.mean(self.successes))


@dataclasses.dataclass(frozen=True)
class Evaluation:
  """A policy's results per task.

  Attributes:
    results: {task text: `TaskResult`}, in task order.
  """
  results: Dict[str, TaskResult]

  @property
  def success_rates(self) -> Dict[str, float]:
    """{task: success rate}."""
    return {task: r.success_rate for task, r in self.results.items()}

  @property
  def mean_success_rate(self) -> float:
    """The mean over tasks of the success rates."""
    return float(np.mean(list(self.success_rates.values())))


class ExpertPolicy:
  """The scripted privileged expert as a policy (it ignores the image).

  Args:
    env: The `BCZEnv` it acts in (it reads the true object poses).
    **kwargs: `experts.ScriptedExpert` arguments.
  """

  def __init__(self, env: Any, **kwargs):
    self._expert = experts.ScriptedExpert(env, **kwargs)

  def reset(self):
    self._expert.reset()

  def __call__(self, observation: Dict[str, np.ndarray],
               task: str) -> np.ndarray:
    del observation, task  # The env's privileged state says it all.
    return self._expert.action()


class RandomPolicy:
  """Uniform random actions in the env's action space (seeded).

  Args:
    action_space: The env's `action_space` (a gymnasium Box).
    seed: Seeds the actions.
  """

  def __init__(self, action_space: Any, seed: Optional[int] = None):
    self._low = np.asarray(action_space.low, np.float32)
    self._high = np.asarray(action_space.high, np.float32)
    self._rng = np.random.default_rng(seed)

  def __call__(self, observation: Dict[str, np.ndarray],
               task: str) -> np.ndarray:
    del observation, task
    return self._rng.uniform(self._low, self._high).astype(np.float32)


class ExportedPolicy:
  """A BC-Z export acting through `RegressionPolicy(action_key='action')`.

  The observation's image and proprioception and the task's embedding
  (from `task_table`) are the export's features. An export of a history
  model (`BCZModel(history_length=k)`: its 'image' feature is (k, H, W, 3))
  gets the last k frames of the episode, the first frame repeated until k
  were seen, as in training; `reset()` (called by `run_episode` at every
  episode start) forgets them.

  Example:
    >>> policy = ExportedPolicy('/tmp/bcz_cpu/export', env.task_table)
    >>> action = policy(obs, 'pick up the duck')

  Args:
    export_dir: An export (`model_dir/export/<step>`) or the directory of
      exports (the newest complete one is loaded).
    task_table: The `bcz_specs.TaskTable` the model was trained with (its
      embedding size must match the export's).
    action_low: Lower bounds the actions are clipped to (the env's).
    action_high: Upper bounds.

  Raises:
    ValueError: If no complete export is found at `export_dir`.
  """

  def __init__(self, export_dir: str, task_table: bcz_specs.TaskTable,
               action_low: Optional[Sequence[float]] = None,
               action_high: Optional[Sequence[float]] = None):
    # pylint: disable=g-import-not-at-top
    from t2r import policies
    from t2r import predictors
    # pylint: enable=g-import-not-at-top
    self._predictor = predictors.ExportedSavedModelPredictor(export_dir,
                                                             timeout=0)
    if not self._predictor.restore():
      raise ValueError(f'ExportedPolicy: no complete t2r export at '
                       f'{export_dir!r}; pass model_dir/export or one '
                       'export/<step> directory.')
    self._table = task_table
    image_shape = self._predictor.get_feature_specification()['image'].shape
    self._history_length = image_shape[0] if len(image_shape) == 4 else None
    self._frames = collections.deque(maxlen=self._history_length or 1)
    self._policy = policies.RegressionPolicy(
        self._predictor, action_key='action', action_low=action_low,
        action_high=action_high)

  @property
  def global_step(self) -> int:
    """The training step of the loaded export."""
    return self._predictor.global_step

  def reset(self):
    """Forgets the frames of the last episode (history exports)."""
    self._frames.clear()

  def _image(self, image: np.ndarray) -> np.ndarray:
    if self._history_length is None:
      return image
    if not self._frames:
      self._frames.extend([image] * self._history_length)
    else:
      self._frames.append(image)
    return np.stack(self._frames)

  def __call__(self, observation: Dict[str, np.ndarray],
               task: str) -> np.ndarray:
    features = {'image': self._image(observation['image']),
                'proprioception': observation['proprioception'],
                'task_embedding': self._table.embedding(task)}
    action, _ = self._policy.sample_action(features, 0.0)
    return np.asarray(action, np.float32)

  def close(self):
    self._predictor.close()


def run_episode(env: Any, policy: PolicyFn, seed: int,
                task: str) -> Tuple[bool, int]:
  """Runs one episode of `policy`; returns (success, steps)."""
  observation, _ = env.reset(seed=int(seed), options={'task': task})
  if callable(getattr(policy, 'reset', None)):
    policy.reset()
  steps, info = 0, {'success': False}
  terminated = truncated = False
  while not (terminated or truncated):
    observation, _, terminated, truncated, info = env.step(
        policy(observation, task))
    steps += 1
  return bool(info['success']), steps


def evaluate_policy(env: Any,
                    policy: PolicyFn,
                    episodes_per_task: int = 20,
                    tasks: Optional[Sequence[str]] = None,
                    split: str = 'test',
                    start: int = 0,
                    description: Optional[str] = None) -> Evaluation:
  """Runs `policy` on K held-out initial states per task.

  Example:
    >>> evaluation = evaluate_policy(env, RandomPolicy(env.action_space, 0),
    ...                              episodes_per_task=10)
    >>> evaluation.success_rates['pick up the duck']
    0.0

  Args:
    env: A `bcz_env.BCZEnv`.
    policy: `policy(observation, task) -> action`, optionally with
      `reset()`.
    episodes_per_task: K, the episodes (initial states) per task.
    tasks: The tasks to run; default all of `env.tasks`.
    split: The seeds' split (`bcz_env.SEED_STARTS`); 'test' is held out
      from the demonstrations.
    start: The first episode's index in the split (another K states).
    description: If set, a progress bar with this description.

  Returns:
    An `Evaluation`.

  Raises:
    ValueError: For a bad `episodes_per_task`, an unknown task or split.
    TypeError: If `policy` is not callable.
  """
  if not callable(policy):
    raise TypeError(f'evaluate_policy: policy must be a callable (obs, task) '
                    f'-> action, got {type(policy).__name__}.')
  if isinstance(episodes_per_task, bool) or not isinstance(
      episodes_per_task, (int, np.integer)) or episodes_per_task < 1:
    raise ValueError(f'evaluate_policy: episodes_per_task must be an int >= '
                     f'1, got {episodes_per_task!r}.')
  tasks = list(env.tasks if tasks is None else tasks)
  if not tasks:
    raise ValueError('evaluate_policy: tasks is empty; pass some of '
                     f'{list(env.tasks)} or None for all.')
  plan = [(task, bcz_env.initial_state_seeds(
      split, env.task_table.task_id(task), int(episodes_per_task), start))
          for task in tasks]
  bar = (progress.ProgressBar(description, total=len(tasks) *
                              int(episodes_per_task), unit='episodes')
         if description else None)
  results, done, successes_so_far = {}, 0, 0
  for task, seeds in plan:
    outcomes = []
    for seed in seeds:
      outcomes.append(run_episode(env, policy, seed, task))
      done += 1
      successes_so_far += outcomes[-1][0]
      if bar is not None:
        bar.update(done, success=successes_so_far / done)
    results[task] = TaskResult(
        task, tuple(seeds), np.array([s for s, _ in outcomes], bool),
        np.array([n for _, n in outcomes], int))
  if bar is not None:
    bar.close()
  return Evaluation(results)


def format_table(evaluations: Mapping[str, Evaluation]) -> str:
  """A markdown table: one row per task, one column per policy.

  Args:
    evaluations: {policy name: `Evaluation`}, all over the same tasks.

  Returns:
    The table, with a last row of the mean over tasks.
  """
  names = list(evaluations)
  tasks = list(next(iter(evaluations.values())).results)
  lines = ['| task | ' + ' | '.join(names) + ' |',
           '| --- |' + ' --- |' * len(names)]
  for task in tasks:
    cells = []
    for name in names:
      result = evaluations[name].results[task]
      cells.append(f'{100 * result.success_rate:.0f}% '
                   f'({int(result.successes.sum())}/{result.num_episodes})')
    lines.append(f'| {task} | ' + ' | '.join(cells) + ' |')
  lines.append('| mean | ' + ' | '.join(
      f'{100 * evaluations[n].mean_success_rate:.0f}%' for n in names) + ' |')
  return '\n'.join(lines)
