"""Meta policies: collect condition episodes in a new task, adapt, then act.

`MAMLRegressionPolicy` runs the export of a `MAMLModel` through any
predictor (TensorFlow and the specs only, no model code). In a new task it
acts with the export's unadapted prediction while it collects condition
data: `observe_episode(episode)` (which `t2r.collect.run_env` calls after
every episode of a policy that has it) turns each finished episode into
condition samples (base features and labels). Once it holds
`num_condition_episodes` episodes' worth, every action comes from the
adapted prediction: the condition samples go into the same SavedModel call
as the observation, which adapts and predicts in one go. After
`episodes_per_task` observed episodes (or `reset_task()`), the task is over
and the condition data is dropped.

A batched call (several environments) treats each environment slot as its
own task, with its own condition data.
"""

from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import gin
import numpy as np

from t2r import specs
from t2r.policies import cem
from t2r.policies import policies
from t2r.predictors.abstract_predictor import AbstractPredictor

CONDITION_FEATURES = 'condition/features/'
CONDITION_LABELS = 'condition/labels/'
INFERENCE_FEATURES = 'inference/features/'
UNADAPTED = 'unadapted/'
ADAPTED = 'adapted/'

Sample = Tuple[Dict[str, np.ndarray], Dict[str, np.ndarray]]
# episode -> [(base features, base labels)] condition samples.
EpisodeToConditionFn = Callable[[List[Any]], List[Sample]]


def _strip(paths: Sequence[str], prefix: str) -> List[str]:
  return [p[len(prefix):] for p in paths if p.startswith(prefix)]


def labels_from_info(step: Any, label_paths: Sequence[str]
                    ) -> Dict[str, np.ndarray]:
  """The labels of one step, looked up in its info dict by label path.

  Example:
    >>> labels_from_info(step, ['target_pose'])   # step[5]['target_pose']
    {'target_pose': array([0.1, -0.2], dtype=float32)}

  Args:
    step: `(obs, action, reward, new_obs, done, info)` as `run_env` records.
    label_paths: The base label paths; each is looked up in `info` by its
      path, then by its last component.

  Returns:
    {label path: value}.

  Raises:
    ValueError: If the info lacks a label.
  """
  info = step[5] if len(step) > 5 and step[5] is not None else {}
  labels = {}
  for path in label_paths:
    short = path.split('/')[-1]
    if path in info:
      labels[path] = np.asarray(info[path])
    elif short in info:
      labels[path] = np.asarray(info[short])
    else:
      raise ValueError(
          f'The episode step has no label {path!r} in its info (keys '
          f'{sorted(info)}). Pass MAMLRegressionPolicy an '
          'episode_to_condition_fn that returns (features, labels) per '
          'sample.')
  return labels


@gin.configurable
class MAMLRegressionPolicy(policies.BatchedPolicy):
  """Acts with a MAML export: unadapted until it has condition data.

  Example:
    >>> policy = MAMLRegressionPolicy(
    ...     ExportedSavedModelPredictor(export_dir), num_condition_episodes=2,
    ...     episodes_per_task=6)
    >>> policy.restore()
    >>> run_env(env, policy, num_episodes=6)   # 2 to adapt, 4 adapted

  Args:
    predictor: A predictor of a `MAMLModel` export.
    num_condition_episodes: Episodes of a task to collect before acting
      adapted.
    episodes_per_task: Observed episodes after which the task ends and the
      condition data is dropped; None: only `reset_task()` ends it.
    episode_to_condition_fn: episode -> list of (base features, base labels)
      samples. Default: every step gives one sample, its observation packed
      to the base feature paths (`pack_features_fn`) and the labels looked up
      in its info (`labels_from_info`).
    action_key: The base model's output holding the action.
    action_low: Optional lower bounds the action is clipped to.
    action_high: Optional upper bounds the action is clipped to.
    pack_features_fn: obs -> {base feature path: value}; default
      `policies.pack_observation`.

  Raises:
    ValueError: For a non-positive episode count, or `episodes_per_task`
      below `num_condition_episodes`.
  """

  def __init__(self,
               predictor: AbstractPredictor,
               num_condition_episodes: int = 1,
               episodes_per_task: Optional[int] = None,
               episode_to_condition_fn: Optional[EpisodeToConditionFn] = None,
               action_key: str = 'inference_output',
               action_low: Optional[Any] = None,
               action_high: Optional[Any] = None,
               pack_features_fn: Optional[policies.PackFn] = None):
    super().__init__(predictor)
    for name, value in (('num_condition_episodes', num_condition_episodes),
                        ('episodes_per_task', episodes_per_task)):
      if value is not None and (isinstance(value, bool) or
                                not isinstance(value, int) or value < 1):
        raise ValueError(f'{name} must be a positive int, got {value!r}.')
    if episodes_per_task is not None and (
        episodes_per_task < num_condition_episodes):
      raise ValueError(
          f'episodes_per_task ({episodes_per_task}) must be at least '
          f'num_condition_episodes ({num_condition_episodes}): the task '
          'would end before the policy adapts.')
    self._num_condition_episodes = num_condition_episodes
    self._episodes_per_task = episodes_per_task
    self._episode_to_condition_fn = episode_to_condition_fn
    self._action_key = action_key
    self._bounds = (None, None)
    if action_low is not None or action_high is not None:
      self._bounds = cem.check_action_bounds(action_low, action_high)
    self._pack_features_fn = pack_features_fn
    self._condition: Dict[int, List[Sample]] = {}
    self._episodes: Dict[int, int] = {}

  # -- Task state ---------------------------------------------------------------

  def reset_task(self, slot: Optional[int] = None):
    """Ends the task of `slot` (all slots if None): drops its condition data."""
    if slot is None:
      self._condition.clear()
      self._episodes.clear()
    else:
      self._condition.pop(slot, None)
      self._episodes.pop(slot, None)

  def num_condition_samples(self, slot: int = 0) -> int:
    """The condition samples the task of `slot` has collected."""
    return len(self._condition.get(slot, []))

  def is_adapted(self, slot: int = 0) -> bool:
    """Whether `slot` acts with the adapted prediction."""
    return self._episodes.get(slot, 0) >= self._num_condition_episodes

  def add_condition_samples(self, samples: Sequence[Sample], slot: int = 0):
    """Adds (base features, base labels) condition samples to `slot`'s task.

    Args:
      samples: (features, labels) dicts keyed by base feature / label path.
      slot: The environment slot.
    """
    self._condition.setdefault(slot, []).extend(
        (dict(f), dict(l)) for f, l in samples)

  def observe_episode(self, episode: List[Any], slot: int = 0):
    """Records a finished episode; the first ones become condition data.

    `t2r.collect.run_env` calls it after every episode.

    Args:
      episode: The steps `(obs, action, reward, new_obs, done, info)`.
      slot: The environment the episode ran in.
    """
    seen = self._episodes.get(slot, 0)
    if seen < self._num_condition_episodes:
      self.add_condition_samples(self._condition_samples(episode), slot)
    self._episodes[slot] = seen + 1
    if (self._episodes_per_task is not None and
        self._episodes[slot] >= self._episodes_per_task):
      self.reset_task(slot)

  # -- Acting -------------------------------------------------------------------

  def _spec(self) -> specs.TensorSpecStruct:
    return specs.filter_required_flat_tensor_spec(
        self._predictor.get_feature_specification())

  def _base_feature_paths(self) -> List[str]:
    paths = _strip(self._spec().keys(), INFERENCE_FEATURES)
    if not paths:
      raise ValueError(
          f'The predictor serves no {INFERENCE_FEATURES!r} features (it has '
          f'{self._spec().keys()}); MAMLRegressionPolicy needs the export of '
          'a MAMLModel.')
    return paths

  def _pack(self, obs: Any) -> Dict[str, np.ndarray]:
    if self._pack_features_fn is not None:
      return self._pack_features_fn(obs)
    return policies.pack_observation(obs, self._base_feature_paths())

  def _condition_samples(self, episode: List[Any]) -> List[Sample]:
    if self._episode_to_condition_fn is not None:
      return list(self._episode_to_condition_fn(episode))
    label_paths = _strip(self._spec().keys(), CONDITION_LABELS)
    return [(self._pack(step[0]), labels_from_info(step, label_paths))
            for step in episode]

  def _features_for(self, obs: Any, condition: List[Sample]
                   ) -> Dict[str, np.ndarray]:
    """One task's (1, samples, ...) inputs; a stand-in condition set if none."""
    spec = self._spec()
    features = self._pack(obs)
    if not condition:
      # The unadapted output does not depend on the condition set.
      zero_labels = {
          path: np.zeros(spec[CONDITION_LABELS + path].shape[1:],
                         spec[CONDITION_LABELS + path].dtype.as_numpy_dtype)
          for path in _strip(spec.keys(), CONDITION_LABELS)
      }
      condition = [(features, zero_labels)]
    inputs = {}
    for path in _strip(spec.keys(), INFERENCE_FEATURES):
      inputs[INFERENCE_FEATURES + path] = np.asarray(
          features[path], spec[INFERENCE_FEATURES + path].dtype.as_numpy_dtype
      )[None, None]
      inputs[CONDITION_FEATURES + path] = np.stack(
          [np.asarray(f[path]) for f, _ in condition]).astype(
              spec[CONDITION_FEATURES + path].dtype.as_numpy_dtype)[None]
    for path in _strip(spec.keys(), CONDITION_LABELS):
      inputs[CONDITION_LABELS + path] = np.stack(
          [np.asarray(l[path]) for _, l in condition]).astype(
              spec[CONDITION_LABELS + path].dtype.as_numpy_dtype)[None]
    return inputs

  def sample_actions(self, observations: Sequence[Any], explore_prob: float,
                     slots: Optional[Sequence[int]] = None
                    ) -> Tuple[np.ndarray, List[policies.Debug]]:
    """One action per observation; each slot adapts to its own task.

    Slots with the same number of condition samples share one predictor
    call.

    Raises:
      ValueError: If the predictor lacks the action output.
    """
    del explore_prob  # Exploration is added by wrappers.
    slots = policies.check_slots(observations, slots)
    groups: Dict[Tuple[bool, int], List[int]] = {}
    for row, slot in enumerate(slots):
      adapted = self.is_adapted(slot) and self.num_condition_samples(slot) > 0
      count = self.num_condition_samples(slot) if adapted else 0
      groups.setdefault((adapted, count), []).append(row)
    actions: List[Optional[np.ndarray]] = [None] * len(observations)
    debugs: List[policies.Debug] = [{} for _ in observations]
    for (adapted, count), rows in groups.items():
      per_row = [
          self._features_for(observations[row],
                             self._condition.get(slots[row], [])
                             if adapted else [])
          for row in rows
      ]
      batch = {path: np.concatenate([p[path] for p in per_row])
               for path in per_row[0]}
      outputs = self._predictor.predict(batch)
      key = (ADAPTED if adapted else UNADAPTED) + self._action_key
      if key not in outputs:
        raise ValueError(
            f'The MAML export has no output {key!r}; it returns '
            f'{sorted(outputs)}. Set MAMLRegressionPolicy.action_key to a '
            'base model output.')
      values = np.asarray(outputs[key])[:, 0]
      for i, row in enumerate(rows):
        action = values[i]
        if self._bounds[0] is not None:
          action = np.clip(action, *self._bounds).astype(action.dtype)
        actions[row] = action
        debugs[row] = {'adapted': adapted, 'num_condition_samples': count}
    return np.stack(actions), debugs
