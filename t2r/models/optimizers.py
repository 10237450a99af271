"""Gin-configurable optimizer factories and moving-average weight swapping.

A model's `create_optimizer_fn` is one of these factories (Adam with learning
rate 1e-4 by default). They only choose and configure tf-keras optimizers;
the update rules, learning-rate schedules and the exponential moving average
(EMA) of the weights are tf-keras' own.

A learning-rate schedule is passed as `learning_rate`; the tf-keras schedules
are registered with gin under `t2r.`, e.g.:

  create_adam_optimizer.learning_rate = @t2r.ExponentialDecay()
  t2r.ExponentialDecay.initial_learning_rate = 1e-3
  t2r.ExponentialDecay.decay_steps = 10000
  t2r.ExponentialDecay.decay_rate = 0.9

With `use_ema=True` the optimizer keeps a moving average of the trainable
weights. `T2RModel` evaluates and predicts with the averaged weights (see
`swapped_moving_average_weights`) and `fit` ends by copying the averages into
the model, so checkpoints written after training and exports hold them.
"""

import contextlib
from typing import Iterator, Optional, Sequence, Union

import gin
import tensorflow as tf
import tf_keras

from t2r import compat

LearningRate = Union[float, tf_keras.optimizers.schedules.LearningRateSchedule]

for _schedule in (
    tf_keras.optimizers.schedules.ExponentialDecay,
    tf_keras.optimizers.schedules.PiecewiseConstantDecay,
    tf_keras.optimizers.schedules.PolynomialDecay,
    tf_keras.optimizers.schedules.InverseTimeDecay,
    tf_keras.optimizers.schedules.CosineDecay,
    tf_keras.optimizers.schedules.CosineDecayRestarts,
):
  gin.external_configurable(_schedule, module='t2r')


@gin.configurable
def create_adam_optimizer(
    learning_rate: LearningRate = 1e-4,
    beta_1: float = 0.9,
    beta_2: float = 0.999,
    epsilon: float = 1e-7,
    use_ema: bool = False,
    ema_momentum: float = 0.99,
    clipnorm: Optional[float] = None) -> tf_keras.optimizers.Optimizer:
  """Returns a tf-keras Adam optimizer (the default of `T2RModel`).

  Example:
    >>> optimizer = create_adam_optimizer(learning_rate=1e-3, use_ema=True)

  Args:
    learning_rate: A float or a tf-keras `LearningRateSchedule`.
    beta_1: Decay of the first moment estimates.
    beta_2: Decay of the second moment estimates.
    epsilon: Numerical stability constant.
    use_ema: Keep an exponential moving average of the trainable weights,
      used for eval, predict and export.
    ema_momentum: average = ema_momentum * average + (1 - ema_momentum) * w.
    clipnorm: If set, clip each gradient to this norm.

  Returns:
    A `tf_keras.optimizers.Adam`.
  """
  return tf_keras.optimizers.Adam(
      learning_rate=learning_rate,
      beta_1=beta_1,
      beta_2=beta_2,
      epsilon=epsilon,
      use_ema=use_ema,
      ema_momentum=ema_momentum,
      clipnorm=clipnorm)


@gin.configurable
def create_sgd_optimizer(
    learning_rate: LearningRate = 1e-2,
    momentum: float = 0.0,
    nesterov: bool = False,
    use_ema: bool = False,
    ema_momentum: float = 0.99,
    clipnorm: Optional[float] = None) -> tf_keras.optimizers.Optimizer:
  """Returns a tf-keras SGD optimizer, with momentum when `momentum` > 0.

  Example:
    >>> optimizer = create_sgd_optimizer(learning_rate=0.1, momentum=0.9)

  Args:
    learning_rate: A float or a tf-keras `LearningRateSchedule`.
    momentum: Momentum in [0, 1); 0 is plain gradient descent.
    nesterov: Use Nesterov momentum.
    use_ema: As in `create_adam_optimizer`.
    ema_momentum: As in `create_adam_optimizer`.
    clipnorm: If set, clip each gradient to this norm.

  Returns:
    A `tf_keras.optimizers.SGD`.

  Raises:
    ValueError: If `momentum` is outside [0, 1).
  """
  if not 0.0 <= momentum < 1.0:
    raise ValueError(
        f'create_sgd_optimizer got momentum={momentum!r}; expected a float in '
        '[0, 1) (0 disables momentum, 0.9 is a common choice).')
  return tf_keras.optimizers.SGD(
      learning_rate=learning_rate,
      momentum=momentum,
      nesterov=nesterov,
      use_ema=use_ema,
      ema_momentum=ema_momentum,
      clipnorm=clipnorm)


@gin.configurable
def create_momentum_optimizer(
    learning_rate: LearningRate = 1e-2,
    momentum: float = 0.9,
    nesterov: bool = False,
    use_ema: bool = False,
    ema_momentum: float = 0.99,
    clipnorm: Optional[float] = None) -> tf_keras.optimizers.Optimizer:
  """Returns SGD with momentum (T2R's MomentumOptimizer); see SGD's args."""
  return create_sgd_optimizer(
      learning_rate=learning_rate,
      momentum=momentum,
      nesterov=nesterov,
      use_ema=use_ema,
      ema_momentum=ema_momentum,
      clipnorm=clipnorm)


def base_optimizer(
    optimizer: tf_keras.optimizers.Optimizer) -> tf_keras.optimizers.Optimizer:
  """The optimizer inside a mixed precision `LossScaleOptimizer`, or itself."""
  return getattr(optimizer, 'inner_optimizer', optimizer)


def uses_moving_average(optimizer: Optional[tf_keras.optimizers.Optimizer]
                       ) -> bool:
  """True if `optimizer` keeps a moving average of the weights."""
  return optimizer is not None and bool(
      getattr(base_optimizer(optimizer), 'use_ema', False))


@contextlib.contextmanager
def swapped_moving_average_weights(
    optimizer: Optional[tf_keras.optimizers.Optimizer],
    variables: Sequence[tf.Variable]) -> Iterator[bool]:
  """Puts the optimizer's moving averages into `variables` for the block.

  The values are exchanged (the averages hold the raw weights meanwhile) and
  exchanged back on exit, so training resumes from the raw weights. Without
  EMA, or before the optimizer has built its averages, nothing changes.

  Example:
    >>> with swapped_moving_average_weights(model.optimizer,
    ...                                     model.trainable_variables):
    ...   model.save_weights(path)      # the averaged weights

  Args:
    optimizer: A tf-keras optimizer (possibly a `LossScaleOptimizer`) or None.
    variables: The trainable variables the optimizer updates.

  Yields:
    True if the averaged weights are in place, False if nothing was swapped.
  """
  averages = None
  if uses_moving_average(optimizer):
    averages = compat.moving_average_variables(
        base_optimizer(optimizer), variables)
  if averages is None:
    yield False
    return
  pairs = list(zip(variables, averages))
  _swap(pairs)
  try:
    yield True
  finally:
    _swap(pairs)


def _swap(pairs):
  for var, average in pairs:
    raw = tf.identity(var.read_value())
    var.assign(average.read_value())
    average.assign(raw)
