"""Parsing batches of records: a failing batch names its file and feature."""

import numpy as np
import pytest
import tensorflow as tf

from t2r import specs
from t2r.data import corrupt_record_log
from t2r.data import encoding
from t2r.data import guarded_parsing
from t2r.data import parsing

Spec = specs.ExtendedTensorSpec


def _feature_spec(dataset_key=''):
  return specs.TensorSpecStruct(
      x=Spec((1,), tf.float32, name='x', dataset_key=dataset_key),
      image=Spec((2, 2, 3), tf.uint8, name='image', data_format='jpeg',
                 dataset_key=dataset_key))


def _record(x, image=None):
  """A record of `_feature_spec`; `image` replaces the encoded JPEG."""
  feature_spec = _feature_spec()
  if image is None:
    return encoding.encode_example(feature_spec, {
        'x': np.array([x], np.float32),
        'image': np.full((2, 2, 3), 9, np.uint8)
    })
  example = tf.train.Example()
  example.features.feature['x'].float_list.value.append(x)
  example.features.feature['image'].bytes_list.value.append(image)
  return example.SerializeToString()


def _parse(records, filenames, batch_size, skip_corrupt=False, log=None,
           num_parallel_batches=1):
  """The parsed `x` values of each batch of `parse_batches`."""
  feature_spec, label_spec = _feature_spec(), specs.TensorSpecStruct()
  dataset = tf.data.Dataset.from_tensor_slices(
      (records, filenames)).batch(batch_size)
  parsed = guarded_parsing.parse_batches(
      dataset, parsing.create_parse_tf_example_fn(feature_spec, label_spec),
      feature_spec, label_spec, present_optional_names=None,
      skip_corrupt=skip_corrupt,
      log=log or corrupt_record_log.CorruptRecordLog(),
      num_parallel_batches=num_parallel_batches, deterministic=True)
  return [features.x[:, 0].numpy().tolist() for features, _ in parsed]


def test_good_batches_are_parsed_by_the_parse_function():
  records = [_record(float(i)) for i in range(5)]
  assert _parse(records, ['a'] * 5, batch_size=2) == [[0, 1], [2, 3], [4]]


def test_parallel_batches_keep_their_order():
  records = [_record(float(i)) for i in range(12)]
  batches = _parse(records, ['a'] * 12, batch_size=2, num_parallel_batches=4)
  assert batches == [[i, i + 1] for i in range(0, 12, 2)]


def test_an_undecodable_image_fails_naming_file_feature_and_fix():
  records = [_record(1.0), _record(2.0, image=b'not a jpeg')]
  with pytest.raises(
      tf.errors.InvalidArgumentError,
      match=r"(?s)Could not parse a record of b\.tfrecord \(record 1 of its "
      r"batch; 1 bad in the batch\): feature 'image' \(name 'image'\).*"
      r'skip_corrupt_records=True'):
    _parse(records, ['a.tfrecord', 'b.tfrecord'], batch_size=2)


def test_a_record_that_is_no_example_fails_naming_its_file():
  with pytest.raises(tf.errors.InvalidArgumentError,
                     match=r'Could not parse a record of g\.tfrecord'):
    _parse([_record(1.0), b'\xff\xff\xff'], ['f.tfrecord', 'g.tfrecord'],
           batch_size=2)


def test_with_several_streams_the_failing_stream_file_is_named():
  feature_spec = specs.TensorSpecStruct(
      x=Spec((1,), tf.float32, name='x', dataset_key='state'),
      image=Spec((2, 2, 3), tf.uint8, name='image', data_format='jpeg',
                 dataset_key='camera'))
  label_spec = specs.TensorSpecStruct()
  dataset = tf.data.Dataset.from_tensors(
      ({'state': [_record(1.0)], 'camera': [_record(1.0, b'not a jpeg')]},
       {'state': ['state/a.tfrecord'], 'camera': ['camera/a.tfrecord']}))
  parsed = guarded_parsing.parse_batches(
      dataset, parsing.create_parse_tf_example_fn(feature_spec, label_spec),
      feature_spec, label_spec, present_optional_names=None,
      skip_corrupt=False, log=corrupt_record_log.CorruptRecordLog(),
      num_parallel_batches=1, deterministic=True)
  with pytest.raises(tf.errors.InvalidArgumentError,
                     match=r"record of camera/a\.tfrecord \(.*'image'"):
    list(parsed)


@pytest.mark.parametrize('batch_size, batches', [
    # Batches [bad, bad], [7, 8]: the first has nothing left and is dropped.
    (2, [[7, 8]]),
    # Batches [bad, bad, 7], [8]: the first keeps its good record.
    (3, [[7], [8]]),
])
def test_skip_mode_drops_bad_records_and_counts_them(batch_size, batches):
  records = [_record(5.0, image=b'not a jpeg'), _record(6.0, image=b''),
             _record(7.0), _record(8.0)]
  log = corrupt_record_log.CorruptRecordLog()
  assert _parse(records, ['a'] * 4, batch_size, skip_corrupt=True,
                log=log) == batches
  assert log.skipped_records == 2
