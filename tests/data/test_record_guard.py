"""Records whose wire format would crash TensorFlow's parser are rejected."""

import numpy as np
import pytest
import tensorflow as tf

from t2r.data import record_guard
import subprocess_runs

# Declared lengths of a 3-byte bytes_list value that crash ParseExampleV2:
# 2**31, 2**32 - 1, and 2**31 in a 10-byte varint (its low 32 bits).
_CRASHING_LENGTHS = {
    '2**31': '8080808008',
    '2**32-1': 'ffffffff0f',
    '10-byte varint': '80808080888080808001',
}


def _varint(value: int) -> bytes:
  encoded = bytearray()
  while True:
    byte, value = value & 0x7F, value >> 7
    encoded.append(byte | (0x80 if value else 0))
    if not value:
      return bytes(encoded)


def _field(number: int, payload: bytes, length: bytes = None) -> bytes:
  """A length-delimited protobuf field; `length` replaces its true length."""
  return bytes([number << 3 | 2]) + (
      _varint(len(payload)) if length is None else length) + payload


def example(value_length: bytes = None) -> bytes:
  """A tf.train.Example {'image': [b'abc']}, declaring `value_length`."""
  feature = _field(1, _field(1, b'abc', value_length))
  return _field(1, _field(1, _field(1, b'image') + _field(2, feature)))


def two_lists_example() -> bytes:
  """An Example whose Feature holds two bytes_lists, the first crashing.

  (The parser reads the first list of a Feature; a decoded Feature shows
  the last.)
  """
  crashing = _field(1, b'abc', bytes.fromhex(_CRASHING_LENGTHS['2**31']))
  feature = _field(1, crashing) + _field(1, _field(1, b'abc'))
  return _field(1, _field(1, _field(1, b'image') + _field(2, feature)))


def sequence_example(value_length: bytes = None) -> bytes:
  """A SequenceExample with a feature list 'steps' of one [b'abc'] step."""
  feature = _field(1, _field(1, b'abc', value_length))
  return _field(2, _field(1, _field(1, b'steps') + _field(
      2, _field(1, feature))))


def test_the_records_built_here_are_what_they_claim():
  assert tf.train.Example.FromString(example()).features.feature[
      'image'].bytes_list.value == [b'abc']
  assert tf.train.SequenceExample.FromString(
      sequence_example()).feature_lists.feature_list['steps'].feature[
          0].bytes_list.value == [b'abc']
  # The record of the bug report.
  assert example(bytes.fromhex('8080808008')) == bytes.fromhex(
      '0a160a140a05696d616765120b0a090a8080808008616263')


@pytest.mark.parametrize('length', _CRASHING_LENGTHS.values(),
                         ids=_CRASHING_LENGTHS.keys())
def test_records_that_would_crash_the_parser_are_invalid(length):
  records = tf.constant([example(), example(bytes.fromhex(length)),
                         b'\xff\xff\xff', example()[:-1], b''])
  assert record_guard.valid_records(records, False).numpy().tolist() == [
      True, False, False, False, True]
  assert not record_guard.is_valid(records, False)
  assert record_guard.is_valid(records[:1], False)


def test_fields_that_the_fast_parser_rejects_are_invalid():
  # The protobuf parser accepts unknown fields; TensorFlow's fast parser
  # fails on them in Features and entries, quoting the raw bytes (which
  # Python may not decode). At the top level it would skip them, and merge
  # a repeated `features`, of which decode_proto shows only the last.
  unknown_field = bytes([8 << 3 | 5]) + b'\x00\xff\x00\xff'
  entry = _field(1, b'image') + _field(2, _field(1, _field(1, b'abc')))
  records = tf.constant([
      example() + unknown_field,
      _field(1, _field(1, entry) + unknown_field),
      _field(1, _field(1, entry + unknown_field)),
      # An entry without its key.
      _field(1, _field(1, _field(2, _field(1, _field(1, b'abc'))))),
      # An empty Example is fine.
      b'',
  ])
  for record in records.numpy()[:3]:
    tf.train.Example.FromString(record)
  assert record_guard.valid_records(records, False).numpy().tolist() == [
      False, False, False, False, True]


def test_only_the_layout_that_serializers_write_is_valid():
  entry = _field(1, b'image') + _field(2, _field(1, _field(1, b'abc')))
  assert record_guard.valid_records(tf.constant([
      _field(1, _field(1, entry)),
      two_lists_example(),
      # A bytes_list and a float_list in one Feature.
      _field(1, _field(1, _field(1, b'image') + _field(2, _field(
          1, _field(1, b'abc')) + _field(2, b'')))),
      # A length in a 2-byte varint where 1 byte does.
      _field(1, _field(1, _field(1, b'image') + _field(2, _field(
          1, _field(1, b'abc', bytes.fromhex('8300')))))),
      # A 2-byte tag for field 1 of the BytesList.
      _field(1, _field(1, _field(1, b'image') + _field(2, _field(
          1, bytes.fromhex('8a00') + _varint(3) + b'abc')))),
  ]), False).numpy().tolist() == [True, False, False, False, False]


def _corpus(is_sequence_example: bool) -> list:
  """Records of several layouts, and copies with 1 to 3 bytes changed."""
  if is_sequence_example:
    record = tf.train.SequenceExample()
    record.context.feature['id'].int64_list.value.append(7)
    for step in range(3):
      record.feature_lists.feature_list['image'].feature.add(
      ).bytes_list.value.extend([b'jpeg%d' % step, b''])
      record.feature_lists.feature_list['pose'].feature.add(
      ).float_list.value.extend([0.5, step])
  else:
    record = tf.train.Example()
    features = record.features.feature
    features['image'].bytes_list.value.extend([b'abc', b'', b'x' * 200])
    features['pose'].float_list.value.extend([1.0, 2.0])
    features['step'].int64_list.value.extend([1, 300])
    features[''].bytes_list.value.append(b'tag')
    features['empty'].Clear()
  good = record.SerializeToString()
  rng = np.random.default_rng(0)
  records = [good, b'']
  for _ in range(300):
    damaged = bytearray(good)
    for offset in rng.integers(0, len(damaged), rng.integers(1, 4)):
      damaged[offset] ^= int(rng.integers(1, 256))
    records.append(bytes(damaged))
  if not is_sequence_example:
    records += [example(bytes.fromhex(length))
                for length in _CRASHING_LENGTHS.values()]
  return records


@pytest.mark.parametrize('is_sequence_example', [False, True])
def test_walked_and_decoded_records_are_judged_alike(is_sequence_example,
                                                     monkeypatch):
  # Records with longer lists than the walk reads are decoded instead.
  records = tf.constant(_corpus(is_sequence_example))
  walked = record_guard.valid_records(records, is_sequence_example).numpy()
  monkeypatch.setattr(record_guard, '_MOST_FIELDS', 0)
  monkeypatch.setattr(record_guard, '_MOST_VALUES', 0)
  decoded = record_guard.valid_records(records, is_sequence_example).numpy()
  assert walked.tolist() == decoded.tolist()
  assert 0 < walked.sum() < len(walked) - 10


def test_records_with_long_lists_are_checked_to_their_end():
  values = b''.join(_field(1, b'v%d' % i) for i in range(300))
  crashing = _field(1, b'abc', bytes.fromhex(_CRASHING_LENGTHS['2**31']))
  entries = b''.join(_field(1, _field(1, b'f%d' % i) + _field(2, _field(
      1, _field(1, b'abc')))) for i in range(300))
  last_entry = _field(1, _field(1, b'image') + _field(2, _field(1, crashing)))
  records = tf.constant([
      _field(1, _field(1, _field(1, b'tokens') + _field(2, _field(
          1, values)))),
      _field(1, _field(1, _field(1, b'tokens') + _field(2, _field(
          1, values + crashing)))),
      _field(1, entries),
      _field(1, entries + last_entry),
  ])
  assert len(tf.train.Example.FromString(
      records.numpy()[2]).features.feature) == 300
  assert record_guard.valid_records(records, False).numpy().tolist() == [
      True, False, True, False]
  assert record_guard.is_valid(records[::2], False)


def test_sequence_examples_are_checked_through_their_feature_lists():
  records = tf.constant([
      sequence_example(),
      sequence_example(bytes.fromhex(_CRASHING_LENGTHS['2**31']))
  ])
  assert record_guard.valid_records(records, True).numpy().tolist() == [
      True, False]


def test_an_empty_batch_is_valid():
  assert record_guard.is_valid(tf.zeros([0], tf.string), False)
  assert record_guard.valid_records(tf.zeros([0], tf.string),
                                    False).shape == (0,)


def test_a_traced_check_fails_naming_the_first_broken_record():

  @tf.function
  def check(records):
    with tf.control_dependencies([record_guard.check_wire_format(
        records, False, 'of the batch')]):
      return tf.identity(records)

  assert check(tf.constant([example()])).shape == (1,)
  with pytest.raises(
      tf.errors.InvalidArgumentError,
      match=r'Record 1 of the batch is not a valid serialized '
      r'tf\.train\.Example: its protobuf wire format is broken'):
    check(tf.constant([example(), example(bytes.fromhex('8080808008'))]))


def test_a_traced_parse_of_crashing_records_fails_cleanly():
  # In a fresh process: without the guard, the parse op segfaults.
  output = subprocess_runs.run_python(f'''
      import tensorflow as tf
      from t2r import specs
      from t2r.data import parsing
      import test_record_guard as records

      spec = specs.TensorSpecStruct(image=specs.ExtendedTensorSpec(
          (), tf.string, name='image'))
      parse_fn = parsing.create_parse_tf_example_fn(spec)
      serve = tf.function(parse_fn, input_signature=[
          tf.TensorSpec([None], tf.string)])
      for crashing in [records.example(bytes.fromhex(length)) for length in
                       {list(_CRASHING_LENGTHS.values())}] + [
                           records.two_lists_example()]:
        batch = [records.example(), crashing]
        for name, parse in [
            ('map', lambda: list(tf.data.Dataset.from_tensors(batch).map(
                parse_fn))),
            ('function', lambda: serve(tf.constant(batch)))]:
          try:
            parse()
            print(name, 'parsed')
          except tf.errors.InvalidArgumentError as e:
            print(name, 'Record 1 of the batch is not a valid' in e.message)
      print(serve(tf.constant([records.example()]))['image'].numpy())
  ''').stdout
  assert output.split('\n')[:-2] == ['map True', 'function True'] * 4
  assert output.split('\n')[-2] == "[b'abc']"


def test_try_map_and_passing_tell_elements_apart():
  values = tf.constant([1.0, -1.0, 4.0])

  def root(value):
    with tf.control_dependencies([tf.debugging.assert_non_negative(value)]):
      return tf.sqrt(value)

  assert record_guard.try_map(root, values, tf.constant(-7.0)).numpy(
  ).tolist() == [1.0, -7.0, 2.0]
  assert record_guard.passing(root, values).numpy().tolist() == [
      True, False, True]
  assert record_guard.passing(root, values[:0]).shape == (0,)


def test_require_raises_eagerly_and_asserts_in_graphs():
  with pytest.raises(ValueError, match='^Nothing fits$'):
    record_guard.require(tf.constant(False), lambda: tf.constant(
        'Nothing fits'))
  assert record_guard.require(tf.constant(True), lambda: tf.constant(
      'unused')) is None

  @tf.function
  def check(condition):
    with tf.control_dependencies([record_guard.require(
        condition, lambda: tf.constant('Nothing fits'))]):
      return tf.constant(1)

  assert check(tf.constant(True)) == 1
  with pytest.raises(tf.errors.InvalidArgumentError, match='Nothing fits'):
    check(tf.constant(False))
