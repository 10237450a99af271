"""Spec <-> proto round trips and the t2r_assets.pbtxt files exports carry."""

import os

import pytest
import tensorflow as tf

from t2r import specs
from t2r.proto import t2r_pb2
from t2r.specs import ExtendedTensorSpec
from t2r.specs import TensorSpecStruct

_EVERY_FIELD = [
    ExtendedTensorSpec((3, 8, 8, 3), tf.uint8, name='images', is_optional=True,
                       is_sequence=True, is_extracted=True, data_format='png',
                       dataset_key='cam', varlen_default_value=0.0),
    ExtendedTensorSpec((None, 2), tf.bfloat16, name='x'),
    ExtendedTensorSpec(None, tf.string),
    ExtendedTensorSpec((), tf.int64, name='step', varlen_default_value=None),
    ExtendedTensorSpec((4,), tf.float32, name='pad', varlen_default_value=-1.5),
]


@pytest.mark.parametrize('spec', _EVERY_FIELD, ids=repr)
def test_spec_round_trip_keeps_every_field(spec):
  message = spec.to_proto()
  assert isinstance(message, t2r_pb2.ExtendedTensorSpec)
  restored = ExtendedTensorSpec.from_proto(message)
  assert repr(restored) == repr(spec)


def test_plain_tensor_spec_converts_with_defaults():
  message = specs.spec_structure_to_proto(
      {'a': tf.TensorSpec((2,), tf.float32, 'a')})
  restored = specs.spec_structure_from_proto(message)
  assert repr(restored.a) == repr(ExtendedTensorSpec((2,), tf.float32, 'a'))


def test_struct_round_trip_keeps_order():
  struct = TensorSpecStruct([(f'group/{i}', spec)
                             for i, spec in reversed(list(
                                 enumerate(_EVERY_FIELD)))])
  restored = specs.spec_structure_from_proto(
      specs.spec_structure_to_proto(struct))
  assert restored.keys() == struct.keys()
  assert [repr(v) for v in restored.values()] == [
      repr(v) for v in struct.values()
  ]


def test_assets_round_trip_through_a_text_file(tmp_path):
  feature_spec = TensorSpecStruct({'state': _EVERY_FIELD[1]})
  label_spec = TensorSpecStruct({'action': _EVERY_FIELD[4]})
  assets = specs.make_t2r_assets(
      feature_spec, label_spec, global_step=123,
      operative_gin_config='a.b = 1', model_class='pkg.Model',
      extra={'git': 'abc'})
  path = specs.write_t2r_assets(assets, str(tmp_path))
  assert path == os.path.join(str(tmp_path), 'assets.extra',
                              't2r_assets.pbtxt')
  assert 'global_step: 123' in open(path).read()
  restored = specs.read_t2r_assets(str(tmp_path))
  assert restored == assets
  assert restored.provenance.tensorflow_version == tf.__version__
  assert restored.provenance.creation_time
  specs.assert_equal(feature_spec,
                     specs.spec_structure_from_proto(restored.feature_spec))
  assert os.listdir(os.path.dirname(path)) == ['t2r_assets.pbtxt']


def test_read_assets_missing_file_explains(tmp_path):
  with pytest.raises(FileNotFoundError, match='t2r_assets.pbtxt'):
    specs.read_t2r_assets(str(tmp_path))


def test_read_assets_invalid_text(tmp_path):
  path = tmp_path / 'bad.pbtxt'
  path.write_text('not a proto {')
  with pytest.raises(ValueError, match='not a valid T2RAssets'):
    specs.read_t2r_assets(str(path))
