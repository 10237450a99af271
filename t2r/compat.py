"""Every private tf-keras / TensorFlow attribute t2r uses, in one place.

Written against tf-keras 2.21.0 and TensorFlow 2.21.0. None of these
attributes is public API, so a release may rename or remove any of them;
`tests/test_compat.py` checks each one on the installed versions and names
the attribute and version that changed. Library code outside this module
uses none of them.

Example:
  >>> from t2r import compat
  >>> counter = compat.evaluate_batch_counter(model)   # model._test_counter
  >>> with tf.summary.record_if(lambda: tf.equal(counter, 0)):
  ...   model.evaluate(dataset)                        # summaries of batch 0
"""

from typing import Any, Dict, List, Optional, Sequence

import tensorflow as tf
import tf_keras

# The releases this module was written against and tested with.
WRITTEN_FOR_TF_KERAS = '2.21'
WRITTEN_FOR_TENSORFLOW = '2.21'


def evaluate_batch_counter(model: tf_keras.Model) -> tf.Variable:
  """The variable counting the batches of the running `model.evaluate`.

  tf-keras 2.21 keeps it as `Model._test_counter`: `evaluate` assigns it 0
  before the first batch and each test step adds 1 in-graph. t2r reads it to
  record the model's EVAL summaries on the first batch only, without a host
  sync per batch (no public counter of evaluate batches exists).

  Args:
    model: A compiled tf-keras model.

  Returns:
    The int64 counter variable (0 during the first batch).
  """
  return model._test_counter  # pylint: disable=protected-access


def let_callback_take_tensor_logs(
    callback: tf_keras.callbacks.Callback) -> None:
  """Lets `callback` receive batch logs as tensors, without a sync per batch.

  tf-keras 2.21's `CallbackList` converts the logs of every batch to numpy
  (a device-to-host sync) unless every callback with batch hooks sets the
  private `Callback._supports_tf_logs`; its own TensorBoard and
  ModelCheckpoint callbacks set it the same way. There is no public switch.

  Args:
    callback: A callback whose batch hooks accept tensor (or numpy) logs.
  """
  callback._supports_tf_logs = True  # pylint: disable=protected-access


def strategy_uses_merge_call() -> bool:
  """Whether the current `tf.distribute` strategy supports `merge_call`.

  TensorFlow 2.21's `StrategyExtended._use_merge_call()` is True except
  where a strategy runs replicas without merge calls (MirroredStrategy under
  XLA on GPUs); `tf.__internal__.distribute.strategy_supports_no_merge_call`
  wraps the same method. t2r asks it before calling
  `ReplicaContext.merge_call`, as tf-keras does for its metrics.

  Returns:
    True if a replica context of the current strategy may `merge_call`.
  """
  extended = tf.distribute.get_strategy().extended
  return extended._use_merge_call()  # pylint: disable=protected-access


def moving_average_variables(
    optimizer: tf_keras.optimizers.Optimizer,
    variables: Sequence[tf.Variable]) -> Optional[List[tf.Variable]]:
  """The optimizer's moving-average copy of each of `variables`.

  A tf-keras 2.21 optimizer with `use_ema=True` creates
  `_model_variables_moving_average` when it is built and finds the average
  of a variable through `_index_dict[_var_key(variable)]`, as its own
  `finalize_variable_values` does. t2r swaps the averages in and out of the
  model for eval, predict and export; the public API only copies them into
  the model for good (`finalize_variable_values`).

  Args:
    optimizer: A tf-keras optimizer (not a `LossScaleOptimizer`: pass its
      `inner_optimizer`).
    variables: Variables the optimizer updates.

  Returns:
    The averages in the order of `variables`, or None if the optimizer keeps
    none (no EMA, or not built yet).
  """
  averages = getattr(optimizer, '_model_variables_moving_average', None)
  if not averages:
    return None
  index = optimizer._index_dict  # pylint: disable=protected-access
  key = optimizer._var_key  # pylint: disable=protected-access
  return [averages[index[key(var)]] for var in variables]


def trackable_children(obj: Any) -> Dict[str, Any]:
  """The objects a checkpoint of `obj` saves under `obj`, by name.

  TensorFlow 2.21's `Trackable._trackable_children()` is what
  `tf.train.Checkpoint` itself walks; a checkpoint of a tf-keras model holds
  these names at its root. t2r builds a `tf.train.Checkpoint` of a subset of
  them to restore a model's weights without its optimizer.

  Args:
    obj: A trackable object (a tf-keras model, layer or `tf.Module`).

  Returns:
    `{name: child}` as a checkpoint of `obj` names them.
  """
  return dict(obj._trackable_children())  # pylint: disable=protected-access
