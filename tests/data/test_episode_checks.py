"""Episode checks: idle detection and label replay on crafted episodes.

The replay runs in a real (tiny) gymnasium environment: a point on a plane
that must reach a goal; `reset(seed=...)` draws the start and the goal from
the env's seeded generator, so a seed reproduces the initial state.
"""

import gymnasium
import numpy as np
import pytest

from t2r import data
from t2r.data import episode_checks

_MAX_STEP = 0.05


class PointGoalEnv(gymnasium.Env):
  """A point that must come within 0.05 of a goal; actions are deltas."""

  def __init__(self, max_steps: int = 80):
    self.observation_space = gymnasium.spaces.Box(-2.0, 2.0, (4,), np.float32)
    self.action_space = gymnasium.spaces.Box(-_MAX_STEP, _MAX_STEP, (2,),
                                             np.float32)
    self._max_steps = max_steps
    self.closed = False

  def _observation(self):
    return np.concatenate([self._position, self._goal]).astype(np.float32)

  def reset(self, *, seed=None, options=None):
    super().reset(seed=seed)
    self._position = self.np_random.uniform(-1.0, 1.0, 2)
    self._goal = self.np_random.uniform(-1.0, 1.0, 2)
    self._steps = 0
    return self._observation(), {}

  def step(self, action):
    self._position = self._position + np.clip(action, -_MAX_STEP, _MAX_STEP)
    self._steps += 1
    distance = float(np.linalg.norm(self._position - self._goal))
    success = distance < 0.05
    return (self._observation(), -distance, success,
            self._steps >= self._max_steps, {'is_success': success})

  def close(self):
    self.closed = True


def _expert_episode(seed: int, idle_steps_at: int = 0, idle_steps: int = 0):
  """Records an expert demo; optionally pauses `idle_steps` mid-way."""
  env = PointGoalEnv()
  observation, _ = env.reset(seed=seed)
  actions, poses = [], []
  for step in range(200):
    poses.append(observation[:2].copy())
    if idle_steps_at <= step < idle_steps_at + idle_steps:
      action = np.zeros(2, np.float32)
    else:
      action = np.clip(observation[2:] - observation[:2], -_MAX_STEP,
                       _MAX_STEP).astype(np.float32)
    observation, _, terminated, truncated, _ = env.step(action)
    actions.append(action)
    if terminated or truncated:
      break
  assert terminated, 'the expert must solve its own episode'
  return {'action': np.stack(actions), 'proprioception': np.stack(poses),
          'reset_seed': seed}


# -- Idle detection -----------------------------------------------------------


def test_a_pause_in_the_middle_is_one_flagged_stretch():
  actions = np.full((40, 3), 0.01)
  actions[10:25] = 0.0
  report = data.find_idle_stretches(actions, tolerance=1e-3, min_steps=10)
  assert report.stretches == ((10, 25),)
  assert report.flagged_steps == 15
  assert not report.is_idle_episode
  assert report.keep_mask.sum() == 25 and not report.keep_mask[10:25].any()


def test_short_pauses_are_not_flagged_but_count_as_idle_steps():
  actions = np.full((20, 2), 0.01)
  actions[5:8] = 0.0
  report = data.find_idle_stretches(actions, min_steps=4)
  assert report.stretches == ()
  assert report.idle_steps.sum() == 3


def test_an_episode_that_never_moves_is_idle():
  report = data.find_idle_stretches(np.zeros((50, 7)), np.ones((50, 7)),
                                    min_steps=10)
  assert report.is_idle_episode
  assert report.stretches == ((0, 50),)
  assert report.idle_fraction == 1.0


def test_per_dimension_tolerance():
  actions = np.zeros((12, 2))
  actions[:, 1] = 0.004  # Under the second dimension's tolerance only.
  assert data.find_idle_stretches(actions, tolerance=[1e-3, 1e-2],
                                  min_steps=12).is_idle_episode
  assert not data.find_idle_stretches(actions, tolerance=1e-3,
                                      min_steps=12).stretches


def test_absolute_actions_are_idle_when_they_stop_changing():
  targets = np.concatenate([np.linspace(0, 1, 10), np.ones(15)])[:, None]
  report = data.find_idle_stretches(targets, action_kind='absolute',
                                    min_steps=10)
  assert report.stretches == ((10, 25),)


def test_proprioception_alone_and_with_one_extra_observation():
  poses = np.concatenate([np.linspace(0, 0.9, 10), np.ones(12)])[:, None]
  report = data.find_idle_stretches(proprioception=poses, min_steps=10)
  # Step 9 moves onto the plateau; steps 10..21 do not move (the last
  # observation takes the flag of the one before).
  assert report.stretches == ((10, 22),)
  actions = np.ones((21, 1))  # One fewer action than observations.
  report = data.find_idle_stretches(actions, poses, combine='any',
                                    min_steps=10)
  assert report.stretches == ((10, 21),)


def test_combine_all_needs_both_signals_idle():
  actions = np.zeros((30, 2))      # Nothing commanded ...
  poses = np.cumsum(np.full((30, 2), 0.01), axis=0)  # ... but it drifts.
  assert not data.find_idle_stretches(actions, poses, min_steps=5).stretches
  assert data.find_idle_stretches(actions, poses, combine='any',
                                  min_steps=5).is_idle_episode


@pytest.mark.parametrize('kwargs, message', [
    ({}, 'neither'),
    ({'actions': np.zeros((5, 2)), 'min_steps': 0}, 'min_steps'),
    ({'actions': np.zeros((5, 2)), 'tolerance': [1, 2, 3]}, 'one number per'),
    ({'actions': np.zeros((5, 2)), 'action_kind': 'velocity'}, 'action_kind'),
    ({'actions': np.zeros((5, 2)), 'proprioception': np.zeros((9, 2))},
     '9 entries for 5 actions'),
    ({'actions': np.full((5, 2), np.nan)}, 'NaN'),
    ({'actions': np.zeros((5, 2)), 'idle_episode_fraction': 0}, 'fraction'),
])
def test_bad_idle_arguments_are_explained(kwargs, message):
  with pytest.raises(ValueError, match=message):
    data.find_idle_stretches(**kwargs)


# -- Label replay -------------------------------------------------------------


def test_expert_labels_replay_to_success():
  episode = _expert_episode(seed=3)
  result = data.replay_labels(PointGoalEnv(), episode['action'], seed=3)
  assert result.success and result.reason == ''
  assert result.terminated
  assert result.steps_replayed == len(episode['action'])
  assert result.first_success_step == len(episode['action']) - 1


def test_labels_from_another_initial_state_fail():
  episode = _expert_episode(seed=3)
  result = data.replay_labels(PointGoalEnv, episode['action'], seed=4)
  assert not result.success
  assert 'no success at the end' in result.reason


def test_a_factory_env_is_closed_after_the_replay():
  envs = []

  def make_env():
    envs.append(PointGoalEnv())
    return envs[-1]

  data.replay_labels(make_env, np.zeros((3, 2), np.float32), seed=0)
  assert len(envs) == 1 and envs[0].closed


def test_success_at_any_step():
  # Reaches the goal, then leaves it again: fails 'end', passes 'any'.
  episode = _expert_episode(seed=5)

  class NoTermination(PointGoalEnv):

    def step(self, action):
      observation, reward, _, truncated, info = super().step(action)
      return observation, reward, False, truncated, info

  away = np.tile(np.array([[_MAX_STEP, _MAX_STEP]], np.float32), (5, 1))
  actions = np.concatenate([episode['action'], away])
  assert not data.replay_labels(NoTermination(), actions, seed=5).success
  result = data.replay_labels(NoTermination(), actions, seed=5,
                              success_at='any')
  assert result.success and result.steps_replayed == len(actions)


def test_a_reset_that_does_not_match_the_recording_fails_without_stepping():
  episode = _expert_episode(seed=2)
  first_pose = episode['proprioception'][0]
  result = data.replay_labels(
      PointGoalEnv(), episode['action'], seed=7,
      initial_state_check=lambda obs: np.allclose(obs[:2], first_pose))
  assert not result.success and result.steps_replayed == 0
  assert 'reset state does not match' in result.reason


def test_an_env_without_a_success_flag_asks_for_success_fn():

  class Silent(PointGoalEnv):

    def step(self, action):
      observation, reward, terminated, truncated, _ = super().step(action)
      return observation, reward, terminated, truncated, {}

  actions = _expert_episode(seed=1)['action']
  with pytest.raises(ValueError, match='success_fn'):
    data.replay_labels(Silent(), actions, seed=1)
  result = data.replay_labels(
      Silent(), actions, seed=1,
      success_fn=lambda info, reward, terminated, truncated: terminated)
  assert result.success


def test_replay_rejects_what_is_not_an_env():
  with pytest.raises(TypeError, match='gymnasium-style env'):
    data.replay_labels(42, np.zeros((2, 2)))


# -- Over a dataset -----------------------------------------------------------


def test_check_episodes_counts_kept_idle_and_failed():
  good = _expert_episode(seed=0)
  paused = _expert_episode(seed=1, idle_steps_at=5, idle_steps=12)
  idle = {'action': np.zeros((30, 2), np.float32),
          'proprioception': np.zeros((30, 2), np.float32), 'reset_seed': 2}
  wrong_labels = dict(_expert_episode(seed=3), reset_seed=4)
  env_count = []

  def make_env():
    env_count.append(1)
    return PointGoalEnv()

  report = data.check_episodes(
      [good, paused, idle, wrong_labels], env_fn=make_env,
      idle_kwargs={'tolerance': 1e-6, 'min_steps': 10})
  assert report.counts == {
      'total': 4, 'kept': 2, 'idle_dropped': 1, 'replay_failed': 1,
      'idle_stretches': 1, 'idle_stretch_steps': 12}
  assert report.kept_indices == [0, 1]
  assert report.idle_indices == [2]
  assert report.replay_failed_indices == [3]
  assert report.episodes[2].replay is None  # Idle: not replayed.
  assert report.episodes[1].idle.stretches == ((5, 17),)
  assert report.replay_success_rate == pytest.approx(2 / 3)
  assert len(env_count) == 1  # One environment for the whole dataset.
  assert report.summary() == (
      'episode checks: 4 episodes, 2 kept, 1 idle (dropped), 1 failed label '
      'replay (dropped); 1 idle stretches (12 steps) in kept episodes')


def test_check_episodes_without_env_only_detects_idle():
  report = data.check_episodes(
      [_expert_episode(seed=0), {'action': np.zeros((20, 2))}],
      idle_kwargs={'min_steps': 5})
  assert report.counts['kept'] == 1 and report.counts['idle_dropped'] == 1
  assert report.replay_success_rate is None
  assert 'label replay not run' in report.summary()


def test_check_episodes_needs_the_reset_seed_to_replay():
  episode = _expert_episode(seed=0)
  del episode['reset_seed']
  with pytest.raises(ValueError, match="episode 0 has no 'reset_seed'"):
    data.check_episodes([episode], env_fn=PointGoalEnv)


def test_check_episodes_names_the_bad_episode():
  with pytest.raises(ValueError, match='episode 1: .*NaN'):
    data.check_episodes([{'action': np.zeros((3, 2))},
                         {'action': np.full((3, 2), np.nan)}])
  with pytest.raises(TypeError, match='episode 0 is a list'):
    data.check_episodes([[1, 2, 3]])


def test_default_success_fn_reads_gymnasium_and_plain_keys():
  assert episode_checks.default_success_fn({'is_success': 1.0}, 0, 0, 0)
  assert not episode_checks.default_success_fn({'success': False}, 0, 0, 0)
  assert episode_checks.default_success_fn({}, 1.0, True, False) is None
