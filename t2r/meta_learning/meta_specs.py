"""The specs of a meta batch, derived from the specs of a base model.

A meta batch holds tasks. Each task has a *condition* set (features and
labels the model adapts on) and an *inference* set (features it predicts
after adapting, with their labels as the meta labels). Every spec of the base
model appears once per role, with a leading samples-per-task dimension and
its name prefixed by the role, so the data pipeline, the placeholders, the
export signatures and the predictors work on the result unchanged:

  features  condition/features/<path>   (K,) + shape   'condition/features/<name>'
            condition/labels/<path>     (K,) + shape   'condition/labels/<name>'
            inference/features/<path>   (N,) + shape   'inference/features/<name>'
  labels    meta_labels/<path>          (N,) + shape   'meta_labels/<name>'

K and N are the condition and inference samples per task; None makes the
dimension unknown (any number), which is what a PREDICT (export) spec uses so
that one export adapts from 1, 2 or 4 condition episodes. With the batch
dimension (tasks) a tensor is (num_tasks, K) + shape.
"""

from typing import Any, Optional, Tuple

import tensorflow as tf

from t2r import specs

CONDITION = 'condition'
INFERENCE = 'inference'
FEATURES = 'features'
LABELS = 'labels'
META_LABELS = 'meta_labels'
CONDITION_FEATURES = f'{CONDITION}/{FEATURES}'
CONDITION_LABELS = f'{CONDITION}/{LABELS}'
INFERENCE_FEATURES = f'{INFERENCE}/{FEATURES}'


def check_num_samples(value: Optional[int], argument: str) -> Optional[int]:
  """Validates a samples-per-task count (a positive int, or None: any).

  Args:
    value: The count.
    argument: The argument name, for the error message.

  Returns:
    `value` as an int, or None.

  Raises:
    ValueError: If `value` is not None or a positive int.
  """
  if value is None:
    return None
  if isinstance(value, bool) or not isinstance(value, int) or value < 1:
    raise ValueError(
        f'{argument} must be a positive int (samples per task) or None (any '
        f'number, for PREDICT specs), got {value!r}.')
  return int(value)


def _sample_batch_size(num_samples: Optional[int]) -> int:
  """`copy_tensorspec`'s batch_size for a samples dimension (-1: unknown)."""
  return -1 if num_samples is None else num_samples


def _with_samples(spec_structure: Any, prefix: str,
                  num_samples: Optional[int]) -> specs.TensorSpecStruct:
  flat = specs.flatten_spec_structure(spec_structure)
  for path, spec in flat.items():
    if getattr(spec, 'is_sequence', False):
      raise ValueError(
          f'Meta-learning specs do not support sequence specs yet; the base '
          f'spec {path!r} (name {spec.name!r}) has is_sequence=True. Use a '
          'base model with per-step (non-sequence) specs.')
  return specs.copy_tensorspec(flat, prefix=prefix,
                               batch_size=_sample_batch_size(num_samples))


def create_maml_feature_spec(
    feature_spec: Any,
    label_spec: Any,
    num_condition_samples_per_task: Optional[int],
    num_inference_samples_per_task: Optional[int]) -> specs.TensorSpecStruct:
  """The meta feature spec: condition features and labels, inference features.

  Example:
    >>> base_features = specs.TensorSpecStruct(
    ...     x=specs.ExtendedTensorSpec((1,), tf.float32, name='x'))
    >>> base_labels = specs.TensorSpecStruct(
    ...     y=specs.ExtendedTensorSpec((1,), tf.float32, name='y'))
    >>> meta = create_maml_feature_spec(base_features, base_labels, 5, 10)
    >>> meta['condition/labels/y'].shape, meta['condition/labels/y'].name
    (TensorShape([5, 1]), 'condition/labels/y')

  Args:
    feature_spec: The base model's (or preprocessor's) feature specs.
    label_spec: The base label specs.
    num_condition_samples_per_task: K, or None for any number.
    num_inference_samples_per_task: N, or None for any number.

  Returns:
    A flat `TensorSpecStruct` with paths 'condition/features/...',
    'condition/labels/...' and 'inference/features/...'.

  Raises:
    ValueError: For a count that is not a positive int or None, or a
      sequence spec.
  """
  k = check_num_samples(num_condition_samples_per_task,
                        'num_condition_samples_per_task')
  n = check_num_samples(num_inference_samples_per_task,
                        'num_inference_samples_per_task')
  meta = specs.TensorSpecStruct()
  meta[CONDITION_FEATURES] = _with_samples(feature_spec, CONDITION_FEATURES, k)
  meta[CONDITION_LABELS] = _with_samples(label_spec, CONDITION_LABELS, k)
  meta[INFERENCE_FEATURES] = _with_samples(feature_spec, INFERENCE_FEATURES, n)
  return meta


def create_maml_label_spec(
    label_spec: Any,
    num_inference_samples_per_task: Optional[int]) -> specs.TensorSpecStruct:
  """The meta label spec: the inference set's labels, 'meta_labels/...'.

  Example:
    >>> create_maml_label_spec(base_labels, 10)['meta_labels/y'].shape
    TensorShape([10, 1])

  Args:
    label_spec: The base label specs.
    num_inference_samples_per_task: N, or None for any number.

  Returns:
    A flat `TensorSpecStruct` with paths 'meta_labels/<base path>'.

  Raises:
    ValueError: For a count that is not a positive int or None.
  """
  n = check_num_samples(num_inference_samples_per_task,
                        'num_inference_samples_per_task')
  meta = specs.TensorSpecStruct()
  meta[META_LABELS] = _with_samples(label_spec, META_LABELS, n)
  return meta


def merge_samples(values: Any) -> Tuple[specs.TensorSpecStruct, tf.Tensor]:
  """Merges the task and sample dimensions: (tasks, K, ...) -> (tasks*K, ...).

  Example:
    >>> flat, outer = merge_samples({'x': tf.zeros((4, 5, 1))})
    >>> flat['x'].shape, outer.numpy()
    (TensorShape([20, 1]), array([4, 5], dtype=int32))

  Args:
    values: A structure of tensors that all start with (tasks, samples).

  Returns:
    (a flat `TensorSpecStruct` of the merged tensors, the int32 (2,) tensor
    (tasks, samples) to split them again with `split_samples`).

  Raises:
    ValueError: If `values` is empty or a tensor has rank below 2.
  """
  flat = specs.flatten_spec_structure(values)
  if not flat:
    raise ValueError('merge_samples got no tensors; pass a non-empty '
                     'structure of (tasks, samples, ...) tensors.')
  merged = specs.TensorSpecStruct()
  outer = None
  for path, value in flat.items():
    value = tf.convert_to_tensor(value)
    if value.shape.rank is not None and value.shape.rank < 2:
      raise ValueError(
          f'merge_samples expects (tasks, samples, ...) tensors; {path!r} '
          f'has shape {value.shape}. Feed a meta batch laid out like '
          'create_maml_feature_spec.')
    if outer is None:
      outer = tf.shape(value)[:2]
    merged[path] = tf.reshape(
        value, tf.concat([[-1], tf.shape(value)[2:]], axis=0))
    merged[path].set_shape(
        tf.TensorShape([_product(value.shape[:2])]).concatenate(
            value.shape[2:]))
  return merged, outer


def _product(dims: tf.TensorShape) -> Optional[int]:
  if None in dims.as_list():
    return None
  return int(dims[0]) * int(dims[1])


def split_samples(values: Any, outer_shape: tf.Tensor,
                  static_outer: Optional[tf.TensorShape] = None
                 ) -> specs.TensorSpecStruct:
  """Inverse of `merge_samples`: (tasks*K, ...) -> (tasks, K, ...).

  Args:
    values: A structure of tensors with a merged leading dimension.
    outer_shape: The (tasks, samples) tensor `merge_samples` returned.
    static_outer: The static (tasks, samples) shape, if known.

  Returns:
    A flat `TensorSpecStruct` of the split tensors.
  """
  split = specs.TensorSpecStruct()
  for path, value in specs.flatten_spec_structure(values).items():
    value = tf.convert_to_tensor(value)
    split[path] = tf.reshape(value,
                             tf.concat([outer_shape, tf.shape(value)[1:]], 0))
    if static_outer is not None:
      split[path].set_shape(
          tf.TensorShape(static_outer).concatenate(value.shape[1:]))
  return split
