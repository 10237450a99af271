"""CEMExportGenerator: finds the critic action, its bounds and repeat count.

Exported SavedModels are exercised through `CEMPolicy` in test_policies; here
the `cem_action` function is built and run directly, without writing one.
"""

import numpy as np
import pytest
import tensorflow as tf

from t2r import specs
from t2r.policies import cem_export_generator
from policy_models import LinearPolicyModel
from policy_models import NUM_SAMPLES
from policy_models import QuadraticCritic
from policy_models import TopLevelActionCritic
from policy_models import TwoActionCritic

TARGET = np.array([0.4, -0.3], np.float32)


class UnsizedActionCritic(QuadraticCritic):
  """The quadratic critic with an action of unknown size (None,)."""

  def get_action_specification(self):
    return specs.TensorSpecStruct(
        move=specs.ExtendedTensorSpec((None,), tf.float32, name='move'))


def _cem_fn(model, **kwargs):
  generator = cem_export_generator.CEMExportGenerator(
      num_samples=NUM_SAMPLES, export_tf_example_signature=False, **kwargs)
  generator.set_specification_from_model(model)
  return generator.create_cem_fn(model)


def _act(cem_fn, state):
  """The action `cem_fn` chooses for one state ({path: (1, ...) value})."""
  inputs = {path: tf.constant(value) for path, value in state.items()}
  inputs['cem_seed'] = tf.constant([0], tf.int64)
  return cem_fn(inputs)['action'].numpy()[0]


@pytest.mark.parametrize('critic_cls', [QuadraticCritic, TopLevelActionCritic],
                         ids=['action/move', 'action'])
def test_default_bounds_are_minus_one_to_one_per_action_dimension(critic_cls):
  cem_fn = _cem_fn(critic_cls(action_batch_size=NUM_SAMPLES))
  action = _act(cem_fn, {'state/target': [[5.0, -0.3]]})
  np.testing.assert_allclose(action, [1.0, -0.3], atol=0.05)


def test_explicit_bounds_are_respected():
  cem_fn = _cem_fn(QuadraticCritic(action_batch_size=NUM_SAMPLES),
                   action_low=[-0.2, 0.0], action_high=[0.2, 0.5])
  action = _act(cem_fn, {'state/target': [TARGET]})
  np.testing.assert_allclose(action, [0.2, 0.0], atol=0.05)


def test_action_path_names_the_action_and_the_rest_is_state():
  cem_fn = _cem_fn(TwoActionCritic(), action_path='action/move')
  assert sorted(cem_fn.structured_input_signature[0][0]) == [
      'action/gripper', 'cem_seed', 'state/target']
  action = _act(cem_fn, {'state/target': [TARGET],
                        'action/gripper': [[0.5]]})
  np.testing.assert_allclose(action, TARGET, atol=0.1)


@pytest.mark.parametrize('make_model,kwargs,message', [
    (TwoActionCritic, {},
     r"CEMExportGenerator found 2 action features \['action/move', "
     r"'action/gripper'\].*action_path='action/move'"),
    (LinearPolicyModel, {},
     r"CEMExportGenerator found no action feature among the critic features "
     r"\['state'\].*action_path="),
    (QuadraticCritic, {'action_path': 'action/grip'},
     r"action_path='action/grip' but the critic has no required feature"),
    (UnsizedActionCritic, {},
     r"cannot default its action bounds.*'action/move' has shape \(None,\)"
     r".*Pass action_low and action_high"),
    (QuadraticCritic, {'action_low': [-1], 'action_high': [1]},
     r"'action/move' has shape \(2,\) but the CEMExportGenerator action "
     'bounds have 1 entries'),
    (lambda: QuadraticCritic(action_batch_size=8), {},
     r'repeats each state action_batch_size=8 times but CEMExportGenerator '
     'scores 64'),
], ids=['two_actions', 'no_action', 'unknown_action_path', 'unsized_action',
        'bounds_size', 'action_batch_size'])
def test_unsuitable_critic_fails_clearly(make_model, kwargs, message):
  model = make_model()
  with pytest.raises(ValueError, match=message):
    _cem_fn(model, **kwargs)


def test_invalid_bounds_fail_at_construction():
  with pytest.raises(ValueError, match='action_low < action_high'):
    cem_export_generator.CEMExportGenerator(action_low=[1.0],
                                            action_high=[0.0])
