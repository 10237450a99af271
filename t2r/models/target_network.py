"""`TargetNetworkUpdate`: how a target network lags its online network.

A TD critic bootstraps from a lagged copy of its own weights, the target
network. One rule covers both common schedules: before the training step
taken at global step n (the number of optimizer steps already taken),

  n == 0:               target <- online              (they start equal)
  n > 0, n % period == 0:  target <- (1 - tau) * target + tau * online
  otherwise:            target unchanged

so `tau=1` is a hard copy every `period` steps (DQN) and `period=1` with a
small `tau` is Polyak averaging every step (QT-Opt, DDPG, SAC). A copy with
`tau=1` is exact, and a step without an update leaves the target bit for bit.

The update runs inside the traced train step. Under a tf.distribute strategy
it assigns every replica's copy of each target variable from the same
replica's online variable (`StrategyExtended.update`, as tf-keras optimizers
apply gradients), so the copies stay equal; the target variables are the
model's own (tracked) variables, so checkpoints hold them and a restored
model resumes with the same target.

Example:
  >>> update = TargetNetworkUpdate(period=1000, tau=1.0)   # hard copy
  >>> update(online.weights, target.weights, optimizer.iterations)

  gin:
    TDCriticModel.target_update_period = 1
    TDCriticModel.target_update_tau = 0.005                # Polyak
"""

import math
from typing import Any, List, Sequence

import gin
import tensorflow as tf

from t2r import compat


def check_target_update(period: Any, tau: Any, who: str = 'TargetNetworkUpdate'):
  """Raises ValueError unless `period` is an int >= 1 and tau is in (0, 1].

  Args:
    period: Steps between updates.
    tau: The weight of the online network in an update.
    who: The caller, named in the error.

  Raises:
    ValueError: If either value is invalid.
  """
  if isinstance(period, bool) or not isinstance(period, int) or period < 1:
    raise ValueError(
        f'{who} got target update period {period!r}; expected an int >= 1 '
        '(the optimizer steps between target network updates: 1 updates '
        'every step, e.g. 1000 for a hard copy every 1000 steps).')
  if (isinstance(tau, bool) or not isinstance(tau, (int, float)) or
      not math.isfinite(tau) or not 0.0 < tau <= 1.0):
    raise ValueError(
        f'{who} got target update tau {tau!r}; expected a float in (0, 1]: '
        'the weight of the online network in each update (1.0 copies it, '
        'e.g. 0.005 for Polyak averaging).')


def _is_due_weight(step: tf.Tensor, period: int, tau: float) -> tf.Tensor:
  """The online network's weight in the update at `step`: 1, tau or 0."""
  step = tf.cast(step, tf.int64)
  due = tf.equal(step % period, 0)
  return tf.where(tf.equal(step, 0), 1.0,
                  tf.where(due, tf.constant(tau, tf.float32), 0.0))


def _mix(target: tf.Variable, online: Any, weight: tf.Tensor) -> tf.Operation:
  """Assigns (1 - w) * target + w * online, exactly online at w = 1."""
  online = tf.convert_to_tensor(online)
  weight = tf.cast(weight, target.dtype)
  mixed = (1 - weight) * target + weight * online
  return target.assign(
      tf.where(tf.equal(weight, 1), online,
               tf.where(tf.equal(weight, 0), target.read_value(), mixed)))


def _in_cross_replica_context(update_fn):
  """Calls update_fn(strategy) where distributed variables can be updated."""
  if (tf.distribute.in_cross_replica_context() or
      not compat.strategy_uses_merge_call()):
    # Cross-replica code, or a strategy whose replicas never merge
    # (MirroredStrategy under XLA), which updates in replica context.
    return update_fn(tf.distribute.get_strategy())
  return tf.distribute.get_replica_context().merge_call(update_fn)


def update_target_variables(online_variables: Sequence[tf.Variable],
                            target_variables: Sequence[tf.Variable],
                            weight: Any) -> None:
  """Sets each target to (1 - weight) * target + weight * online.

  `weight` 1 copies exactly and 0 leaves the targets as they are. Works
  eagerly and traced, without a strategy, in a strategy's scope and inside
  its replica function.

  Example:
    >>> update_target_variables(online.weights, target.weights, 1.0)  # copy

  Args:
    online_variables: The online network's variables.
    target_variables: The target network's, in the same order and shapes.
    weight: A float scalar (tensor) in [0, 1].

  Raises:
    ValueError: If the two lists differ in length or in a shape.
  """
  online_variables = list(online_variables)
  target_variables = list(target_variables)
  if len(online_variables) != len(target_variables):
    raise ValueError(
        f'The target network has {len(target_variables)} variables but the '
        f'online network {len(online_variables)}: '
        f'{[v.name for v in target_variables]} vs '
        f'{[v.name for v in online_variables]}. Build both networks with the '
        'same code (create_q_network) and call both before updating.')
  for online, target in zip(online_variables, target_variables):
    if not target.shape.is_compatible_with(online.shape):
      raise ValueError(
          f'Target variable {target.name!r} has shape {target.shape} but its '
          f'online variable {online.name!r} has shape {online.shape}. The two '
          'networks must have the same architecture.')

  def mix(target, online):
    return _mix(target, online, weight)

  def update(strategy):
    for online, target in zip(online_variables, target_variables):
      strategy.extended.update(target, mix, args=(online,), group=False)

  _in_cross_replica_context(update)


def network_variables(network: Any) -> List[tf.Variable]:
  """A network's variables in an order that does not depend on `trainable`.

  tf-keras lists a layer's `weights` as trainable ones first, then the rest;
  a frozen copy (`trainable = False`, as a target network is) has no
  trainable weights, so with batch norm (moving statistics) the two lists
  interleave differently. Ordering by each variable's own `trainable` flag
  (set at creation, unchanged by freezing the layer) gives both networks
  the same order.

  Example:
    >>> update_target_variables(network_variables(q_network),
    ...                         network_variables(target_q_network), 1.0)

  Args:
    network: A built tf-keras layer or model.

  Returns:
    Its variables: those created trainable, then the others, each group in
    `weights` order.
  """
  weights = list(network.weights)
  return ([v for v in weights if v.trainable] +
          [v for v in weights if not v.trainable])


@gin.configurable
class TargetNetworkUpdate:
  """Updates a target network from its online network every `period` steps.

  See the module docstring for the rule; `tau=1` is a hard copy, `period=1`
  with `tau < 1` Polyak averaging. The first update (step 0) always copies.

  Example:
    >>> update = TargetNetworkUpdate(period=1, tau=0.005)
    >>> update(q_network.weights, target_q_network.weights,
    ...        optimizer.iterations)    # before each train step

  Args:
    period: Optimizer steps between updates, an int >= 1.
    tau: The weight of the online weights in each update, in (0, 1].

  Raises:
    ValueError: If `period` < 1 or not an int, or `tau` is outside (0, 1].
  """

  def __init__(self, period: int = 1, tau: float = 0.005):
    check_target_update(period, tau)
    self._period = period
    self._tau = float(tau)

  @property
  def period(self) -> int:
    return self._period

  @property
  def tau(self) -> float:
    return self._tau

  def weight(self, step: Any) -> tf.Tensor:
    """The online weight of the update at `step`: 1 at 0, tau when due, else 0.

    Args:
      step: The global step (optimizer steps taken), an int or int tensor.

    Returns:
      A float32 scalar tensor.
    """
    return _is_due_weight(step, self._period, self._tau)

  def __call__(self, online_variables: Sequence[tf.Variable],
               target_variables: Sequence[tf.Variable], step: Any) -> None:
    """Applies the update that is due at `step` (possibly none).

    Args:
      online_variables: The online network's variables.
      target_variables: The target network's, in the same order.
      step: The global step: an int, an int tensor or the optimizer's
        `iterations` variable (read where the update runs).

    Raises:
      ValueError: As `update_target_variables`.
    """
    update_target_variables(online_variables, target_variables,
                            self.weight(step))

  def __repr__(self) -> str:
    return f'TargetNetworkUpdate(period={self._period}, tau={self._tau})'
