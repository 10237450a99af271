"""create_parse_tf_example_fn: batched parsing, eager and in a tf.data map."""

import numpy as np
import pytest
import tensorflow as tf

from t2r import specs
from t2r.data import encoding
from t2r.data import parsing

Spec = specs.ExtendedTensorSpec


def _struct(**entries):
  return specs.TensorSpecStruct(entries)


def _image_spec(**kwargs):
  return Spec((4, 6, 3), tf.uint8, name='image', data_format='jpeg', **kwargs)


def _pixels(value, shape=(4, 6, 3)):
  return np.full(shape, value, np.uint8)


def _map_over_batches(parse_fn, records, batch_size):
  dataset = tf.data.Dataset.from_tensor_slices(records).batch(batch_size)
  return list(dataset.map(parse_fn))


def test_traced_map_matches_eager_call():
  feature_spec = _struct(
      image=_image_spec(), state=Spec((2,), tf.float16, name='state'))
  label_spec = _struct(reward=Spec((), tf.float32, name='reward'))
  encoder = encoding.ExampleEncoder(feature_spec, label_spec)
  records = [
      encoder.encode({
          'image': _pixels(40 * i),
          'state': np.full(2, i, np.float16)
      }, {'reward': np.float32(i)}) for i in range(4)
  ]
  parse_fn = parsing.create_parse_tf_example_fn(feature_spec, label_spec)
  eager_features, eager_labels = parse_fn(records)
  batches = _map_over_batches(parse_fn, records, batch_size=2)

  assert len(batches) == 2
  for index, (features, labels) in enumerate(batches):
    assert isinstance(features, specs.TensorSpecStruct)
    assert features.image.shape == (2, 4, 6, 3)
    rows = slice(2 * index, 2 * index + 2)
    np.testing.assert_array_equal(features.image.numpy(),
                                  eager_features.image.numpy()[rows])
    np.testing.assert_array_equal(features.state.numpy(),
                                  eager_features.state.numpy()[rows])
    np.testing.assert_array_equal(labels.reward.numpy(),
                                  eager_labels.reward.numpy()[rows])


def test_traced_map_has_static_shapes():
  feature_spec = _struct(
      image=_image_spec(), items=Spec((3,), tf.int64, varlen_default_value=0))
  parse_fn = parsing.create_parse_tf_example_fn(feature_spec)
  dataset = tf.data.Dataset.from_tensor_slices([b'']).batch(4).map(parse_fn)
  features = dataset.element_spec
  assert features['image'].shape.as_list() == [None, 4, 6, 3]
  assert features['items'].shape.as_list() == [None, 3]


def test_features_and_labels_sharing_a_spec_are_parsed_once():
  shared = Spec((2,), tf.float32, name='action')
  feature_spec, label_spec = _struct(action=shared), _struct(target=shared)
  record = encoding.encode_example(feature_spec,
                                   {'action': np.ones(2, np.float32)})
  features, labels = parsing.create_parse_tf_example_fn(
      feature_spec, label_spec)([record])
  assert labels.target is features.action


def test_specs_sharing_a_name_must_agree():
  feature_spec = _struct(a=Spec((2,), tf.float32, name='x'))
  label_spec = _struct(b=Spec((3,), tf.float32, name='x'))
  with pytest.raises(ValueError, match="share the name 'x' but differ"):
    parsing.create_parse_tf_example_fn(feature_spec, label_spec)


def test_fixed_length_specs_need_known_shapes():
  with pytest.raises(ValueError, match=r"'state' \(name 's'\).*every dim"):
    parsing.create_parse_tf_example_fn(
        _struct(state=Spec((None,), tf.float32, name='s')))


@pytest.mark.parametrize('serialized', [
    tf.constant(b'record'),
    tf.constant([[b'a', b'b']]),
])
def test_serialized_records_must_be_a_batch(serialized):
  parse_fn = parsing.create_parse_tf_example_fn(
      _struct(state=Spec((1,), tf.float32)))
  with pytest.raises(ValueError, match='1-D batch of serialized records'):
    parse_fn(serialized)


def test_without_a_label_spec_the_features_come_alone():
  # As in Tensor2Robot: parse_fn(serialized) -> features.
  spec = _struct(state=Spec((1,), tf.float32, name='s'))
  record = encoding.encode_example(spec, {'state': np.ones(1, np.float32)})
  features = parsing.create_parse_tf_example_fn(spec)([record])
  assert isinstance(features, specs.TensorSpecStruct)
  assert list(features.keys()) == ['state']
  parse_fn = parsing.create_parse_tf_example_fn(spec, _struct())
  features, labels = parse_fn([record])
  assert list(labels.keys()) == []


def test_garbage_records_are_reported_eagerly():
  parse_fn = parsing.create_parse_tf_example_fn(
      _struct(state=Spec((1,), tf.float32)), source_description='bad.tfrecord')
  with pytest.raises(ValueError,
                     match='Record 0 of bad.tfrecord is not a serialized'):
    parse_fn([b'\xff\xff\xff'])


def test_records_the_tensorflow_parser_rejects_are_reported_eagerly():
  spec = _struct(state=Spec((1,), tf.float32, name='s'))
  record = encoding.encode_example(spec, {'state': np.ones(1, np.float32)})
  # A field tf.train.Features does not have: the protobuf parser skips it,
  # TensorFlow's fails with the raw bytes as its message.
  features = tf.train.Example.FromString(record).features.SerializeToString()
  features += bytes([8 << 3 | 5]) + b'\x00\xff\x00\xff'
  damaged = b'\x0a' + bytes([len(features)]) + features
  with pytest.raises(ValueError,
                     match=r'Record 1 of the batch is not a valid serialized '
                     r'tf\.train\.Example: .*or is not a field of'):
    parsing.create_parse_tf_example_fn(spec)([record, damaged])


# Optional and required features.


def _optional_spec():
  return _struct(
      state=Spec((1,), tf.float32, name='s'),
      extra=Spec((2,), tf.int32, name='e', is_optional=True),
      camera=_image_spec(is_optional=True))


def test_optional_features_present_in_the_batch_are_parsed():
  spec = _optional_spec()
  record = encoding.encode_example(spec, {
      'state': np.zeros(1, np.float32),
      'extra': np.array([1, 2], np.int32),
      'camera': _pixels(0)
  })
  features = parsing.create_parse_tf_example_fn(spec)([record])
  assert list(features.keys()) == ['state', 'extra', 'camera']
  np.testing.assert_array_equal(features.extra.numpy(), [[1, 2]])


def test_optional_features_missing_from_the_batch_are_left_out():
  spec = _optional_spec()
  record = encoding.encode_example(spec, {'state': np.zeros(1, np.float32)})
  features = parsing.create_parse_tf_example_fn(spec)([record])
  assert list(features.keys()) == ['state']


def test_present_optional_names_fix_the_output_structure_of_a_traced_map():
  spec = _optional_spec()
  record = encoding.encode_example(spec, {
      'state': np.zeros(1, np.float32),
      'extra': np.array([1, 2], np.int32)
  })
  present = parsing.optional_names_present_in_record(record, spec)
  assert present == {'e'}
  parse_fn = parsing.create_parse_tf_example_fn(
      spec, present_optional_names=present)
  features, = _map_over_batches(parse_fn, [record], batch_size=1)
  assert list(features.keys()) == ['state', 'extra']


def test_optional_feature_missing_from_some_records_parses_as_zeros():
  spec = _optional_spec()
  with_optional = encoding.encode_example(spec, {
      'state': np.zeros(1, np.float32),
      'extra': np.array([1, 2], np.int32),
      'camera': _pixels(200)
  })
  without = encoding.encode_example(spec, {'state': np.zeros(1, np.float32)})
  parse_fn = parsing.create_parse_tf_example_fn(spec)
  features = parse_fn([with_optional, without])
  np.testing.assert_array_equal(features.extra.numpy(), [[1, 2], [0, 0]])
  assert features.camera.numpy()[0].min() > 150
  np.testing.assert_array_equal(features.camera.numpy()[1], 0)


def test_traced_map_without_present_names_assumes_all_present():
  spec = _optional_spec()
  record = encoding.encode_example(spec, {'state': np.ones(1, np.float32)})
  parse_fn = parsing.create_parse_tf_example_fn(spec)
  features, = _map_over_batches(parse_fn, [record], batch_size=1)
  assert list(features.keys()) == ['state', 'extra', 'camera']
  np.testing.assert_array_equal(features.camera.numpy(), 0)


def test_missing_required_feature_names_path_name_and_source():
  written = _struct(other=Spec((1,), tf.float32, name='other'))
  record = encoding.encode_example(written, {'other': np.zeros(1, np.float32)})
  feature_spec = _struct(state=Spec((1,), tf.float32, name='s'))
  parse_fn = parsing.create_parse_tf_example_fn(
      feature_spec, source_description='/data/replay-00001.tfrecord')
  with pytest.raises(
      ValueError,
      match=r"Record 0 of /data/replay-00001.tfrecord has no feature 's', "
      r"which the required spec 'state' \(name 's'\) reads. It has "
      r"\['other'\]"):
    parse_fn([record])


def test_optional_names_present_in_record_reports_a_missing_required_one():
  feature_spec = _struct(state=Spec((1,), tf.float32, name='s'))
  label_spec = _struct(reward=Spec((), tf.float32, name='r'))
  record = encoding.encode_example(feature_spec,
                                   {'state': np.zeros(1, np.float32)})
  with pytest.raises(ValueError,
                     match=r"of f.tfrecord has no feature 'r', which the "
                     r"required spec 'reward' in labels \(name 'r'\)"):
    parsing.optional_names_present_in_record(
        record, feature_spec, label_spec, source_description='f.tfrecord')


def test_missing_required_sequence_feature_is_reported():
  spec = _struct(
      goal=Spec((1,), tf.float32, name='goal'),
      action=Spec((1,), tf.float32, name='action', is_sequence=True))
  written = _struct(goal=spec.goal,
                    other=Spec((1,), tf.float32, is_sequence=True))
  record = encoding.encode_example(written, {
      'goal': np.zeros(1, np.float32),
      'other': np.zeros((2, 1), np.float32)
  })
  with pytest.raises(ValueError, match="has no feature list 'action'"):
    parsing.create_parse_tf_example_fn(spec)([record])


# Several record streams.


def _two_stream_spec():
  return _struct(
      robot=Spec((1,), tf.float32, name='x', dataset_key='robot'),
      sim=Spec((2,), tf.int64, name='x', dataset_key='sim'))


def test_each_dataset_key_parses_its_own_stream():
  spec = _two_stream_spec()
  records = encoding.ExampleEncoder(spec).encode_by_dataset_key({
      'robot': np.array([1.5], np.float32),
      'sim': np.array([3, 4])
  })
  dataset = tf.data.Dataset.zip({
      key: tf.data.Dataset.from_tensor_slices([record, record])
      for key, record in records.items()
  }).batch(2)
  features = next(iter(
      dataset.map(parsing.create_parse_tf_example_fn(spec))))
  np.testing.assert_array_equal(features.robot.numpy(), [[1.5], [1.5]])
  np.testing.assert_array_equal(features.sim.numpy(), [[3, 4], [3, 4]])


def test_several_streams_need_a_dict_of_records():
  parse_fn = parsing.create_parse_tf_example_fn(_two_stream_spec())
  with pytest.raises(ValueError, match=r'pass a dict \{dataset_key'):
    parse_fn([b''])
  with pytest.raises(ValueError, match=r"missing \['sim'\]"):
    parse_fn({'robot': [b'']})


def test_optional_names_present_in_record_needs_the_dataset_key():
  with pytest.raises(ValueError, match='pass dataset_key'):
    parsing.optional_names_present_in_record(b'', _two_stream_spec())


def test_missing_optional_sequence_feature_drops_its_length_too():
  spec = _struct(
      action=Spec((1,), tf.float32, name='action', is_sequence=True),
      image=Spec((2, 2, 3), tf.uint8, name='image', data_format='png',
                 is_sequence=True, is_optional=True))
  record = encoding.encode_example(spec, {'action': np.zeros((2, 1),
                                                             np.float32)})
  features = parsing.create_parse_tf_example_fn(spec)([record])
  assert list(features.keys()) == ['action', 'action_length']


def test_plain_tensor_specs_are_parsed_by_their_name():
  spec = {'state': tf.TensorSpec((2,), tf.int32, name='s')}
  record = encoding.encode_example(spec, {'state': np.array([1, 2], np.int32)})
  features = parsing.create_parse_tf_example_fn(spec)([record])
  np.testing.assert_array_equal(features.state.numpy(), [[1, 2]])


# Values out of the spec dtype's range.


def _record_of(kind, values):
  example = tf.train.Example()
  getattr(example.features.feature['v'], kind).value.extend(values)
  return example.SerializeToString()


@pytest.mark.parametrize('dtype, kind, value, shown, bounds, effect', [
    (tf.int32, 'int64_list', 2**40 + 5, '1099511627781',
     r'\[-2147483648, 2147483647\]', 'wrap'),
    (tf.uint8, 'int64_list', 300, '300', r'\[0, 255\]', 'wrap'),
    (tf.int8, 'int64_list', -129, '-129', r'\[-128, 127\]', 'wrap'),
    (tf.uint16, 'int64_list', -1, '-1', r'\[0, 65535\]', 'wrap'),
    (tf.float16, 'float_list', 1e6, '1e\\+06', r'\[-65504, 65504\]',
     'become inf'),
])
@pytest.mark.parametrize('traced', [False, True])
def test_values_out_of_the_dtype_range_are_errors(dtype, kind, value, shown,
                                                  bounds, effect, traced):
  parse_fn = parsing.create_parse_tf_example_fn(
      _struct(values=Spec((2,), dtype, name='v')))
  records = [_record_of(kind, [1, 2]), _record_of(kind, [1, value])]
  message = (f'Feature `values` \\(name `v`\\) expects {dtype.name} values '
             f'in {bounds}, but record 1 of the batch holds {shown}, which '
             f'would {effect}. Fix the data, or declare a wider dtype')
  if traced:
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
      _map_over_batches(parse_fn, records, batch_size=2)
  else:
    with pytest.raises(ValueError, match=message):
      parse_fn(records)


def test_values_in_the_dtype_range_are_kept():
  parse_fn = parsing.create_parse_tf_example_fn(_struct(
      small=Spec((2,), tf.int8, name='s'),
      half=Spec((3,), tf.float16, name='h'),
      wide=Spec((1,), tf.uint64, name='w')))
  example = tf.train.Example()
  example.features.feature['s'].int64_list.value.extend([-128, 127])
  example.features.feature['h'].float_list.value.extend(
      [65504.0, -np.inf, np.nan])
  # uint64 values beyond int64 are stored as their int64 bit pattern.
  example.features.feature['w'].int64_list.value.append(-1)
  features, = _map_over_batches(parse_fn, [example.SerializeToString()],
                                batch_size=1)
  np.testing.assert_array_equal(features.small.numpy(), [[-128, 127]])
  np.testing.assert_array_equal(features.half.numpy(),
                                [[65504.0, -np.inf, np.nan]])
  assert features.wide.numpy()[0, 0] == 2**64 - 1
