"""Exploration wrappers: in bounds, greedy at 0, seeded, per-episode switch."""

import numpy as np
import pytest

from t2r.policies import exploration
from t2r.policies import policies
from policy_models import HIGH
from policy_models import LOW

GREEDY_ACTION = np.array([0.3, -0.2], np.float32)
OBS = np.zeros(3, np.float32)
WRAPPERS = ['ou', 'gaussian', 'epsilon', 'switch']


class FixedPolicy(policies.Policy):
  """Always the same greedy action; `global_step` is settable."""

  def __init__(self, action=GREEDY_ACTION, global_step=0):
    super().__init__()
    self._action = np.asarray(action, np.float32)
    self.step = global_step

  @property
  def global_step(self):
    return self.step

  def sample_action(self, obs, explore_prob):
    return self._action.copy(), {'greedy': True}


def _wrap(name, greedy, seed=0):
  """The exploration wrapper `name` around `greedy`, seeded with `seed`."""
  if name == 'ou':
    return exploration.OrnsteinUhlenbeckNoisePolicy(greedy, LOW, HIGH,
                                                    sigma=0.5, seed=seed)
  if name == 'gaussian':
    return exploration.ScheduledGaussianNoisePolicy(greedy, LOW, HIGH,
                                                    seed=seed)
  if name == 'epsilon':
    return exploration.EpsilonRandomPolicy(greedy, LOW, HIGH, seed=seed)
  return exploration.PerEpisodeSwitchPolicy(
      exploration.EpsilonRandomPolicy(greedy, LOW, HIGH, seed=seed), greedy,
      seed=seed)


def _episodes(policy, explore_prob=1.0, episodes=3, steps=4):
  """(episodes * steps, action size) actions, resetting between episodes."""
  actions = []
  for _ in range(episodes):
    policy.reset()
    actions.extend(policy.sample_action(OBS, explore_prob)[0]
                   for _ in range(steps))
  return np.array(actions)


@pytest.mark.parametrize('name', WRAPPERS)
def test_actions_stay_in_bounds(name):
  actions = _episodes(_wrap(name, FixedPolicy(action=[0.95, -0.95])))
  assert np.all(actions >= LOW) and np.all(actions <= HIGH)


@pytest.mark.parametrize('name', WRAPPERS)
def test_explore_prob_one_moves_away_from_the_greedy_action(name):
  actions = _episodes(_wrap(name, FixedPolicy()))
  assert np.abs(actions - GREEDY_ACTION).max() > 1e-3


@pytest.mark.parametrize('name', WRAPPERS)
def test_explore_prob_zero_gives_the_greedy_action(name):
  actions = _episodes(_wrap(name, FixedPolicy()), explore_prob=0.0)
  np.testing.assert_array_equal(actions,
                                np.tile(GREEDY_ACTION, (len(actions), 1)))


@pytest.mark.parametrize('name', WRAPPERS)
def test_the_same_seed_gives_the_same_actions(name):
  np.testing.assert_array_equal(
      _episodes(_wrap(name, FixedPolicy(), seed=4), explore_prob=0.5),
      _episodes(_wrap(name, FixedPolicy(), seed=4), explore_prob=0.5))


@pytest.mark.parametrize('name', WRAPPERS)
def test_other_seeds_give_other_actions(name):
  assert not np.array_equal(
      _episodes(_wrap(name, FixedPolicy(), seed=4)),
      _episodes(_wrap(name, FixedPolicy(), seed=5)))


@pytest.mark.parametrize('name', WRAPPERS)
@pytest.mark.parametrize('explore_prob', [-0.1, 1.5])
def test_explore_prob_outside_zero_to_one_is_rejected(name, explore_prob):
  policy = _wrap(name, FixedPolicy())
  policy.reset()
  with pytest.raises(ValueError, match=r'explore_prob must be in \[0, 1\]'):
    policy.sample_action(OBS, explore_prob)


@pytest.mark.parametrize('name', ['ou', 'gaussian', 'epsilon'])
def test_steps_report_whether_they_explored_and_keep_greedy_debug(name):
  policy = _wrap(name, FixedPolicy())
  _, debug = policy.sample_action(OBS, 1.0)
  assert debug == {'greedy': True, 'explored': True}


def test_per_episode_switch_decides_once_per_episode():
  policy = _wrap('switch', FixedPolicy(), seed=3)
  decisions = []
  for _ in range(20):
    policy.reset()
    episode = {policy.sample_action(OBS, 0.5)[1]['explore_episode']
               for _ in range(4)}
    assert len(episode) == 1
    decisions.append(episode.pop())
  assert any(decisions) and not all(decisions)


def test_ou_noise_restarts_at_zero_on_reset():

  def last_two_actions(reset_before_third_step):
    policy = exploration.OrnsteinUhlenbeckNoisePolicy(
        FixedPolicy(action=[0.0, 0.0]), LOW, HIGH, theta=0.0, sigma=0.01,
        seed=0)
    actions = [policy.sample_action(OBS, 1.0)[0] for _ in range(2)]
    if reset_before_third_step:
      policy.reset()
    return actions[1], policy.sample_action(OBS, 1.0)[0]

  # theta=0 makes the noise a random walk of the same draws in both runs:
  # after a reset the third step holds the third draw only.
  second, continued = last_two_actions(False)
  _, after_reset = last_two_actions(True)
  np.testing.assert_allclose(after_reset, continued - second, atol=1e-7)
  assert not np.allclose(after_reset, continued)


@pytest.mark.parametrize('step,stddev', [(0, 0.0), (10, 0.3)])
def test_gaussian_noise_stddev_follows_the_greedy_global_step(step, stddev):
  policy = exploration.ScheduledGaussianNoisePolicy(
      FixedPolicy(global_step=step), LOW, HIGH,
      stddev_schedule=lambda s: 0.03 * s, seed=0)
  deltas = np.array([policy.sample_action(OBS, 1.0)[0] - GREEDY_ACTION
                     for _ in range(200)])
  assert deltas.std() == pytest.approx(stddev, abs=0.05)


@pytest.mark.parametrize('step,expected', [(0, 0.5), (50, 0.3), (500, 0.1)])
def test_linear_decay_interpolates_then_stays_at_final(step, expected):
  assert exploration.linear_decay(step, 0.5, 0.1, 100) == pytest.approx(
      expected)


@pytest.mark.parametrize('name', WRAPPERS)
def test_wrappers_report_the_greedy_policy_weights(regression_predictor,
                                                   name):
  policy = _wrap(name, policies.RegressionPolicy(regression_predictor))
  assert policy.global_step == 7
  assert not policy.restore()  # No newer export.


@pytest.mark.parametrize('name', WRAPPERS)
def test_a_batch_gets_one_action_per_observation_in_bounds(name):
  actions, debugs = _wrap(name, FixedPolicy()).sample_actions([OBS] * 4, 1.0)
  assert actions.shape == (4, 2) and len(debugs) == 4
  assert np.all(actions >= LOW) and np.all(actions <= HIGH)


def test_per_episode_switch_decides_once_per_slot():
  policy = exploration.PerEpisodeSwitchPolicy(
      exploration.EpsilonRandomPolicy(FixedPolicy(), LOW, HIGH, seed=0),
      FixedPolicy(), seed=3)
  first = [d['explore_episode']
           for d in policy.sample_actions([OBS] * 8, 0.5)[1]]
  for _ in range(3):
    again = [d['explore_episode']
             for d in policy.sample_actions([OBS] * 8, 0.5)[1]]
    assert again == first
  assert 0 < sum(first) < 8


def test_ou_noise_is_kept_per_slot():
  policy = exploration.OrnsteinUhlenbeckNoisePolicy(
      FixedPolicy(), LOW, HIGH, sigma=0.05, seed=0)
  policy.sample_actions([OBS] * 2, 1.0)
  noise = {slot: value.copy() for slot, value in policy._noise.items()}  # pylint: disable=protected-access
  policy.sample_actions([OBS], 1.0, slots=[1])
  np.testing.assert_array_equal(policy._noise[0], noise[0])  # pylint: disable=protected-access
  assert not np.array_equal(policy._noise[1], noise[1])  # pylint: disable=protected-access
