"""Policies choose in-bounds actions; CEM finds the best action of a critic."""

import numpy as np
import pytest
import tensorflow as tf

from t2r.policies import policies
from t2r.predictors.exported_savedmodel_predictor import ExportedSavedModelPredictor

TARGET = np.array([0.4, -0.3], np.float32)
TWO_ACTION_OBS = {'target': TARGET, 'gripper': np.array([0.5], np.float32)}


@pytest.mark.parametrize('critic,signature', [
    ('tiled', None),              # Python loop, the critic tiles the state
    ('tiled', 'cem_action'),      # in-graph CEM, full network per iteration
    ('split', 'cem_action'),      # in-graph CEM, state tower once
    ('top_level', None),          # action at the feature 'action'
    ('top_level', 'cem_action'),
])
def test_cem_policy_with_default_bounds_finds_the_maximum_of_the_critic(
    critic_predictors, critic, signature):
  policy = policies.CEMPolicy(
      critic_predictors[critic], exported_cem_signature=signature, seed=0)
  action, debug = policy.sample_action({'target': TARGET}, 0.0)
  assert action.shape == (2,)
  np.testing.assert_allclose(action, TARGET, atol=0.1)
  assert debug['q'] == pytest.approx(-np.sum((action - TARGET)**2), abs=1e-5)


@pytest.mark.parametrize('signature', [None, 'cem_action'])
def test_cem_policy_optimizes_the_action_named_by_action_path(
    critic_predictors, signature):
  policy = policies.CEMPolicy(
      critic_predictors['two_actions'], tile_state=True,
      exported_cem_signature=signature, seed=0, action_path='action/move')
  action, debug = policy.sample_action(TWO_ACTION_OBS, 0.0)
  np.testing.assert_allclose(action, TARGET, atol=0.1)
  assert debug['q'] == pytest.approx(
      -np.sum((action - TARGET)**2) - 0.25, abs=1e-5)


@pytest.mark.parametrize('signature', [None, 'cem_action'])
def test_default_bounds_are_minus_one_to_one(critic_predictors, signature):
  policy = policies.CEMPolicy(
      critic_predictors['tiled'], exported_cem_signature=signature, seed=1)
  action = policy.SelectAction({'state/target': np.array([5.0, -5.0],
                                                         np.float32)})
  np.testing.assert_allclose(action, [1.0, -1.0], atol=0.05)


def test_cem_policy_respects_explicit_bounds(critic_predictors):
  policy = policies.CEMPolicy(critic_predictors['tiled'], [-0.2, 0.0],
                              [0.2, 0.5], seed=1)
  action = policy.SelectAction({'target': TARGET})
  np.testing.assert_allclose(action, [0.2, 0.0], atol=0.05)


def test_cem_policy_reads_the_action_size_when_it_first_acts(
    critic_predictors):
  predictor = ExportedSavedModelPredictor(
      critic_predictors['tiled'].model_path, timeout=0)
  policy = policies.CEMPolicy(predictor, seed=0)  # Nothing loaded yet.
  assert predictor.restore()
  np.testing.assert_allclose(policy.SelectAction({'target': TARGET}), TARGET,
                             atol=0.1)


@pytest.mark.parametrize('critic', ['tiled', 'split'])
def test_in_graph_cem_policy_is_deterministic_given_a_seed(critic_predictors,
                                                           critic):

  def first_action(seed):
    policy = policies.CEMPolicy(
        critic_predictors[critic], exported_cem_signature='cem_action',
        seed=seed)
    return policy.sample_action({'target': TARGET}, 0.0)[0]

  np.testing.assert_array_equal(first_action(0), first_action(0))
  assert not np.array_equal(first_action(0), first_action(1))


def test_in_graph_cem_policy_without_seed_is_random(critic_predictors):
  actions = [
      policies.CEMPolicy(critic_predictors['tiled'],
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
  policy = policies.CEMPolicy(critic_predictors['tiled'])
  assert policy.global_step == 3
  assert not policy.restore()  # No newer export.


def test_cem_policy_rejects_bounds_of_another_size(critic_predictors):
  policy = policies.CEMPolicy(critic_predictors['tiled'], [-1], [1])
  with pytest.raises(ValueError,
                     match=r"'action/move' has shape \(2,\).*bounds have 1 "
                     'entries'):
    policy.sample_action({'target': TARGET}, 0.0)


def test_cem_policy_needs_both_bounds_or_neither(critic_predictors):
  with pytest.raises(ValueError, match='pass both .* or neither'):
    policies.CEMPolicy(critic_predictors['tiled'], action_low=[-1, -1])


def test_two_action_features_without_action_path_fail_clearly(
    critic_predictors):
  policy = policies.CEMPolicy(critic_predictors['two_actions'],
                              tile_state=True)
  with pytest.raises(ValueError,
                     match=r"CEMPolicy found 2 action features \['action/move"
                     r"', 'action/gripper'\].*action_path='action/move'"):
    policy.sample_action(TWO_ACTION_OBS, 0.0)


def test_critic_without_action_fails_clearly(regression_predictor):
  policy = policies.CEMPolicy(regression_predictor)
  with pytest.raises(ValueError,
                     match=r"no action feature among the critic features "
                     r"\['state'\].*action_path="):
    policy.sample_action(np.zeros(3, np.float32), 0.0)


def test_unknown_action_path_fails_clearly(critic_predictors):
  policy = policies.CEMPolicy(critic_predictors['tiled'],
                              action_path='action/grip')
  with pytest.raises(ValueError,
                     match=r"action_path='action/grip' but the critic has no "
                     r"required feature .*'action/move'"):
    policy.sample_action({'target': TARGET}, 0.0)


def test_cem_policy_acts_on_one_observation_at_a_time(critic_predictors):
  policy = policies.CEMPolicy(critic_predictors['tiled'])
  with pytest.raises(ValueError,
                     match=r"'state/target' has shape \(3, 2\).*one "
                     'observation per call'):
    policy.sample_action({'target': np.stack([TARGET] * 3)}, 0.0)


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


def test_regression_policy_answers_a_batch_with_one_predict_call(
    regression_predictor):
  poses = [np.array([0.1 * i, 0.2, 0.3], np.float32) for i in range(3)]
  policy = policies.RegressionPolicy(regression_predictor)
  actions, debugs = policy.sample_actions(poses, 0.0)
  expected = regression_predictor.predict({'state': np.stack(poses)})[
      'inference_output']
  np.testing.assert_allclose(actions, expected, rtol=1e-6)
  assert len(debugs) == 3


@pytest.mark.parametrize('signature', [None, 'cem_action'])
def test_cem_policy_answers_each_observation_of_a_batch(critic_predictors,
                                                        signature):
  targets = [np.array([0.5, -0.5], np.float32),
             np.array([-0.4, 0.3], np.float32)]
  policy = policies.CEMPolicy(critic_predictors['tiled'],
                              exported_cem_signature=signature, seed=0)
  actions, debugs = policy.sample_actions(
      [{'target': target} for target in targets], 0.0)
  np.testing.assert_allclose(actions, np.stack(targets), atol=0.15)
  assert all('q' in debug for debug in debugs)


def test_sample_actions_needs_one_distinct_slot_per_observation(
    regression_predictor):
  policy = policies.RegressionPolicy(regression_predictor)
  with pytest.raises(ValueError, match='one distinct slot per observation'):
    policy.sample_actions([np.zeros(3, np.float32)] * 2, 0.0, slots=[0, 0])
