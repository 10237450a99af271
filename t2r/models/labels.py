"""Finding the target label of a model that predicts one labelled value."""

from typing import Optional

import tensorflow as tf

from t2r import specs


def select_label(labels: specs.TensorSpecStruct, label_key: Optional[str],
                 model_name: str) -> tf.Tensor:
  """Returns the label at `label_key`, or the only label when it is None.

  Example:
    >>> select_label(labels, None, 'MyModel')       # labels has one entry
    >>> select_label(labels, 'target/pose', 'MyModel')

  Args:
    labels: The model's batched labels (a flat `TensorSpecStruct`).
    label_key: The path of the target label, or None if there is one label.
    model_name: Named in error messages.

  Returns:
    The label tensor.

  Raises:
    ValueError: If `label_key` is None and there is not exactly one label, or
      `label_key` is not a label path.
  """
  paths = list(labels.keys()) if labels is not None else []
  if label_key is None:
    if len(paths) != 1:
      raise ValueError(
          f'{model_name} has label_key=None, so its label spec must hold '
          f'exactly one label, but it holds {paths}. Pass label_key= naming '
          'the target label path.')
    return labels[paths[0]]
  if label_key not in paths:
    raise ValueError(
        f'{model_name} has label_key={label_key!r} but the labels hold '
        f'{paths}. Fix label_key or get_label_specification.')
  return labels[label_key]
