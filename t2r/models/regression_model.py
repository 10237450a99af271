"""`RegressionModel`: predict a labelled value, regress it with MSE."""

import abc
from typing import Any, Callable, Optional

import gin
import tensorflow as tf
import tf_keras

from t2r import specs
from t2r.models import t2r_model
from t2r.models.labels import select_label

INFERENCE_OUTPUT = 'inference_output'


@gin.configurable
class RegressionModel(t2r_model.T2RModel, metaclass=abc.ABCMeta):
  """A model whose `a_func` predicts a label, trained with a regression loss.

  Subclasses create layers in `__init__`, declare the specs and implement
  `a_func`, which returns `{'inference_output': prediction}` (plus any other
  outputs). The loss is `loss_function(label, prediction)` averaged over the
  batch, mean squared error by default.

  Example:
    >>> class PoseRegression(RegressionModel):
    ...   def __init__(self, **kwargs):
    ...     super().__init__(**kwargs)
    ...     self.head = tf_keras.layers.Dense(3)
    ...   def get_feature_specification(self, mode):
    ...     return specs.TensorSpecStruct(
    ...         state=specs.ExtendedTensorSpec((8,), tf.float32, name='s'))
    ...   def get_label_specification(self, mode):
    ...     return specs.TensorSpecStruct(
    ...         pose=specs.ExtendedTensorSpec((3,), tf.float32, name='pose'))
    ...   def a_func(self, features, mode, config=None, params=None):
    ...     return {'inference_output': self.head(features.state)}

  Args:
    loss_function: (labels, predictions) -> per-example or scalar loss, e.g.
      `tf_keras.losses.huber`; averaged over the batch.
    label_key: The label path to regress; None if the label spec holds one.
    **kwargs: `T2RModel` arguments.
  """

  def __init__(self,
               loss_function: Callable[[tf.Tensor, tf.Tensor],
                                       tf.Tensor] = (
                                           tf_keras.losses.mean_squared_error),
               label_key: Optional[str] = None,
               **kwargs):
    super().__init__(**kwargs)
    if not callable(loss_function):
      raise TypeError(
          f'loss_function must be callable (labels, predictions) -> loss, got '
          f'{loss_function!r}.')
    self._loss_function = loss_function
    self._label_key = label_key

  @abc.abstractmethod
  def a_func(self, features: specs.TensorSpecStruct, mode: str,
             config: Any = None, params: Any = None) -> t2r_model.TensorDict:
    """Returns a dict with the prediction at 'inference_output'."""

  def inference_network_fn(self, features, labels, mode, config=None,
                           params=None):
    outputs = self.a_func(features, mode, config, params)
    if not isinstance(outputs, dict) or INFERENCE_OUTPUT not in outputs:
      raise TypeError(
          f'{type(self).__name__}.a_func must return a dict with key '
          f"'{INFERENCE_OUTPUT}' (the prediction), got {outputs!r}.")
    return outputs

  def model_train_fn(self, features, labels, inference_outputs, mode,
                     config=None, params=None):
    target = select_label(labels, self._label_key, type(self).__name__)
    # Losses are computed in float32, also under a mixed_float16 policy.
    prediction = tf.cast(inference_outputs[INFERENCE_OUTPUT], tf.float32)
    return tf.reduce_mean(
        self._loss_function(tf.cast(target, tf.float32), prediction))
