"""ExampleEncoder writes what create_parse_tf_example_fn reads back."""

import numpy as np
import pytest
import tensorflow as tf

from t2r import specs
from t2r.data import encoding
from t2r.data import parsing

Spec = specs.ExtendedTensorSpec


def _round_trip(spec, features_list, label_spec=None, labels_list=None):
  """Encodes each example, parses them as one batch."""
  encoder = encoding.ExampleEncoder(spec, label_spec)
  labels_list = labels_list or [None] * len(features_list)
  records = [
      encoder.encode(features, labels)
      for features, labels in zip(features_list, labels_list)
  ]
  parsed = parsing.create_parse_tf_example_fn(spec, label_spec)(records)
  # Without a label spec the parse function returns the features alone.
  return parsed if label_spec is not None else (parsed, None)


def _struct(**entries):
  return specs.TensorSpecStruct(entries)


@pytest.mark.parametrize('dtype', [
    tf.float32, tf.int64, tf.string, tf.int32, tf.int16, tf.uint8, tf.uint16,
    tf.bool, tf.float16, tf.bfloat16, tf.float64
])
def test_round_trip_preserves_values_and_dtype(dtype):
  spec = _struct(x=Spec((2, 3), dtype, name='x'))
  values = specs.make_random_numpy(spec, batch_size=2, seed=1)
  if dtype == tf.float64:
    # Records store float32: float64 round-trips values float32 can hold.
    values.x = values.x.astype(np.float32).astype(np.float64)
  features, labels = _round_trip(
      spec, [{'x': values.x[i]} for i in range(2)])
  assert labels is None
  assert features.x.dtype == dtype
  assert features.x.shape == (2, 2, 3)
  np.testing.assert_array_equal(features.x.numpy(), values.x)


def test_round_trip_of_features_and_labels_sharing_a_name():
  shared = Spec((2,), tf.float32, name='action')
  feature_spec = _struct(action=shared, state=Spec((1,), tf.int64, name='s'))
  label_spec = _struct(target=shared)
  action = np.array([0.5, -1.0], np.float32)
  features, labels = _round_trip(
      feature_spec, [{'action': action, 'state': np.array([3])}], label_spec,
      [{'target': action}])
  np.testing.assert_array_equal(features.action.numpy()[0], action)
  np.testing.assert_array_equal(labels.target.numpy()[0], action)


def test_encoder_accepts_a_flat_tensor_spec_struct_of_values():
  spec = _struct(state=Spec((2,), tf.float32, name='s'))
  values = specs.TensorSpecStruct({'state': np.ones(2, np.float32)})
  record = encoding.encode_example(spec, values)
  assert tf.train.Example.FromString(record).features.feature[
      's'].float_list.value == [1.0, 1.0]


@pytest.mark.parametrize('data_format, dtype, channels', [
    ('png', tf.uint8, 3),
    ('png', tf.uint8, 1),
    ('png', tf.uint16, 3),
    ('png', tf.uint16, 1),
])
def test_png_round_trip_is_exact(data_format, dtype, channels):
  spec = _struct(image=Spec((5, 7, channels), dtype, data_format=data_format))
  rng = np.random.default_rng(0)
  pixels = rng.integers(0, int(dtype.max) + 1, size=(5, 7, channels)).astype(
      dtype.as_numpy_dtype)
  features, _ = _round_trip(spec, [{'image': pixels}])
  assert features.image.dtype == dtype
  np.testing.assert_array_equal(features.image.numpy()[0], pixels)


def test_jpeg_round_trip_is_close():
  spec = _struct(image=Spec((16, 16, 3), tf.uint8, data_format='jpeg'))
  # A smooth gradient: JPEG at quality 95 keeps it within a few levels.
  gradient = np.linspace(0, 255, 16 * 16 * 3).reshape(16, 16, 3)
  pixels = gradient.astype(np.uint8)
  features, _ = _round_trip(spec, [{'image': pixels}])
  error = np.abs(features.image.numpy()[0].astype(int) - pixels.astype(int))
  assert error.mean() < 3


def test_jpeg_quality_changes_the_encoding():
  spec = _struct(image=Spec((16, 16, 3), tf.uint8, data_format='jpeg'))
  noise = np.random.default_rng(0).integers(0, 256, (16, 16, 3), np.uint8)
  low = encoding.encode_example(spec, {'image': noise}, jpeg_quality=10)
  high = encoding.encode_example(spec, {'image': noise}, jpeg_quality=95)
  assert len(low) < len(high)


def test_stack_of_images_round_trips_as_several_strings():
  spec = _struct(views=Spec((3, 4, 4, 1), tf.uint8, data_format='png'))
  pixels = np.arange(48, dtype=np.uint8).reshape(3, 4, 4, 1)
  record = encoding.encode_example(spec, {'views': pixels})
  stored = tf.train.Example.FromString(record).features.feature['views']
  assert len(stored.bytes_list.value) == 3
  features = parsing.create_parse_tf_example_fn(spec)([record, record])
  np.testing.assert_array_equal(features.views.numpy(),
                                np.stack([pixels, pixels]))


def test_sequence_example_round_trip_pads_to_the_longest_sequence():
  spec = _struct(
      goal=Spec((2,), tf.float32, name='goal'),
      action=Spec((2,), tf.float32, name='action', is_sequence=True),
      image=Spec((4, 4, 3), tf.uint8, name='image', data_format='png',
                 is_sequence=True))
  episodes = []
  for length in (3, 1):
    episodes.append({
        'goal': np.full(2, length, np.float32),
        'action': np.arange(length * 2, dtype=np.float32).reshape(length, 2),
        'image': np.full((length, 4, 4, 3), 7 * length, np.uint8),
    })
  encoder = encoding.ExampleEncoder(spec)
  records = [encoder.encode(episode) for episode in episodes]
  tf.train.SequenceExample.FromString(records[0])  # The stored record type.
  features = parsing.create_parse_tf_example_fn(spec)(records)

  assert list(features.keys()) == [
      'goal', 'action', 'action_length', 'image', 'image_length'
  ]
  np.testing.assert_array_equal(features.action_length.numpy(), [3, 1])
  np.testing.assert_array_equal(features.image_length.numpy(), [3, 1])
  np.testing.assert_array_equal(features.goal.numpy(), [[3, 3], [1, 1]])
  assert features.action.shape == (2, 3, 2)
  np.testing.assert_array_equal(features.action.numpy()[1],
                                [[0, 1], [0, 0], [0, 0]])
  assert features.image.shape == (2, 3, 4, 4, 3)
  np.testing.assert_array_equal(features.image.numpy()[0], episodes[0]['image'])
  # Padded timesteps hold empty strings, which decode to zero images.
  np.testing.assert_array_equal(features.image.numpy()[1, 1:], 0)


def test_declared_length_specs_are_computed_not_read():
  spec = specs.add_sequence_length_specs(
      _struct(action=Spec((1,), tf.int64, name='a', is_sequence=True)))
  record = encoding.encode_example(spec, {'action': np.ones((2, 1), np.int64)})
  features = parsing.create_parse_tf_example_fn(spec)([record])
  assert list(features.keys()) == ['action', 'action_length']
  np.testing.assert_array_equal(features.action_length.numpy(), [2])


@pytest.mark.parametrize('given, expected', [
    ([1, 2], [1, 2, -1, -1]),
    ([1, 2, 3, 4, 5, 6], [1, 2, 3, 4]),
    ([], [-1, -1, -1, -1]),
])
def test_varlen_numbers_are_padded_or_clipped(given, expected):
  spec = _struct(items=Spec((4,), tf.int32, varlen_default_value=-1))
  record = encoding.encode_example(spec,
                                   {'items': np.array(given, np.int32)})
  features = parsing.create_parse_tf_example_fn(spec)([record])
  assert features['items'].dtype == tf.int32
  np.testing.assert_array_equal(features['items'].numpy()[0], expected)


def test_varlen_accepts_a_python_list():
  spec = _struct(items=Spec((3,), tf.float32, varlen_default_value=0.5))
  record = encoding.encode_example(spec, {'items': [1.0]})
  other = encoding.encode_example(spec, {'items': [1, 2, 3, 4]})
  features = parsing.create_parse_tf_example_fn(spec)([record, other])
  np.testing.assert_array_equal(features['items'].numpy(),
                                [[1.0, 0.5, 0.5], [1.0, 2.0, 3.0]])


@pytest.mark.parametrize('count', [1, 3, 5])
def test_varlen_images_are_padded_with_zero_images_or_clipped(count):
  spec = _struct(
      frames=Spec((3, 2, 2, 1), tf.uint8, data_format='png',
                  varlen_default_value=0))
  pixels = (np.arange(count, dtype=np.uint8) + 1)[:, None, None, None] * \
      np.ones((count, 2, 2, 1), np.uint8)
  record = encoding.encode_example(spec, {'frames': pixels})
  features = parsing.create_parse_tf_example_fn(spec)([record])
  frames = features.frames.numpy()[0]
  assert frames.shape == (3, 2, 2, 1)
  kept = min(count, 3)
  np.testing.assert_array_equal(frames[:kept], pixels[:kept])
  np.testing.assert_array_equal(frames[kept:], 0)


def test_varlen_sequence_feature_is_padded_per_timestep():
  spec = _struct(
      items=Spec((2,), tf.int64, is_sequence=True, varlen_default_value=9))
  encoder = encoding.ExampleEncoder(spec)
  first = encoder.encode({'items': [[1], [2, 3, 4]]})
  second = encoder.encode({'items': [[5]]})
  features = parsing.create_parse_tf_example_fn(spec)([first, second])
  np.testing.assert_array_equal(features['items'].numpy(),
                                [[[1, 9], [2, 3]], [[5, 9], [9, 9]]])
  np.testing.assert_array_equal(features.items_length.numpy(), [2, 1])


def test_multi_dataset_specs_encode_and_parse_one_stream_per_key():
  spec = _struct(
      state=Spec((1,), tf.float32, name='state', dataset_key='robot'),
      label=Spec((), tf.int64, name='label', dataset_key='human'))
  encoder = encoding.ExampleEncoder(spec)
  assert encoder.dataset_keys == ['robot', 'human']
  records = encoder.encode_by_dataset_key({
      'state': np.array([2.5], np.float32),
      'label': np.array(7)
  })
  assert set(records) == {'robot', 'human'}
  assert 'label' not in tf.train.Example.FromString(
      records['robot']).features.feature
  features = parsing.create_parse_tf_example_fn(spec)(
      {key: [record] for key, record in records.items()})
  np.testing.assert_array_equal(features.state.numpy(), [[2.5]])
  np.testing.assert_array_equal(features.label.numpy(), [7])


def test_multi_dataset_encode_needs_a_dataset_key():
  spec = _struct(
      a=Spec((1,), tf.float32, dataset_key='x'),
      b=Spec((1,), tf.float32, dataset_key='y'))
  with pytest.raises(ValueError, match='pass dataset_key'):
    encoding.ExampleEncoder(spec).encode({'a': np.zeros(1, np.float32)})


def test_optional_values_may_be_absent():
  spec = _struct(
      state=Spec((1,), tf.float32, name='s'),
      extra=Spec((1,), tf.float32, name='e', is_optional=True))
  record = encoding.encode_example(spec, {'state': np.zeros(1, np.float32)})
  assert set(tf.train.Example.FromString(record).features.feature) == {'s'}


@pytest.mark.parametrize('value, match', [
    (np.zeros((2, 2), np.float32), r"'state' \(name 's'\) expects \(3,\) "
     r'float32 but got \(2, 2\) float32'),
    (np.zeros(4, np.float32), r'expects \(3,\) float32 but got \(4,\)'),
    (np.zeros(3, np.float64), 'cast it to float32'),
    (np.zeros(3, np.int64), 'cast it to float32'),
    (np.zeros((1, 3), np.float32), 'looks like a batch'),
])
def test_encoder_rejects_values_not_matching_the_spec(value, match):
  spec = _struct(state=Spec((3,), tf.float32, name='s'))
  with pytest.raises(ValueError, match=match):
    encoding.encode_example(spec, {'state': value})


def test_encoder_rejects_an_image_of_the_wrong_size():
  spec = _struct(image=Spec((4, 4, 3), tf.uint8, data_format='jpeg'))
  with pytest.raises(ValueError, match=r'expects \(4, 4, 3\) uint8'):
    encoding.encode_example(spec, {'image': np.zeros((4, 5, 3), np.uint8)})


def test_encoder_reports_a_missing_required_value():
  spec = _struct(state=Spec((3,), tf.float32, name='s'))
  with pytest.raises(ValueError, match=r"Required spec 'state' \(name 's'\)"):
    encoding.encode_example(spec, {'other': np.zeros(3, np.float32)})


def test_encoder_rejects_different_values_for_one_name():
  shared = Spec((1,), tf.float32, name='a')
  with pytest.raises(ValueError, match="'a' and 'b' in labels share the name"):
    encoding.encode_example(
        _struct(a=shared), {'a': np.zeros(1, np.float32)},
        label_spec=_struct(b=shared), labels={'b': np.ones(1, np.float32)})


def test_encoder_rejects_jpeg_with_four_channels():
  spec = _struct(image=Spec((4, 4, 4), tf.uint8, data_format='jpeg'))
  with pytest.raises(ValueError, match='JPEG holds 1 or 3'):
    encoding.ExampleEncoder(spec)


def test_varlen_image_sequence_pads_images_per_timestep():
  spec = _struct(
      frames=Spec((2, 2, 2, 1), tf.uint8, data_format='png', is_sequence=True,
                  varlen_default_value=0))
  one, two = np.full((1, 2, 2, 1), 1, np.uint8), np.full((2, 2, 2, 1), 2,
                                                          np.uint8)
  record = encoding.encode_example(spec, {'frames': [one, two]})
  features = parsing.create_parse_tf_example_fn(spec)([record])
  frames = features.frames.numpy()
  assert frames.shape == (1, 2, 2, 2, 2, 1)
  np.testing.assert_array_equal(frames[0, :, :, 0, 0, 0], [[1, 0], [2, 2]])
  np.testing.assert_array_equal(features.frames_length.numpy(), [2])


@pytest.mark.parametrize('spec, value, error, match', [
    # Images given as Python lists: 300 wrapped to 44 and -1 to 255.
    (Spec((1, 2, 1), tf.uint8, name='image', data_format='png'),
     [[[300], [0]]], ValueError,
     r"'x' \(name 'image'\) holds uint8 values in \[0, 255\], but got 300 at "
     r'index \(0, 0, 0\)'),
    (Spec((1, 2, 1), tf.uint8, name='image', data_format='png'),
     [[[0], [-1]]], ValueError, r'uint8 values in \[0, 255\], but got -1'),
    # 2**40 + 5 stored 5.
    (Spec((), tf.int32, name='count'), 2**40 + 5, ValueError,
     r"'x' \(name 'count'\) holds int32 values in \[-2147483648, "
     r'2147483647\], but got 1099511627781'),
    (Spec((2,), tf.int64), [1, 2**70], ValueError,
     r"'x' holds int64 values .* but got 1180591620717411303424 at index "
     r'\(1,\)'),
    # 1e40 stored inf.
    (Spec((), tf.float32, name='f'), 1e40, ValueError,
     r"'x' \(name 'f'\) holds float32 values of magnitude at most "
     r'3.4028235e\+38, but got 1e\+40 \(it would be stored as inf\)'),
    (Spec((), tf.float16), 70000, ValueError,
     r'float16 values of magnitude at most 65504, but got 70000'),
    (Spec((), tf.float64), np.float64(1e40), ValueError,
     'records store floats as float32'),
    # The int 5 stored five zero bytes.
    (Spec((), tf.string, name='s'), 5, TypeError,
     r"'x' \(name 's'\) holds strings \(str or bytes\), but got int 5"),
    (Spec((2,), tf.string), np.array([1, 2]), TypeError,
     r'got int 1 at index \(0,\)'),
])
def test_values_that_the_record_cannot_hold_are_errors(spec, value, error,
                                                        match):
  with pytest.raises(error, match=match):
    encoding.encode_example(_struct(x=spec), {'x': value})


@pytest.mark.parametrize('spec, value, expected', [
    (Spec((2,), tf.uint8), [0, 255], [0, 255]),
    (Spec((2,), tf.int32), [-2**31, 2**31 - 1], [-2**31, 2**31 - 1]),
    (Spec((3,), tf.float32), [float('inf'), -float('inf'), 3.4e38],
     np.array([np.inf, -np.inf, 3.4e38], np.float32)),
    (Spec((), tf.string), 'text', b'text'),
])
def test_values_at_the_ends_of_the_range_round_trip(spec, value, expected):
  features, _ = _round_trip(_struct(x=spec), [{'x': value}])
  np.testing.assert_array_equal(features['x'].numpy()[0], expected)


@pytest.mark.parametrize('features, labels, match', [
    ({'state': np.zeros(1, np.float32), 'extar': np.zeros(1, np.float32)},
     None, r"The features given hold \['extar'\], which no spec declares; "
     r"the specs declare the features \['extra', 'nested/a', 'state'\]"),
    ({'state': np.zeros(1, np.float32), 'nested': {'b': np.zeros(1)}}, None,
     r"hold \['nested/b'\]"),
    ({'state': np.zeros(1, np.float32)}, {'reward': 1.0},
     "hold \\['reward'\\], which no spec declares; the encoder has no "
     'label_spec'),
])
def test_keys_that_no_spec_declares_are_errors(features, labels, match):
  spec = _struct(
      state=Spec((1,), tf.float32, name='s'),
      extra=Spec((1,), tf.float32, name='e', is_optional=True))
  spec['nested/a'] = Spec((1,), tf.float32, name='a', is_optional=True)
  with pytest.raises(ValueError, match=match):
    encoding.ExampleEncoder(spec).encode(features, labels)


def test_nested_and_flat_keys_of_declared_specs_are_accepted():
  spec = specs.TensorSpecStruct({
      'features/state': Spec((1,), tf.float32, name='s'),
      'features/extra/a': Spec((1,), tf.float32, name='a', is_optional=True),
  })
  values = {'features': {'state': np.zeros(1, np.float32),
                         'extra/a': None}}
  record = encoding.encode_example(spec, values)
  assert set(tf.train.Example.FromString(record).features.feature) == {'s'}


def _state_example(values, kind='float_list'):
  example = tf.train.Example()
  getattr(example.features.feature['s'], kind).value.extend(values)
  return example.SerializeToString()


def test_check_serialized_accepts_records_that_parse():
  spec = _struct(state=Spec((2,), tf.float32, name='s'))
  encoder = encoding.ExampleEncoder(spec)
  encoder.check_serialized(
      [encoder.encode({'state': np.ones(2, np.float32)}),
       _state_example([1.0, 2.0])])


@pytest.mark.parametrize('record, match', [
    (b'raw bytes', 'Record 1 is not a serialized Example'),
    (tf.train.Example().SerializeToString(),
     r"Record 1 has no feature 's', which the required spec 'state'"),
    (_state_example([1, 2], 'int64_list'),
     r"does not parse by the specs: Key: s, Index: 1\. Data types don't "
     'match'),
    (_state_example([1.0, 2.0, 3.0]),
     r'Key: s, Index: 1\. Number of float values != expected'),
])
def test_check_serialized_rejects_records_that_do_not_parse(record, match):
  spec = _struct(state=Spec((2,), tf.float32, name='s'))
  with pytest.raises(ValueError, match=match):
    encoding.ExampleEncoder(spec).check_serialized(
        [_state_example([0.0, 0.0]), record])


def test_check_serialized_checks_one_stream_of_several():
  spec = _struct(
      state=Spec((1,), tf.float32, name='s', dataset_key='robot'),
      image=Spec((2, 2, 1), tf.uint8, name='i', data_format='png',
                 dataset_key='camera'))
  encoder = encoding.ExampleEncoder(spec)
  encoder.check_serialized([_state_example([1.0])], 'robot')
  with pytest.raises(ValueError, match="has no feature 'i'"):
    encoder.check_serialized([_state_example([1.0])], 'camera')
