"""Policies choose in-bounds actions; CEM finds the best action of a critic."""

import numpy as np
import pytest
import tensorflow as tf

from t2r.policies import exploration
from t2r.policies import policies
from policy_models import HIGH
from policy_models import LOW

TARGET = np.array([0.4, -0.3], np.float32)


@pytest.mark.parametrize('critic,signature', [
    ('tiled', None),           # Python loop, the critic tiles the state
    ('tiled', 'cem_action'),   # in-graph CEM, full network per iteration
    ('split', 'cem_action'),   # in-graph CEM, state tower once
])
def test_cem_policy_finds_the_maximum_of_the_critic(critic_predictors, critic,
                                                    signature):
  policy = policies.CEMPolicy(
      critic_predictors[critic], LOW, HIGH, exported_cem_signature=signature,
      seed=0)
  action, debug = policy.sample_action({'target': TARGET}, 0.0)
  assert action.shape == (2,)
  np.testing.assert_allclose(action, TARGET, atol=0.1)
  assert debug['q'] == pytest.approx(-np.sum((action - TARGET)**2), abs=1e-5)


@pytest.mark.parametrize('signature', [None, 'cem_action'])
def test_cem_policy_respects_the_action_bounds(critic_predictors, signature):
  policy = policies.CEMPolicy(
      critic_predictors['tiled'], LOW, HIGH, exported_cem_signature=signature,
      seed=1)
  action = policy.SelectAction({'state/target': np.array([5.0, -5.0],
                                                         np.float32)})
  assert np.all(action >= LOW) and np.all(action <= HIGH)
  np.testing.assert_allclose(action, [1.0, -1.0], atol=0.05)


@pytest.mark.parametrize('critic', ['tiled', 'split'])
def test_in_graph_cem_policy_is_deterministic_given_a_seed(critic_predictors,
                                                           critic):

  def first_action(seed):
    policy = policies.CEMPolicy(
        critic_predictors[critic], LOW, HIGH,
        exported_cem_signature='cem_action', seed=seed)
    return policy.sample_action({'target': TARGET}, 0.0)[0]

  np.testing.assert_array_equal(first_action(0), first_action(0))
  assert not np.array_equal(first_action(0), first_action(1))


def test_in_graph_cem_policy_without_seed_is_random(critic_predictors):
  actions = [
      policies.CEMPolicy(critic_predictors['tiled'], LOW, HIGH,
                         exported_cem_signature='cem_action').sample_action(
                             {'target': TARGET}, 0.0)[0] for _ in range(2)
  ]
  assert not np.array_equal(actions[0], actions[1])


def test_cem_signature_samples_with_one_seed_per_example(critic_predictors):
  predictor = critic_predictors['split']
  outputs = predictor.predict(
      {'state/target': np.stack([TARGET] * 3),
       'cem_seed': np.array([7, 7, 8], np.int64)}, signature_name='cem_action')
  np.testing.assert_array_equal(outputs['action'][0], outputs['action'][1])
  assert not np.array_equal(outputs['action'][0], outputs['action'][2])


def test_cem_signature_needs_a_seed_per_example(critic_predictors):
  with pytest.raises(tf.errors.InvalidArgumentError,
                     match='one cem_seed per state example'):
    critic_predictors['tiled'].predict(
        {'state/target': np.stack([TARGET] * 2),
         'cem_seed': np.array([7], np.int64)}, signature_name='cem_action')


def test_cem_policy_reports_the_critic_global_step(critic_predictors):
  policy = policies.CEMPolicy(critic_predictors['tiled'], LOW, HIGH)
  assert policy.global_step == 3
  assert not policy.restore()  # No newer export.


def test_cem_policy_rejects_bounds_of_another_size(critic_predictors):
  policy = policies.CEMPolicy(critic_predictors['tiled'], [-1], [1])
  with pytest.raises(ValueError, match='bounds have 1 entries'):
    policy.sample_action({'target': TARGET}, 0.0)


def test_regression_policy_returns_the_predicted_action(regression_predictor):
  pose = np.array([0.1, 0.2, 0.3], np.float32)
  policy = policies.RegressionPolicy(regression_predictor)
  action, _ = policy.sample_action(pose, 0.0)
  np.testing.assert_array_equal(
      action, regression_predictor.predict({'state': pose})[
          'inference_output'][0])
  assert policy.global_step == 7


def test_regression_policy_clips_to_bounds(regression_predictor):
  policy = policies.RegressionPolicy(regression_predictor,
                                     action_low=[-0.01, -0.01],
                                     action_high=[0.01, 0.01])
  action = policy.SelectAction(np.array([5.0, -5.0, 5.0], np.float32))
  assert np.all(np.abs(action) <= 0.01)


def test_missing_observation_key_names_the_feature(regression_predictor):
  policy = policies.RegressionPolicy(regression_predictor)
  with pytest.raises(ValueError, match="no value for feature 'state'"):
    policy.sample_action({'other': np.zeros(3, np.float32)}, 0.0)


def _wrappers(greedy):
  return {
      'ou': exploration.OrnsteinUhlenbeckNoisePolicy(greedy, LOW, HIGH,
                                                     sigma=2.0, seed=0),
      'gaussian': exploration.ScheduledGaussianNoisePolicy(
          greedy, LOW, HIGH, seed=0),
      'epsilon': exploration.EpsilonRandomPolicy(greedy, LOW, HIGH, seed=0),
      'switch': exploration.PerEpisodeSwitchPolicy(
          exploration.EpsilonRandomPolicy(greedy, LOW, HIGH, seed=0), greedy,
          seed=0),
  }


@pytest.mark.parametrize('name', ['ou', 'gaussian', 'epsilon', 'switch'])
def test_exploration_keeps_actions_in_bounds_and_explores(
    regression_predictor, name):
  greedy = policies.RegressionPolicy(regression_predictor)
  policy = _wrappers(greedy)[name]
  obs = np.array([0.01, 0.02, 0.03], np.float32)
  greedy_action = np.clip(greedy.SelectAction(obs), LOW, HIGH)
  actions = []
  for _ in range(10):
    policy.reset()
    actions.append(policy.sample_action(obs, 1.0)[0])
  actions = np.array(actions)
  assert np.all(actions >= LOW) and np.all(actions <= HIGH)
  assert np.abs(actions - greedy_action).max() > 1e-3


@pytest.mark.parametrize('name', ['ou', 'gaussian', 'epsilon', 'switch'])
def test_no_exploration_gives_the_greedy_action(regression_predictor, name):
  greedy = policies.RegressionPolicy(regression_predictor,
                                     action_low=LOW, action_high=HIGH)
  policy = _wrappers(greedy)[name]
  obs = np.array([0.01, 0.02, 0.03], np.float32)
  policy.reset()
  np.testing.assert_allclose(policy.sample_action(obs, 0.0)[0],
                             greedy.SelectAction(obs), rtol=1e-6)


def test_per_episode_switch_decides_once_per_episode(regression_predictor):
  greedy = policies.RegressionPolicy(regression_predictor)
  policy = exploration.PerEpisodeSwitchPolicy(
      exploration.EpsilonRandomPolicy(greedy, LOW, HIGH, seed=0), greedy,
      seed=3)
  obs = np.zeros(3, np.float32)
  decisions = []
  for _ in range(20):
    policy.reset()
    episode = {policy.sample_action(obs, 0.5)[1]['explore_episode']
               for _ in range(4)}
    assert len(episode) == 1
    decisions.append(episode.pop())
  assert any(decisions) and not all(decisions)


def test_gaussian_noise_follows_the_schedule():
  assert exploration.linear_decay(0, 0.5, 0.1, 100) == pytest.approx(0.5)
  assert exploration.linear_decay(50, 0.5, 0.1, 100) == pytest.approx(0.3)
  assert exploration.linear_decay(500, 0.5, 0.1, 100) == pytest.approx(0.1)
