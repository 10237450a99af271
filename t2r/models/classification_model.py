"""`ClassificationModel`: class logits, cross entropy loss, accuracy."""

import abc
from typing import Any, Optional

import gin
import tensorflow as tf
import tf_keras

from t2r import specs
from t2r.models import t2r_model
from t2r.models.labels import select_label

LOGITS = 'logits'
PROBABILITIES = 'probabilities'
CLASS = 'class'


@gin.configurable
class ClassificationModel(t2r_model.T2RModel, metaclass=abc.ABCMeta):
  """A model whose `a_func` returns class logits, trained with cross entropy.

  The label decides the loss: an integer label (shape () or (1,)) holds class
  ids (sparse categorical cross entropy); a float label of shape
  (num_classes,) holds one-hot or soft targets (categorical cross entropy).
  Outputs are 'logits', 'probabilities' (softmax) and 'class' (argmax); eval
  reports 'loss' and 'accuracy'.

  Example:
    >>> class GraspSuccess(ClassificationModel):
    ...   def __init__(self, **kwargs):
    ...     super().__init__(**kwargs)
    ...     self.head = tf_keras.layers.Dense(2)
    ...   def get_feature_specification(self, mode):
    ...     return specs.TensorSpecStruct(
    ...         state=specs.ExtendedTensorSpec((8,), tf.float32, name='s'))
    ...   def get_label_specification(self, mode):
    ...     return specs.TensorSpecStruct(
    ...         success=specs.ExtendedTensorSpec((), tf.int64, name='y'))
    ...   def a_func(self, features, mode, config=None, params=None):
    ...     return {'logits': self.head(features.state)}

  Args:
    label_key: The label path; None if the label spec holds one label.
    **kwargs: `T2RModel` arguments.
  """

  def __init__(self, label_key: Optional[str] = None, **kwargs):
    super().__init__(**kwargs)
    self._label_key = label_key

  @abc.abstractmethod
  def a_func(self, features: specs.TensorSpecStruct, mode: str,
             config: Any = None, params: Any = None) -> t2r_model.TensorDict:
    """Returns a dict with the (batch, num_classes) logits at 'logits'."""

  def inference_network_fn(self, features, labels, mode, config=None,
                           params=None):
    outputs = self.a_func(features, mode, config, params)
    if not isinstance(outputs, dict) or LOGITS not in outputs:
      raise TypeError(
          f'{type(self).__name__}.a_func must return a dict with key '
          f"'{LOGITS}' of shape (batch, num_classes), got {outputs!r}.")
    logits = tf.cast(outputs[LOGITS], tf.float32)
    if logits.shape.rank != 2:
      raise ValueError(
          f'{type(self).__name__}.a_func returned logits of shape '
          f'{logits.shape}; expected (batch, num_classes).')
    return dict(
        outputs,
        **{PROBABILITIES: tf.nn.softmax(logits),
           CLASS: tf.argmax(logits, axis=-1)})

  def _targets(self, labels, logits):
    """Returns (labels, sparse): class ids (batch,) or dense (batch, C)."""
    target = select_label(labels, self._label_key, type(self).__name__)
    if target.dtype.is_integer:
      if target.shape.rank == 2 and target.shape[-1] == 1:
        target = tf.squeeze(target, axis=-1)
      if target.shape.rank != 1:
        raise ValueError(
            f'{type(self).__name__}: integer class labels must have shape () '
            f'or (1,) per example, got {target.shape[1:]}.')
      return target, True
    if target.shape.rank != 2 or target.shape[-1] != logits.shape[-1]:
      raise ValueError(
          f'{type(self).__name__}: float labels are one-hot targets of shape '
          f'(num_classes,) = ({logits.shape[-1]},) per example, got '
          f'{target.shape[1:]}. Use integer class ids or match num_classes.')
    return tf.cast(target, tf.float32), False

  def model_train_fn(self, features, labels, inference_outputs, mode,
                     config=None, params=None):
    logits = tf.cast(inference_outputs[LOGITS], tf.float32)
    target, sparse = self._targets(labels, logits)
    if sparse:
      loss = tf_keras.losses.sparse_categorical_crossentropy(
          target, logits, from_logits=True)
    else:
      loss = tf_keras.losses.categorical_crossentropy(
          target, logits, from_logits=True)
    return tf.reduce_mean(loss)

  def model_eval_fn(self, features, labels, inference_outputs, mode,
                    config=None, params=None):
    logits = tf.cast(inference_outputs[LOGITS], tf.float32)
    target, sparse = self._targets(labels, logits)
    if sparse:
      accuracy = tf_keras.metrics.sparse_categorical_accuracy(target, logits)
    else:
      accuracy = tf_keras.metrics.categorical_accuracy(target, logits)
    return {
        'loss': self.model_train_fn(features, labels, inference_outputs, mode),
        'accuracy': tf.reduce_mean(tf.cast(accuracy, tf.float32)),
    }
