"""The MAML inner loop: gradient steps on a task's condition loss.

The loop is independent of models: it takes `loss_fn(weights) -> scalar`
(for MAML, the base model's `model_train_fn` on the condition set computed
with `weights` substituted for the variables, see `fast_weights`) and the
initial weights, and returns the adapted weights

  w_{i+1} = w_i - lr * d loss(w_i) / d w_i

and the condition loss before every step and after the last. The gradients
are taken with a `tf.GradientTape` inside the outer one, so the outer loss
differentiates through them (second order, Finn et al. 2017); with
`first_order=True` the inner gradients are constants for the outer loss
(`tf.stop_gradient`, "FOMAML").
"""

from typing import Callable, List, Optional, Sequence, Tuple, Union

import gin
import tensorflow as tf

LearningRate = Union[float, tf.Tensor, tf.Variable]


def check_positive_int(value: int, argument: str) -> int:
  """Returns `value` if it is a positive int, else raises ValueError."""
  if isinstance(value, bool) or not isinstance(value, int) or value < 1:
    raise ValueError(f'{argument} must be a positive int, got {value!r}.')
  return value


@gin.configurable
class MAMLInnerLoop:
  """Gradient descent on a loss of tensors, differentiable end to end.

  Example (one step on a quadratic, in closed form w - 2 * lr * (w - 3)):
    >>> loop = MAMLInnerLoop(num_inner_loop_steps=1)
    >>> w = tf.constant([1.0])
    >>> adapted, losses = loop.adapt(
    ...     lambda ws: tf.reduce_sum(tf.square(ws[0] - 3.0)), [w], [0.25])
    >>> adapted[0].numpy(), losses.numpy()
    (array([2.], dtype=float32), array([4., 1.], dtype=float32))

  Args:
    num_inner_loop_steps: Gradient steps per task (>= 1).
    first_order: Treat the inner gradients as constants in the outer
      gradient (first-order MAML): cheaper, no second derivatives.

  Raises:
    ValueError: If `num_inner_loop_steps` is not a positive int.
  """

  def __init__(self, num_inner_loop_steps: int = 1, first_order: bool = False):
    self._num_steps = check_positive_int(num_inner_loop_steps,
                                         'num_inner_loop_steps')
    self._first_order = bool(first_order)

  @property
  def num_inner_loop_steps(self) -> int:
    return self._num_steps

  @property
  def first_order(self) -> bool:
    return self._first_order

  def adapt(self,
            loss_fn: Callable[[List[tf.Tensor]], tf.Tensor],
            weights: Sequence[tf.Tensor],
            learning_rates: Sequence[LearningRate],
            num_steps: Optional[int] = None
           ) -> Tuple[List[tf.Tensor], tf.Tensor]:
    """Runs the inner loop from `weights`.

    Args:
      loss_fn: weights (a list of tensors) -> scalar loss.
      weights: The initial weights (tensors; reads of the variables for
        MAML, so that the outer gradient reaches them).
      learning_rates: One learning rate per weight (floats, scalar tensors
        or variables, e.g. learned ones).
      num_steps: Overrides `num_inner_loop_steps` for this call.

    Returns:
      (the adapted weights, a float32 (num_steps + 1,) tensor of the loss
      before each step and after the last).

    Raises:
      ValueError: If the numbers of weights and learning rates differ, or
        the loss is not a scalar.
    """
    weights = list(weights)
    learning_rates = list(learning_rates)
    if len(weights) != len(learning_rates):
      raise ValueError(
          f'MAMLInnerLoop.adapt needs one learning rate per weight, got '
          f'{len(weights)} weights and {len(learning_rates)} learning rates.')
    steps = self._num_steps if num_steps is None else check_positive_int(
        num_steps, 'num_steps')
    losses = []
    for _ in range(steps):
      with tf.GradientTape() as tape:
        tape.watch(weights)
        loss = _scalar_loss(loss_fn(weights))
      gradients = tape.gradient(
          loss, weights, unconnected_gradients=tf.UnconnectedGradients.ZERO)
      if self._first_order:
        gradients = [tf.stop_gradient(g) for g in gradients]
      weights = [
          w - tf.cast(lr, w.dtype) * tf.cast(g, w.dtype)
          for w, g, lr in zip(weights, gradients, learning_rates)
      ]
      losses.append(loss)
    losses.append(_scalar_loss(loss_fn(weights)))
    return weights, tf.stack(losses)


def _scalar_loss(loss) -> tf.Tensor:
  loss = tf.convert_to_tensor(loss)
  if loss.shape.rank != 0:
    raise ValueError(
        f'The inner loss must be a scalar, got shape {loss.shape}. Reduce it, '
        'e.g. with tf.reduce_mean.')
  return tf.cast(loss, tf.float32)
