"""Exploration wrappers around a greedy policy (continuous actions).

`explore_prob` in `sample_action(obs, explore_prob)` is the probability that
a step explores (per episode for `PerEpisodeSwitchPolicy`); 0 is greedy.
Every wrapper keeps actions inside the bounds. Every one takes a `seed`:
wrappers built with the same seed around the same greedy policy take the
same actions for the same observations (None: random). With
`sample_actions` (environments stepped together) the greedy policy is asked
once for the whole batch and the per-episode state (noise, decisions) is
kept per environment slot.
"""

import abc
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import gin
import numpy as np

from t2r.policies import cem
from t2r.policies import schedules
from t2r.policies.policies import BatchedPolicy
from t2r.policies.policies import Debug
from t2r.policies.policies import Policy
from t2r.policies.policies import check_slots


def _check_explore_prob(explore_prob: float):
  if not 0.0 <= explore_prob <= 1.0:
    raise ValueError(f'explore_prob must be in [0, 1], got {explore_prob}.')


class ExplorationWrapper(BatchedPolicy):
  """A policy that perturbs the actions of another one.

  Args:
    policy: The greedy policy.
    action_low: Lower bound per action dimension.
    action_high: Upper bound per action dimension.
    seed: Seed of the exploration randomness; None: random.
  """

  def __init__(self, policy: Policy, action_low: Any, action_high: Any,
               seed: Optional[int] = None):
    super().__init__(policy.predictor)
    self._policy = policy
    self._low, self._high = cem.check_action_bounds(action_low, action_high)
    self._rng = np.random.default_rng(seed)

  def reset(self):
    self._policy.reset()

  def restore(self) -> bool:
    return self._policy.restore()

  @property
  def global_step(self) -> int:
    return self._policy.global_step

  def _explores(self, explore_prob: float) -> bool:
    return explore_prob > 0 and self._rng.random() < explore_prob

  def sample_actions(self, observations: Sequence[Any], explore_prob: float,
                     slots: Optional[Sequence[int]] = None
                    ) -> Tuple[np.ndarray, List[Debug]]:
    _check_explore_prob(explore_prob)
    slots = check_slots(observations, slots)
    actions, debugs = self._policy.sample_actions(observations, 0.0, slots)
    rows, row_debugs = [], []
    for action, debug, slot in zip(actions, debugs, slots):
      explored = self._explores(explore_prob)
      noisy = self._perturb(np.asarray(action, np.float32), explored, slot)
      rows.append(np.clip(noisy, self._low, self._high).astype(np.float32))
      row_debugs.append(dict(debug, explored=explored))
    return np.stack(rows), row_debugs

  @abc.abstractmethod
  def _perturb(self, action: np.ndarray, explored: bool,
               slot: int) -> np.ndarray:
    """Returns the (unclipped) action to take in `slot`; called every step."""


@gin.configurable
class OrnsteinUhlenbeckNoisePolicy(ExplorationWrapper):
  """Adds temporally correlated Ornstein-Uhlenbeck noise (as in DDPG).

  The noise follows dx = theta * (0 - x) dt + sigma * sqrt(dt) * N(0, 1)
  every step and restarts at 0 on `reset`; exploring steps add it.

  Example:
    >>> policy = OrnsteinUhlenbeckNoisePolicy(greedy, [-1, -1], [1, 1], seed=0)

  Args:
    policy: The greedy policy.
    action_low: Lower bound per action dimension.
    action_high: Upper bound per action dimension.
    theta: Mean reversion rate.
    sigma: Noise scale, in action units.
    dt: Time step.
    seed: Seed of the noise and of the explore decisions; None: random.
  """

  def __init__(self, policy: Policy, action_low: Any, action_high: Any,
               theta: float = 0.15, sigma: float = 0.2, dt: float = 1.0,
               seed: Optional[int] = None):
    super().__init__(policy, action_low, action_high, seed)
    self._theta, self._sigma, self._dt = theta, sigma, dt
    self._noise: Dict[int, np.ndarray] = {}

  def reset(self):
    super().reset()
    self._noise = {}

  def _perturb(self, action, explored, slot):
    noise = self._noise.get(slot, np.zeros_like(self._low))
    noise = (noise - self._theta * noise * self._dt +
             self._sigma * np.sqrt(self._dt) *
             self._rng.standard_normal(noise.shape))
    self._noise[slot] = noise
    return action + noise if explored else action


@gin.configurable
def linear_decay(global_step: int, initial: float = 0.5, final: float = 0.05,
                 decay_steps: int = 10000) -> float:
  """Decays linearly from `initial` to `final` over `decay_steps` steps."""
  return schedules.LinearSchedule(initial, final,
                                  max(decay_steps, 1))(global_step)


@gin.configurable
class ScheduledGaussianNoisePolicy(ExplorationWrapper):
  """Adds Gaussian noise whose stddev follows the training step.

  Example:
    >>> policy = ScheduledGaussianNoisePolicy(greedy, [-1], [1],
    ...                                       stddev_schedule=linear_decay,
    ...                                       seed=0)

  Args:
    policy: The greedy policy.
    action_low: Lower bound per action dimension.
    action_high: Upper bound per action dimension.
    stddev_schedule: global_step -> stddev (a fraction of the action range
      is not assumed: the stddev is in action units).
    seed: Seed of the noise and of the explore decisions; None: random.
  """

  def __init__(self, policy: Policy, action_low: Any, action_high: Any,
               stddev_schedule: Callable[[int], float] = linear_decay,
               seed: Optional[int] = None):
    super().__init__(policy, action_low, action_high, seed)
    self._stddev_schedule = stddev_schedule

  def _perturb(self, action, explored, slot):
    del slot  # The noise is independent per step.
    if not explored:
      return action
    stddev = self._stddev_schedule(max(self.global_step, 0))
    return action + self._rng.normal(0.0, stddev, size=action.shape)


@gin.configurable
class EpsilonRandomPolicy(ExplorationWrapper):
  """With probability `explore_prob`, a uniformly random action in bounds.

  Example:
    >>> policy = EpsilonRandomPolicy(greedy, [-1, -1], [1, 1], seed=0)

  Args:
    policy: The greedy policy.
    action_low: Lower bound per action dimension.
    action_high: Upper bound per action dimension.
    seed: Seed of the random actions and explore decisions; None: random.
  """

  def _perturb(self, action, explored, slot):
    del slot  # The random action is independent per step.
    if not explored:
      return action
    return self._rng.uniform(self._low, self._high).astype(np.float32)


@gin.configurable
class PerEpisodeSwitchPolicy(BatchedPolicy):
  """Explores for a whole episode or not at all.

  At the first step after `reset`, explores with probability `explore_prob`;
  the episode then uses `explore_policy` (called with explore_prob 1) or
  `greedy_policy` (called with 0).

  Example:
    >>> policy = PerEpisodeSwitchPolicy(
    ...     EpsilonRandomPolicy(greedy, low, high, seed=0), greedy, seed=1)

  Args:
    explore_policy: Acts in exploring episodes (seed it too for
      deterministic episodes).
    greedy_policy: Acts in the other episodes.
    seed: Seed of the per-episode decision; None: random.
  """

  def __init__(self, explore_policy: Policy, greedy_policy: Policy,
               seed: Optional[int] = None):
    super().__init__(greedy_policy.predictor)
    self._explore_policy = explore_policy
    self._greedy_policy = greedy_policy
    self._rng = np.random.default_rng(seed)
    self._explore_episode: Dict[int, bool] = {}

  def reset(self):
    self._explore_policy.reset()
    self._greedy_policy.reset()
    self._explore_episode = {}

  def restore(self) -> bool:
    restored = self._greedy_policy.restore()
    if self._explore_policy.predictor is not self._greedy_policy.predictor:
      restored = self._explore_policy.restore() or restored
    return restored

  @property
  def global_step(self) -> int:
    return self._greedy_policy.global_step

  def sample_actions(self, observations: Sequence[Any], explore_prob: float,
                     slots: Optional[Sequence[int]] = None
                    ) -> Tuple[np.ndarray, List[Debug]]:
    slots = check_slots(observations, slots)
    for slot in slots:
      if slot not in self._explore_episode:
        _check_explore_prob(explore_prob)
        self._explore_episode[slot] = bool(self._rng.random() < explore_prob)
    actions: List[Any] = [None] * len(slots)
    debugs: List[Debug] = [{}] * len(slots)
    for explore, policy, prob in ((True, self._explore_policy, 1.0),
                                  (False, self._greedy_policy, 0.0)):
      rows = [i for i, slot in enumerate(slots)
              if self._explore_episode[slot] == explore]
      if not rows:
        continue
      row_actions, row_debugs = policy.sample_actions(
          [observations[i] for i in rows], prob, [slots[i] for i in rows])
      for i, action, debug in zip(rows, row_actions, row_debugs):
        actions[i] = action
        debugs[i] = dict(debug, explore_episode=explore)
    return np.stack(actions), debugs
