"""Scores pose-env policies on held-out simulator episodes.

`load_policy` turns a SavedModel export into a `RegressionPolicy` or a
`CEMPolicy` through `ExportedSavedModelPredictor` (no model code);
`evaluate_policy` runs one greedy episode per reset seed, so that policies
scored on the same seeds see the same scenes; `format_table` prints the
scores next to the training of each policy's model.
"""

import dataclasses
from typing import Any, List, Optional, Sequence

import numpy as np

from research.pose_env import collection
from research.pose_env import pose_env
from research.pose_env.training_stage import TrainResult
from t2r import policies
from t2r import progress
from t2r import predictors
from t2r.policies import cem_export_generator

# Where the duck may stand: the box the policies' actions are clipped to and
# CEM searches.
ACTION_LOW = (pose_env.DUCK_X_RANGE[0], pose_env.DUCK_Y_RANGE[0])
ACTION_HIGH = (pose_env.DUCK_X_RANGE[1], pose_env.DUCK_Y_RANGE[1])
RANDOM, REGRESSION, CEM_CRITIC = 'random', 'regression', 'cem_critic'


@dataclasses.dataclass(frozen=True)
class Episodes:
  """One policy's greedy episodes.

  Attributes:
    actions: (episodes, 2) guesses.
    distances: (episodes,) distances to the target (-reward).
    targets: (episodes, 2) true positions.
    images: The camera images, one per episode.
  """
  actions: np.ndarray
  distances: np.ndarray
  targets: np.ndarray
  images: List[np.ndarray]


@dataclasses.dataclass(frozen=True)
class PolicyResult:
  """A policy's held-out episodes and the training of its model.

  Attributes:
    name: RANDOM, REGRESSION or CEM_CRITIC.
    episodes: Its `Episodes`.
    train: The training stage of its model, or None.
  """
  name: str
  episodes: Episodes
  train: Optional[TrainResult] = None

  @property
  def mean_distance(self) -> float:
    """The mean distance of the guesses to the true positions, in m."""
    return float(np.mean(self.episodes.distances))

  @property
  def median_distance(self) -> float:
    """The median distance of the guesses to the true positions, in m."""
    return float(np.median(self.episodes.distances))


def evaluate_policy(policy: policies.Policy, env: Any,
                    seeds: Sequence[int],
                    description: Optional[str] = None) -> Episodes:
  """Runs one greedy episode per seed.

  Example:
    >>> episodes = evaluate_policy(PoseEnvRandomPolicy(seed=0),
    ...                            pose_env.PoseEnv(), seeds=range(100))
    >>> float(episodes.distances.mean())

  Args:
    policy: The policy to score.
    env: A `PoseEnv`.
    seeds: Reset seeds, one episode each.
    description: If set, a progress bar with this description is shown.

  Returns:
    The `Episodes`.
  """
  seeds = list(seeds)
  bar = (progress.ProgressBar(description, total=len(seeds), unit='episodes')
         if description and seeds else None)
  steps = []
  for seed in seeds:
    steps.append(collection.run_episode(env, policy, seed=seed)[0])
    if bar is not None:
      bar.update(len(steps), mean_distance=-float(
          np.mean([step[2] for step in steps])))
  if bar is not None:
    bar.close()
  return Episodes(
      actions=np.stack([np.asarray(step[1], np.float32) for step in steps]),
      distances=np.array([-float(step[2]) for step in steps]),
      targets=np.stack([step[5]['target_pose'] for step in steps]),
      images=[step[0] for step in steps])


def load_policy(name: str, export_path: str,
                seed: Optional[int] = None) -> policies.Policy:
  """A policy over an export, loaded without any model code.

  Example:
    >>> policy = load_policy(REGRESSION, '/tmp/pose/regression/export/1500')
    >>> action, _ = policy.sample_action(image, 0.0)

  Args:
    name: REGRESSION (`RegressionPolicy`) or CEM_CRITIC (`CEMPolicy` running
      the export's in-graph 'cem_action' signature).
    export_path: The export directory.
    seed: Seeds `CEMPolicy`'s sampling (the regression policy is
      deterministic).

  Returns:
    The policy, its predictor restored.

  Raises:
    ValueError: For an unknown name or an export that cannot be loaded.
  """
  predictor = predictors.ExportedSavedModelPredictor(export_path, timeout=0)
  if not predictor.restore():
    raise ValueError(f'No complete t2r export at {export_path!r}.')
  if name == REGRESSION:
    return policies.RegressionPolicy(predictor, action_low=ACTION_LOW,
                                     action_high=ACTION_HIGH)
  if name == CEM_CRITIC:
    return policies.CEMPolicy(
        predictor, action_low=ACTION_LOW, action_high=ACTION_HIGH,
        exported_cem_signature=cem_export_generator.CEM_SIGNATURE,
        seed=seed)
  raise ValueError(f'Unknown policy {name!r}; expected {REGRESSION!r} or '
                   f'{CEM_CRITIC!r}.')


def format_table(results: Sequence[PolicyResult]) -> str:
  """The results as a fixed-width text table.

  One row per policy: its mean and median distance, and the training steps
  and seconds of its model ('-' without a model, 'skipped' when this run
  found the model already trained).

  Args:
    results: The policies' results, in the order of the rows.

  Returns:
    The table, a header line and one line per policy.
  """
  lines = [f'{"policy":<12} {"mean dist (m)":>14} {"median (m)":>11} '
           f'{"train steps":>12} {"train s":>8}']
  for r in results:
    steps = str(r.train.global_step) if r.train else '-'
    seconds = '-' if not r.train else (
        f'{r.train.seconds:.1f}' if r.train.seconds else 'skipped')
    lines.append(f'{r.name:<12} {r.mean_distance:>14.4f} '
                 f'{r.median_distance:>11.4f} {steps:>12} '
                 f'{seconds:>8}')
  return '\n'.join(lines)
