"""record_layout: which stream and record type holds each spec."""

import pytest
import tensorflow as tf

from t2r import specs
from t2r.data import record_layout

Spec = specs.ExtendedTensorSpec


def _layouts(feature_spec, label_spec=None):
  return record_layout.stream_layouts(
      record_layout.flat_feature_and_label_specs(feature_spec, label_spec))


def test_specs_are_grouped_by_dataset_key_in_order():
  layouts = _layouts({
      'a': Spec((1,), tf.float32, name='a', dataset_key='sim'),
      'b': Spec((1,), tf.float32, name='b'),
      'c': Spec((1,), tf.float32, name='c', dataset_key='sim'),
  })
  assert list(layouts) == ['sim', '']
  assert list(layouts['sim'].specs_by_name) == ['a', 'c']


def test_a_stream_with_a_sequence_spec_holds_sequence_examples():
  layouts = _layouts({
      'goal': Spec((1,), tf.float32, name='goal'),
      'action': Spec((1,), tf.float32, dataset_key='robot', is_sequence=True),
  })
  assert not layouts[''].is_sequence_example
  assert layouts['robot'].is_sequence_example


def test_unnamed_specs_are_stored_under_their_path():
  layouts = _layouts({'state': {'pose': Spec((1,), tf.float32)}})
  assert list(layouts[''].specs_by_name) == ['state/pose']


def test_shared_names_are_stored_once_and_described_with_every_path():
  shared = Spec((2,), tf.float32, name='action')
  layout = _layouts({'action': shared}, {'target': shared})['']
  assert list(layout.specs_by_name) == ['action']
  assert layout.describe('action') == (
      "'action', 'target' in labels (name 'action')")


def test_sequence_length_specs_are_not_stored():
  spec = specs.add_sequence_length_specs(
      {'action': Spec((1,), tf.float32, name='a', is_sequence=True)})
  assert list(_layouts(spec)[''].specs_by_name) == ['a']


def test_plain_tensor_specs_become_extended_specs():
  layout = _layouts({'x': tf.TensorSpec((1,), tf.int32, name='x')})['']
  assert isinstance(layout.specs_by_name['x'], Spec)


def test_same_name_with_another_image_format_is_an_error():
  with pytest.raises(ValueError, match="share the name 'image'"):
    _layouts({'a': Spec((2, 2, 3), tf.uint8, name='image', data_format='png'),
              'b': Spec((2, 2, 3), tf.uint8, name='image',
                        data_format='jpeg')})


def test_dtypes_records_cannot_hold_are_rejected():
  with pytest.raises(TypeError, match='complex64'):
    _layouts({'z': Spec((1,), tf.complex64, name='z')})


def test_single_dataset_key_resolution():
  layouts = _layouts({'a': Spec((1,), tf.float32, dataset_key='x')})
  assert record_layout.single_dataset_key(layouts, None, 'test') == 'x'
  with pytest.raises(ValueError, match="dataset_key 'y' is not used"):
    record_layout.single_dataset_key(layouts, 'y', 'test')
