"""Parsing batches of records: a failing record names its file and feature."""

import numpy as np
import pytest
import tensorflow as tf

from t2r import specs
from t2r.data import corrupt_record_log
from t2r.data import encoding
from t2r.data import guarded_parsing
from t2r.data import parsing
import subprocess_runs

Spec = specs.ExtendedTensorSpec


def _feature_spec(dataset_key=''):
  return specs.TensorSpecStruct(
      x=Spec((1,), tf.float32, name='x', dataset_key=dataset_key),
      image=Spec((2, 2, 3), tf.uint8, name='image', data_format='jpeg',
                 dataset_key=dataset_key))


def _label_spec():
  return specs.TensorSpecStruct(
      y=Spec((2,), tf.uint8, name='y'))


def _record(x, image=None, y=(1, 2), y_kind='int64_list'):
  """A record of the specs; `image` replaces the JPEG, `y` the label."""
  if image is None:
    image = encoding.encode_example(
        _feature_spec(), {'x': np.array([x], np.float32),
                          'image': np.full((2, 2, 3), 9, np.uint8)})
    image = tf.train.Example.FromString(image).features.feature[
        'image'].bytes_list.value[0]
  example = tf.train.Example()
  example.features.feature['x'].float_list.value.append(x)
  example.features.feature['image'].bytes_list.value.append(image)
  if y is not None:
    getattr(example.features.feature['y'], y_kind).value.extend(y)
  return example.SerializeToString()


def _where(names):
  return [f'record {index} of {name}' for index, name in enumerate(names)]


def _parsed(records, names, batch_size, skip_corrupt=False, log=None,
            num_parallel_batches=1):
  feature_spec, label_spec = _feature_spec(), _label_spec()
  dataset = tf.data.Dataset.from_tensor_slices(
      (records, _where(names))).batch(batch_size)
  return guarded_parsing.parse_batches(
      dataset, parsing.create_parse_tf_example_fn(feature_spec, label_spec),
      feature_spec, label_spec, present_optional_names=None,
      skip_corrupt=skip_corrupt,
      log=log or corrupt_record_log.CorruptRecordLog(),
      num_parallel_batches=num_parallel_batches, deterministic=True)


def _parse(records, names, batch_size, **kwargs):
  """The parsed `x` values of each batch of `parse_batches`."""
  return [features.x[:, 0].numpy().tolist()
          for features, _ in _parsed(records, names, batch_size, **kwargs)]


def test_good_batches_are_parsed_by_the_parse_function():
  records = [_record(float(i)) for i in range(5)]
  assert _parse(records, ['a'] * 5, batch_size=2) == [[0, 1], [2, 3], [4]]


def test_parallel_batches_keep_their_order():
  records = [_record(float(i)) for i in range(12)]
  batches = _parse(records, ['a'] * 12, batch_size=2, num_parallel_batches=4)
  assert batches == [[i, i + 1] for i in range(0, 12, 2)]


@pytest.mark.parametrize('bad, reason', [
    (_record(2.0, image=b'not a jpeg'),
     r'feature `image` \(name `image`\) does not decode to a \(2, 2, 3\) '
     r'uint8 JPEG image'),
    (b'\xff\xff\xff',
     r'it is not a valid serialized tf\.train\.Example: its protobuf wire '
     r'format is broken'),
    (_record(2.0, y=None),
     r'label `y` \(name `y`\) is missing: the record has no feature `y`'),
    (_record(2.0, y=(1,)),
     r'label `y` \(name `y`\) holds 1 values, but the spec expects 2 '
     r'\(stored shape \(2,\)\)'),
    (_record(2.0, y=(1.0, 2.0), y_kind='float_list'),
     r'label `y` \(name `y`\) is not stored as the int64_list the spec '
     r'reads'),
    (_record(2.0, y=(300, 2)),
     r'label `y` \(name `y`\) holds 300, outside the uint8 range \[0, 255\]'),
], ids=['not_a_jpeg', 'broken_wire_format', 'missing_label', 'too_few_values',
        'wrong_list_kind', 'out_of_range'])  # Stable ids for pytest-xdist.
def test_a_bad_record_fails_naming_record_file_feature_and_fix(bad, reason):
  records = [_record(1.0), bad, _record(3.0)]
  with pytest.raises(
      tf.errors.InvalidArgumentError,
      match=r'Could not parse record 1 of b\.tfrecord \(1 bad in its '
      f'batch\\): {reason}.*skip_corrupt_records=True'):
    _parse(records, ['a.tfrecord', 'b.tfrecord', 'c.tfrecord'], batch_size=3)


def test_every_failing_spec_of_a_record_is_named():
  records = [_record(2.0, image=b'not a jpeg', y=None)]
  with pytest.raises(tf.errors.InvalidArgumentError,
                     match=r"feature `image`.*; label `y` \(name `y`\) is "
                     'missing'):
    _parse(records, ['a.tfrecord'], batch_size=1)


def test_with_several_streams_the_failing_stream_file_is_named():
  feature_spec = specs.TensorSpecStruct(
      x=Spec((1,), tf.float32, name='x', dataset_key='state'),
      image=Spec((2, 2, 3), tf.uint8, name='image', data_format='jpeg',
                 dataset_key='camera'))
  dataset = tf.data.Dataset.from_tensors(
      ({'state': [_record(1.0)], 'camera': [_record(1.0, b'not a jpeg')]},
       {'state': ['record 0 of state/a.tfrecord'],
        'camera': ['record 0 of camera/a.tfrecord']}))
  parsed = guarded_parsing.parse_batches(
      dataset, parsing.create_parse_tf_example_fn(feature_spec),
      feature_spec, None, present_optional_names=None,
      skip_corrupt=False, log=corrupt_record_log.CorruptRecordLog(),
      num_parallel_batches=1, deterministic=True)
  with pytest.raises(tf.errors.InvalidArgumentError,
                     match=r'record 0 of camera/a\.tfrecord \(.*`image`'):
    list(parsed)


@pytest.mark.parametrize('batch_size, batches', [
    # Batches [bad, bad], [7, 8]: the first has nothing left and is dropped.
    (2, [[7, 8]]),
    # Batches [bad, bad, 7], [8]: the first keeps its good record.
    (3, [[7], [8]]),
])
def test_skip_mode_drops_bad_records_and_counts_them(batch_size, batches,
                                                     capfd):
  records = [_record(5.0, image=b'not a jpeg'), _record(6.0, y=None),
             _record(7.0), _record(8.0)]
  log = corrupt_record_log.CorruptRecordLog()
  assert _parse(records, ['a'] * 4, batch_size, skip_corrupt=True,
                log=log) == batches
  assert log.skipped_records == 2
  logged = capfd.readouterr().err
  assert ('Skipped corrupt record 0 of a: feature `image` (name `image`) '
          'does not decode') in logged
  assert ('Skipped corrupt record 1 of a: label `y` (name `y`) is missing'
          in logged)


def test_a_record_skipped_in_every_epoch_counts_once():
  log = corrupt_record_log.CorruptRecordLog()
  records = [_record(1.0), _record(2.0, y=None)]
  parsed = _parsed(records, ['a', 'a'], batch_size=2, skip_corrupt=True,
                   log=log)
  for _ in range(3):
    assert [f.x.numpy().tolist() for f, _ in parsed] == [[[1.0]]]
  assert log.skipped_records == 1


def test_the_pipeline_holds_no_python_callback():
  # A tf.py_function in a tf.data worker kept failing jobs from exiting: at
  # interpreter exit it waits for the GIL, the teardown for it.
  for skip_corrupt in (False, True):
    dataset = _parsed([_record(1.0)], ['a'], batch_size=1,
                      skip_corrupt=skip_corrupt)
    serialized = dataset._as_serialized_graph()  # pylint: disable=protected-access
    graph = tf.compat.v1.GraphDef.FromString(serialized.numpy())
    ops = {node.op for node in graph.node}
    ops.update(node.op for function in graph.library.function
               for node in function.node_def)
    assert 'ParseExampleV2' in ops
    assert not ops & {'EagerPyFunc', 'PyFunc', 'PyFuncStateless'}


def test_records_that_would_crash_the_parser_are_named_or_skipped():
  output = subprocess_runs.run_python('''
      import tensorflow as tf
      from t2r import specs
      from t2r.data import corrupt_record_log, guarded_parsing, parsing
      import test_record_guard as records

      spec = specs.TensorSpecStruct(image=specs.ExtendedTensorSpec(
          (), tf.string, name='image'))
      batch = [records.example(), records.example(
          bytes.fromhex('8080808008')), records.example()]
      where = ['record 0 of a', 'record 1 of a', 'record 2 of a']
      for skip_corrupt in (True, False):
        log = corrupt_record_log.CorruptRecordLog()
        parsed = guarded_parsing.parse_batches(
            tf.data.Dataset.from_tensors((batch, where)),
            parsing.create_parse_tf_example_fn(spec), spec, None, None,
            skip_corrupt=skip_corrupt, log=log, num_parallel_batches=1,
            deterministic=True)
        try:
          print([features['image'].numpy().tolist() for features in parsed],
                log.skipped_records)
        except tf.errors.InvalidArgumentError as e:
          print(e.message.split('assertion failed: [')[1][:97])
  ''').stdout
  assert output.split('\n')[:2] == [
      "[[b'abc', b'abc']] 1",
      'Could not parse record 1 of a (1 bad in its batch): it is not a valid '
      'serialized tf.train.Example']
