"""meta_specs: meta specs derived from base specs, merge and split."""

import numpy as np
import pytest
import tensorflow as tf

from t2r import specs
from t2r.meta_learning import meta_specs

_FEATURES = specs.TensorSpecStruct({
    'state/image': specs.ExtendedTensorSpec((8, 8, 3), tf.uint8,
                                            name='state/image',
                                            data_format='jpeg'),
    'state/pose': specs.ExtendedTensorSpec((2,), tf.float32, name='pose',
                                           is_optional=True),
})
_LABELS = specs.TensorSpecStruct(
    target=specs.ExtendedTensorSpec((2,), tf.float32, name='target'))


def test_feature_spec_keeps_dtype_format_and_optional_per_role():
  meta = meta_specs.create_maml_feature_spec(_FEATURES, _LABELS, 2, 3)
  image = meta['inference/features/state/image']
  assert image.shape.as_list() == [3, 8, 8, 3]
  assert (image.dtype, image.data_format, image.name) == (
      tf.uint8, 'jpeg', 'inference/features/state/image')
  assert meta['condition/features/state/pose'].is_optional
  assert meta['condition/labels/target'].shape.as_list() == [2, 2]


def test_label_spec_holds_the_inference_labels():
  meta = meta_specs.create_maml_label_spec(_LABELS, None)
  assert list(meta.keys()) == ['meta_labels/target']
  assert meta['meta_labels/target'].shape.as_list() == [None, 2]
  assert meta['meta_labels/target'].name == 'meta_labels/target'


def test_merge_then_split_gives_back_the_tasks():
  values = {'a': np.arange(24, dtype=np.float32).reshape(2, 3, 4)}
  merged, outer = meta_specs.merge_samples(values)
  assert merged['a'].shape.as_list() == [6, 4]
  split = meta_specs.split_samples(merged, outer)
  np.testing.assert_array_equal(split['a'].numpy(), values['a'])


def test_sequence_specs_are_rejected_with_their_path():
  sequence = specs.TensorSpecStruct(
      s=specs.ExtendedTensorSpec((2,), tf.float32, name='s', is_sequence=True))
  with pytest.raises(ValueError, match="'s'.*is_sequence"):
    meta_specs.create_maml_feature_spec(sequence, _LABELS, 1, 1)


def test_rejects_a_non_positive_sample_count():
  with pytest.raises(ValueError, match='num_inference_samples_per_task'):
    meta_specs.create_maml_label_spec(_LABELS, 0)
