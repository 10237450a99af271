"""TargetNetworkUpdate: copy at step 0, hard copies every K steps, Polyak."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from t2r import models
from t2r.models import target_network


def _variables(*values):
  return [tf.Variable(np.asarray(v, np.float32)) for v in values]


def _values(variables):
  return [v.numpy().copy() for v in variables]


def _assert_equal(variables, values):
  for variable, value in zip(variables, values):
    np.testing.assert_array_equal(variable.numpy(), value)


def test_step_zero_copies_the_online_weights_exactly_whatever_tau():
  online = _variables([0.1, 0.7], 1 / 3)
  target = _variables([5.0, -5.0], 9.0)
  models.TargetNetworkUpdate(period=10, tau=0.01)(online, target, 0)
  _assert_equal(target, _values(online))


@pytest.mark.parametrize('period', [1, 3])
def test_hard_copy_happens_exactly_at_multiples_of_the_period(period):
  online = _variables([0.0, 0.0], 0.0)
  target = _variables([9.0, 9.0], 9.0)
  update = models.TargetNetworkUpdate(period=period, tau=1.0)
  for step in range(10):
    before = _values(target)
    update(online, target, step)
    if step % period == 0:
      _assert_equal(target, _values(online))
    else:
      _assert_equal(target, before)
    for variable in online:  # The optimizer step that follows.
      variable.assign_add(tf.ones_like(variable) * 0.37)


def test_polyak_moves_the_target_by_tau_towards_the_online_weights():
  online = _variables([1.0, 2.0], 3.0)
  target = _variables([0.0, 0.0], 0.0)
  update = models.TargetNetworkUpdate(period=1, tau=0.25)
  update(online, target, 0)
  for variable in online:
    variable.assign(variable * 0.0 + 10.0)
  previous = _values(target)
  update(online, target, 1)
  for variable, value in zip(target, previous):
    np.testing.assert_allclose(variable.numpy(), 0.75 * value + 0.25 * 10.0,
                               rtol=1e-6)


def test_polyak_with_a_period_mixes_only_when_due():
  online = _variables([4.0])
  target = _variables([0.0])
  update = models.TargetNetworkUpdate(period=2, tau=0.5)
  update(online, target, 0)   # Copy: 4.
  online[0].assign([8.0])
  update(online, target, 1)   # Not due.
  _assert_equal(target, [[4.0]])
  update(online, target, 2)   # 0.5 * 4 + 0.5 * 8.
  _assert_equal(target, [[6.0]])


def test_weight_is_one_at_zero_tau_when_due_else_zero():
  update = models.TargetNetworkUpdate(period=4, tau=0.1)
  weights = [float(update.weight(step)) for step in range(9)]
  np.testing.assert_allclose(weights, [1, 0, 0, 0, 0.1, 0, 0, 0, 0.1],
                             rtol=1e-6)


def test_update_inside_a_traced_function_reads_the_step_variable():
  online = _variables([1.0])
  target = _variables([0.0])
  step = tf.Variable(5, dtype=tf.int64)
  update = models.TargetNetworkUpdate(period=5, tau=1.0)
  traced = tf.function(lambda: update(online, target, step))
  traced()
  _assert_equal(target, [[1.0]])
  online[0].assign([2.0])
  step.assign(6)
  traced()
  _assert_equal(target, [[1.0]])


@pytest.mark.parametrize('kwargs,message', [
    ({'period': 0}, r'period 0; expected an int >= 1'),
    ({'period': -2}, r'period -2; expected an int >= 1'),
    ({'period': 2.5}, r'period 2.5; expected an int >= 1'),
    ({'period': True}, r'period True; expected an int >= 1'),
    ({'tau': 0.0}, r'tau 0.0; expected a float in \(0, 1\]'),
    ({'tau': 1.5}, r'tau 1.5; expected a float in \(0, 1\]'),
    ({'tau': -0.1}, r'tau -0.1; expected a float in \(0, 1\]'),
    ({'tau': float('nan')}, r'tau nan; expected a float in \(0, 1\]'),
])
def test_invalid_period_or_tau_is_a_clear_value_error(kwargs, message):
  with pytest.raises(ValueError, match=message):
    models.TargetNetworkUpdate(**kwargs)


def test_networks_of_different_sizes_are_rejected_with_the_names():
  with pytest.raises(ValueError, match='target network has 1 variables but '
                     'the online network 2'):
    target_network.update_target_variables(
        _variables([1.0], [2.0]), _variables([0.0]), 1.0)
  with pytest.raises(ValueError, match=r'has shape \(3,\) but its online '
                     r'variable .* has shape \(2,\)'):
    target_network.update_target_variables(
        _variables([1.0, 2.0]), _variables([0.0, 0.0, 0.0]), 1.0)


def test_update_under_a_strategy_scope_and_in_its_replica_function():
  strategy = tf.distribute.MirroredStrategy(['/cpu:0'])
  with strategy.scope():
    online = _variables([1.0, 2.0])
    target = _variables([0.0, 0.0])
  update = models.TargetNetworkUpdate(period=1, tau=1.0)
  with strategy.scope():
    update(online, target, 0)  # Cross-replica context.
  _assert_equal(target, [[1.0, 2.0]])
  online[0].assign([3.0, 4.0])
  tf.function(lambda: strategy.run(lambda: update(online, target, 1)))()
  _assert_equal(target, [[3.0, 4.0]])


class _BatchNormNetwork(tf_keras.layers.Layer):
  """Dense -> batch norm -> Dense, as a layer (like a critic's Q-network)."""

  def __init__(self, **kwargs):
    super().__init__(**kwargs)
    self.hidden = tf_keras.layers.Dense(3)
    self.norm = tf_keras.layers.BatchNormalization()
    self.out = tf_keras.layers.Dense(1)

  def call(self, inputs):
    return self.out(self.norm(self.hidden(inputs)))


def _built_batch_norm_network(trainable: bool):
  network = _BatchNormNetwork()
  network(tf.zeros((1, 2)))
  network.trainable = trainable
  return network


def test_network_variables_pair_a_frozen_batch_norm_copy_with_its_online():
  online = _built_batch_norm_network(trainable=True)
  target = _built_batch_norm_network(trainable=False)
  # tf-keras lists a frozen network's moving statistics among its kernels.
  assert ([v.shape for v in online.weights] !=
          [v.shape for v in target.weights])
  pairs = zip(target_network.network_variables(online),
              target_network.network_variables(target))
  for online_variable, target_variable in pairs:
    assert online_variable.shape == target_variable.shape
    assert (online_variable.name.split('/')[-1] ==
            target_variable.name.split('/')[-1])


def test_a_frozen_batch_norm_copy_updates_from_its_online_network():
  online = _built_batch_norm_network(trainable=True)
  target = _built_batch_norm_network(trainable=False)
  online.norm.moving_mean.assign([1.0, 2.0, 3.0])
  target_network.update_target_variables(
      target_network.network_variables(online),
      target_network.network_variables(target), 1.0)
  np.testing.assert_array_equal(target.norm.moving_mean.numpy(),
                                [1.0, 2.0, 3.0])
  np.testing.assert_array_equal(target.hidden.kernel.numpy(),
                                online.hidden.kernel.numpy())
