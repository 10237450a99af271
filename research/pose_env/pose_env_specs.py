"""The record layout of pose-env transitions, shared by collectors and models.

Every transition record holds the image, the action taken, its reward and the
true pose. The collector writes exactly these specs; a model declares its
features and labels by picking from them, so names never drift apart:

  - regression (image -> pose): features 'state/image', labels 'target_pose';
  - critic (image, action -> reward): features 'state/image' and 'action',
    labels 'reward'.
"""

from typing import Sequence, Tuple, Union

import gin
import numpy as np
import tensorflow as tf

from t2r import specs
from research import image_sizes


ImageSize = image_sizes.ImageSize
as_image_size = image_sizes.as_image_size




@gin.configurable
def get_pose_env_specs(
    image_size: ImageSize = 64) -> specs.TensorSpecStruct:
  """Returns the specs of one pose-env transition record.

  The structure has two groups: `features` ('state/image' (H, W, 3) uint8
  stored as JPEG, 'action' (2,) float32) and `labels` ('reward' (1,) float32,
  'target_pose' (2,) float32: the true x, y). Each spec's name is its path
  within the group, which is the feature key in the records.

  Example:
    >>> record_spec = get_pose_env_specs()
    >>> parse_fn = parsing.create_parse_tf_example_fn(record_spec.features,
    ...                                               record_spec.labels)
    >>> record_spec.features['state/image'].shape
    TensorShape([64, 64, 3])

  Args:
    image_size: The image height and width: an int or (height, width); must
      match the environment's `image_size`.

  Returns:
    A `TensorSpecStruct` with paths 'features/state/image',
    'features/action', 'labels/reward' and 'labels/target_pose'.

  Raises:
    ValueError: If `image_size` is not a positive int or pair of them.
  """
  height, width = as_image_size(image_size)
  record_spec = specs.TensorSpecStruct()
  record_spec['features/state/image'] = specs.ExtendedTensorSpec(
      (height, width, 3), tf.uint8, name='state/image', data_format='jpeg')
  record_spec['features/action'] = specs.ExtendedTensorSpec(
      (2,), tf.float32, name='action')
  record_spec['labels/reward'] = specs.ExtendedTensorSpec(
      (1,), tf.float32, name='reward')
  record_spec['labels/target_pose'] = specs.ExtendedTensorSpec(
      (2,), tf.float32, name='target_pose')
  return record_spec
