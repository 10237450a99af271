"""A small multi-step gymnasium task for collector tests: reach a goal.

A point in [-1, 1]^2 moves by 0.25 * action per step (actions in [-1, 1]^2)
toward a goal; reaching within 0.15 of it ends the episode with reward 1,
otherwise each step costs 0 and the episode is cut after `max_steps`.
"""

import gymnasium
import numpy as np

from t2r import policies

STEP_SIZE = 0.25
REACHED = 0.15


class PointReachEnv(gymnasium.Env):
  """Observations {'position': (2,), 'goal': (2,)} float32."""

  def __init__(self, max_steps: int = 8):
    self.observation_space = gymnasium.spaces.Dict({
        'position': gymnasium.spaces.Box(-1, 1, (2,), np.float32),
        'goal': gymnasium.spaces.Box(-1, 1, (2,), np.float32),
    })
    self.action_space = gymnasium.spaces.Box(-1, 1, (2,), np.float32)
    self._max_steps = max_steps
    self._position = self._goal = None
    self._steps = 0

  def _obs(self):
    return {'position': self._position.copy(), 'goal': self._goal.copy()}

  def reset(self, *, seed=None, options=None):
    super().reset(seed=seed)
    self._position = self.np_random.uniform(-1, 1, 2).astype(np.float32)
    self._goal = self.np_random.uniform(-1, 1, 2).astype(np.float32)
    self._steps = 0
    return self._obs(), {}

  def step(self, action):
    action = np.clip(np.asarray(action, np.float32), -1, 1)
    self._position = np.clip(self._position + STEP_SIZE * action, -1, 1)
    self._steps += 1
    reached = float(np.linalg.norm(self._position - self._goal)) < REACHED
    truncated = not reached and self._steps >= self._max_steps
    return (self._obs(), float(reached), reached, truncated,
            {'success': reached})


class ScriptedReachPolicy(policies.Policy):
  """Moves straight to the goal (the scripted baseline)."""

  def sample_action(self, obs, explore_prob):
    del explore_prob
    delta = (obs['goal'] - obs['position']) / STEP_SIZE
    return np.clip(delta, -1, 1).astype(np.float32), {'q': 1.0}


class RandomReachPolicy(policies.Policy):
  """Uniform random actions (the bootstrap before any export)."""

  def __init__(self, seed=None):
    super().__init__()
    self._rng = np.random.default_rng(seed)

  def sample_action(self, obs, explore_prob):
    del obs, explore_prob
    return self._rng.uniform(-1, 1, 2).astype(np.float32), {}
