"""Byte-flipped records: no crash, no hang, only clear errors or counted skips.

Each check runs in a fresh process (`subprocess_runs`), so that a segfault or
a hang fails the test instead of killing pytest.
"""

import numpy as np
import tensorflow as tf

from t2r import specs
from t2r.data import encoding
import subprocess_runs

Spec = specs.ExtendedTensorSpec

# The errors a damaged record may raise, by their start.
CLEAR_ERRORS = ('Record ', 'Feature ', 'Could not parse record ')


def feature_spec(is_sequence: bool = False) -> specs.TensorSpecStruct:
  return specs.TensorSpecStruct(
      image=Spec((4, 4, 3), tf.uint8, name='image', data_format='jpeg',
                 is_sequence=is_sequence),
      pose=Spec((3,), tf.float32, name='pose', is_sequence=is_sequence),
      step=Spec((1,), tf.int32, name='step'),
      tag=Spec((), tf.string, name='tag'))


def good_record(is_sequence: bool = False, seed: int = 0) -> bytes:
  """A record of `feature_spec` (a SequenceExample of 2 steps if asked)."""
  rng = np.random.default_rng(seed)
  steps = (2,) if is_sequence else ()
  return encoding.encode_example(feature_spec(is_sequence), {
      'image': rng.integers(0, 255, steps + (4, 4, 3), dtype=np.uint8),
      'pose': rng.normal(size=steps + (3,)).astype(np.float32),
      'step': np.array([seed], np.int32),
      'tag': b'grasp',
  })


def flipped_records(count: int, seed: int, is_sequence: bool = False):
  """`count` copies of a good record, each with 1 to 3 bytes changed."""
  rng = np.random.default_rng(seed)
  record = bytearray(good_record(is_sequence))
  damaged = []
  for _ in range(count):
    copy = bytearray(record)
    for offset in rng.integers(0, len(copy), rng.integers(1, 4)):
      copy[offset] ^= int(rng.integers(1, 256))
    damaged.append(bytes(copy))
  return damaged


# The records of the bug report: a bytes_list value declaring 2**31,
# 2**32 - 1 and (in a 10-byte varint) 2**31 bytes, holding 3.
CRASHING = [
    bytes.fromhex('0a160a140a05696d616765120b0a090a8080808008616263'),
    bytes.fromhex('0a160a140a05696d616765120b0a090affffffff0f616263'),
    bytes.fromhex(
        '0a1b0a190a05696d61676512100a0e0a80808080888080808001616263'),
]


def test_the_crashing_records_are_what_they_claim():
  for record in CRASHING:
    assert record.endswith(b'abc') and b'image' in record


def test_the_traced_parser_gives_clear_errors_only():
  output = subprocess_runs.run_python('''
      import collections
      import tensorflow as tf
      from t2r.data import parsing
      import test_fuzz_records as fuzz

      for is_sequence in (False, True):
        parse_fn = parsing.create_parse_tf_example_fn(
            fuzz.feature_spec(is_sequence))
        parse = tf.function(parse_fn, input_signature=[
            tf.TensorSpec([None], tf.string)])
        records = fuzz.flipped_records(200, seed=1, is_sequence=is_sequence)
        if not is_sequence:
          records += fuzz.CRASHING
        outcomes = collections.Counter()
        for record in records:
          try:
            parse(tf.constant([fuzz.good_record(is_sequence), record]))
            outcomes['parsed'] += 1
          except tf.errors.InvalidArgumentError as e:
            message = e.message.split('assertion failed: [')[-1]
            # TensorFlow's own parse errors name the feature too ('Feature:',
            # 'Context feature: step', 'Feature list: pose', 'Key: image').
            assert ('feature' in message.lower() or 'Key:' in message or
                    message.startswith(fuzz.CLEAR_ERRORS) or
                    'Could not parse example input' in message or
                    'Invalid JPEG data' in message or
                    'image' in message), message
            outcomes['error'] += 1
        print(is_sequence, outcomes['parsed'] + outcomes['error'],
              outcomes['error'] > 0)
  ''', timeout_secs=300).stdout
  assert output.split('\n')[:2] == ['False 203 True', 'True 200 True']


def test_the_input_generator_skips_and_counts_or_fails_clearly(tmp_path):
  output = subprocess_runs.run_python(f'''
      import tensorflow as tf
      from t2r.data import record_input_generator
      from t2r.modes import ModeKeys
      import test_fuzz_records as fuzz

      path = {str(tmp_path / 'fuzz.tfrecord')!r}
      records = ([fuzz.good_record(seed=i) for i in range(4)] +
                 fuzz.flipped_records(150, seed=2) + fuzz.CRASHING)
      with tf.io.TFRecordWriter(path) as writer:
        for record in records:
          writer.write(record)

      def generator(skip):
        generator = record_input_generator.DefaultRecordInputGenerator(
            file_patterns=path, batch_size=16, num_epochs=1,
            skip_corrupt_records=skip)
        generator.set_feature_specifications(fuzz.feature_spec())
        generator.set_label_specifications(fuzz.specs.TensorSpecStruct())
        return generator

      skipping = generator(skip=True)
      parsed = sum(int(tf.shape(features['step'])[0])
                   for features, _ in skipping.create_dataset(ModeKeys.EVAL))
      print(parsed + skipping.skipped_records == len(records),
            skipping.skipped_records >= len(fuzz.CRASHING))
      try:
        for _ in generator(skip=False).create_dataset(ModeKeys.EVAL):
          pass
      except tf.errors.InvalidArgumentError as e:
        print(e.message.split('assertion failed: [')[1][:23])
  ''', timeout_secs=300).stdout
  assert output.split('\n')[:2] == ['True True', 'Could not parse record ']
