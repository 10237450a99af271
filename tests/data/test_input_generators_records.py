"""Specification of the default record input generator.

Records are written with tf.train.Example directly (independently of the
t2r encoder) into real TFRecord files: 8x8 JPEG images, a float id `x` that
tells which file and record a row came from, and a label `y`.
"""

import re

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from t2r import specs
from t2r.data import record_input_generator
from t2r.modes import ModeKeys
import subprocess_runs

DefaultRecordInputGenerator = record_input_generator.DefaultRecordInputGenerator

_RECORDS_PER_FILE = 6


def _jpeg(value: int) -> bytes:
  return tf.io.encode_jpeg(np.full((8, 8, 3), value, np.uint8)).numpy()


def _example(x: float, image: bytes = None, extra: bool = False) -> bytes:
  feature = {
      'x': tf.train.Feature(float_list=tf.train.FloatList(value=[x, -x])),
      'y': tf.train.Feature(float_list=tf.train.FloatList(value=[x % 2])),
      'image': tf.train.Feature(bytes_list=tf.train.BytesList(
          value=[image if image is not None else _jpeg(int(x) % 256)])),
  }
  if extra:
    feature['extra'] = tf.train.Feature(int64_list=tf.train.Int64List(
        value=[int(x)]))
  return tf.train.Example(features=tf.train.Features(
      feature=feature)).SerializeToString()


def _write(path, records, compression_type=''):
  with tf.io.TFRecordWriter(str(path), compression_type) as writer:
    for record in records:
      writer.write(record)
  return str(path)


def _write_files(directory, num_files=3, prefix='data', **example_kwargs):
  """File i holds x = 100 * i + j for j < _RECORDS_PER_FILE."""
  return [
      _write(directory / f'{prefix}-{i}.tfrecord', [
          _example(100.0 * i + j, **example_kwargs)
          for j in range(_RECORDS_PER_FILE)
      ]) for i in range(num_files)
  ]


def _specs(optional_extra=False, dataset_key=''):
  feature_spec = specs.TensorSpecStruct()
  feature_spec.x = specs.ExtendedTensorSpec((2,), tf.float32, name='x',
                                            dataset_key=dataset_key)
  feature_spec.image = specs.ExtendedTensorSpec(
      (8, 8, 3), tf.uint8, name='image', data_format='jpeg',
      dataset_key=dataset_key)
  if optional_extra:
    feature_spec.extra = specs.ExtendedTensorSpec(
        (1,), tf.int64, name='extra', is_optional=True)
  label_spec = specs.TensorSpecStruct()
  label_spec.y = specs.ExtendedTensorSpec((1,), tf.float32, name='y',
                                          dataset_key=dataset_key)
  return feature_spec, label_spec


def _generator(cls=DefaultRecordInputGenerator, optional_extra=False,
               **kwargs):
  generator = cls(**kwargs)
  feature_spec, label_spec = _specs(optional_extra)
  generator.set_feature_specifications(feature_spec)
  generator.set_label_specifications(label_spec)
  return generator


def _ids(dataset, num_batches=None):
  """The record ids `x[:, 0]` of the batches, in order."""
  if num_batches is not None:
    dataset = dataset.take(num_batches)
  return [
      int(v) for features, _ in dataset for v in features['x'][:, 0].numpy()
  ]


@pytest.fixture
def pattern(tmp_path):
  _write_files(tmp_path)
  return f'tfrecord:{tmp_path}/data-*.tfrecord'


ALL_IDS = sorted(
    100 * i + j for i in range(3) for j in range(_RECORDS_PER_FILE))


def test_batches_match_the_specs(pattern):
  generator = _generator(file_patterns=pattern, batch_size=4)
  features, labels = next(iter(generator.create_dataset(ModeKeys.TRAIN)))
  assert isinstance(features, specs.TensorSpecStruct)
  assert features['x'].shape == (4, 2) and features['x'].dtype == tf.float32
  assert features['image'].shape == (4, 8, 8, 3)
  assert features['image'].dtype == tf.uint8
  assert labels['y'].shape == (4, 1)
  # The image really is the JPEG of the record, decoded.
  x = features['x'][:, 0].numpy().astype(int)
  np.testing.assert_allclose(features['image'].numpy()[:, 0, 0, 0], x % 256,
                             atol=2)
  np.testing.assert_array_equal(labels['y'][:, 0].numpy(), x % 2)


def test_train_batches_have_a_static_batch_dimension(pattern):
  generator = _generator(file_patterns=pattern, batch_size=4)
  features, labels = generator.create_dataset(ModeKeys.TRAIN).element_spec
  assert features['image'].shape.as_list() == [4, 8, 8, 3]
  assert labels['y'].shape.as_list() == [4, 1]


def test_eval_with_one_epoch_is_a_single_ordered_pass(pattern):
  generator = _generator(file_patterns=pattern, batch_size=4, num_epochs=1)
  ids = _ids(generator.create_dataset(ModeKeys.EVAL))
  assert sorted(ids) == ALL_IDS  # Every record once, last batch partial.
  assert ids == _ids(generator.create_dataset(ModeKeys.EVAL))


def test_train_repeats_and_shuffles(pattern):
  generator = _generator(file_patterns=pattern, batch_size=6, seed=0)
  ids = _ids(generator.create_dataset(ModeKeys.TRAIN), num_batches=6)
  first_epoch, second_epoch = ids[:len(ALL_IDS)], ids[len(ALL_IDS):]
  assert sorted(first_epoch) == ALL_IDS and sorted(second_epoch) == ALL_IDS
  eval_generator = _generator(file_patterns=pattern, batch_size=6,
                              num_epochs=1)
  assert first_epoch != _ids(eval_generator.create_dataset(ModeKeys.EVAL))
  assert first_epoch != second_epoch  # Reshuffled every epoch.


def test_a_seed_makes_the_training_order_reproducible(pattern):

  def train_ids(seed):
    generator = _generator(file_patterns=pattern, batch_size=4, seed=seed)
    return _ids(generator.create_dataset(ModeKeys.TRAIN), num_batches=8)

  assert train_ids(7) == train_ids(7)
  assert train_ids(7) != train_ids(8)


@pytest.mark.parametrize('with_extra', [True, False])
def test_optional_features_follow_the_files(tmp_path, with_extra):
  _write_files(tmp_path, extra=with_extra)
  generator = _generator(file_patterns=f'{tmp_path}/data-*',
                         optional_extra=True, batch_size=2)
  features, _ = next(iter(generator.create_dataset(ModeKeys.TRAIN)))
  assert ('extra' in features) == with_extra
  if with_extra:
    np.testing.assert_array_equal(features['extra'][:, 0].numpy(),
                                  features['x'][:, 0].numpy().astype(int))


def test_a_missing_required_feature_is_an_error_naming_it(tmp_path):
  record = tf.train.Example(features=tf.train.Features(feature={
      'x': tf.train.Feature(float_list=tf.train.FloatList(value=[1., 2.]))
  })).SerializeToString()
  _write(tmp_path / 'data-0.tfrecord', [record])
  generator = _generator(file_patterns=f'{tmp_path}/data-*')
  with pytest.raises(ValueError, match="'image'"):
    generator.create_dataset(ModeKeys.TRAIN)


def test_gzip_files_are_detected(tmp_path):
  _write(tmp_path / 'data-0.tfrecord.gz',
         [_example(float(i)) for i in range(4)], compression_type='GZIP')
  generator = _generator(file_patterns=f'{tmp_path}/*.gz', batch_size=4,
                         num_epochs=1)
  assert _ids(generator.create_dataset(ModeKeys.EVAL)) == [0, 1, 2, 3]


def test_a_dataset_map_zips_the_streams_record_by_record(tmp_path):
  (tmp_path / 'left').mkdir()
  (tmp_path / 'right').mkdir()
  _write_files(tmp_path / 'left', num_files=2)
  _write_files(tmp_path / 'right', num_files=2)
  feature_spec = specs.TensorSpecStruct()
  feature_spec.left = specs.ExtendedTensorSpec((2,), tf.float32, name='x',
                                               dataset_key='left')
  feature_spec.right = specs.ExtendedTensorSpec((2,), tf.float32, name='x',
                                                dataset_key='right')
  label_spec = specs.TensorSpecStruct()
  label_spec.y = specs.ExtendedTensorSpec((1,), tf.float32, name='y',
                                          dataset_key='left')
  generator = DefaultRecordInputGenerator(
      dataset_map={
          'left': f'{tmp_path}/left/*',
          'right': f'{tmp_path}/right/*'
      },
      batch_size=3, seed=1)
  generator.set_feature_specifications(feature_spec)
  generator.set_label_specifications(label_spec)
  for features, labels in generator.create_dataset(ModeKeys.TRAIN).take(4):
    np.testing.assert_array_equal(features['left'], features['right'])
    assert labels['y'].shape == (3, 1)


def test_several_dataset_keys_need_a_dataset_map(pattern):
  feature_spec = specs.TensorSpecStruct()
  feature_spec.a = specs.ExtendedTensorSpec((2,), tf.float32, name='x',
                                            dataset_key='a')
  feature_spec.b = specs.ExtendedTensorSpec((2,), tf.float32, name='x',
                                            dataset_key='b')
  generator = DefaultRecordInputGenerator(file_patterns=pattern)
  generator.set_feature_specifications(feature_spec)
  generator.set_label_specifications(specs.TensorSpecStruct())
  with pytest.raises(ValueError, match='dataset_map'):
    generator.create_dataset(ModeKeys.TRAIN)


def test_tf_keras_fit_reports_the_file_of_a_bad_record(tmp_path):
  bad = _write(tmp_path / 'bad-image.tfrecord',
               [_example(8.0, image=b'not a jpeg')] * 4)
  generator = _generator(file_patterns=bad, batch_size=2)
  dataset = generator.create_dataset(ModeKeys.TRAIN).map(
      lambda features, labels: (tf.cast(features['image'], tf.float32),
                                labels['y']))
  model = tf_keras.Sequential(
      [tf_keras.layers.Flatten(), tf_keras.layers.Dense(1)])
  model.compile(optimizer='sgd', loss='mse')
  with pytest.raises(tf.errors.InvalidArgumentError,
                     match=r'Could not parse record [0-3] of .*bad-image'
                     r'\.tfrecord.*feature `image` \(name `image`\) does '
                     'not decode'):
    model.fit(dataset, steps_per_epoch=1, epochs=1, verbose=0)


@pytest.mark.parametrize('batch_size', [2, 3])
def test_skip_mode_skips_and_counts_bad_records(tmp_path, batch_size):
  # Read in order: a first batch of only bad records is dropped (2), or
  # comes out with its one good record (3).
  bad = _write(tmp_path / 'a-bad-images.tfrecord', [
      _example(8.0, image=b'not a jpeg'), _example(9.0, image=b''),
      _example(7.0)
  ])
  good = _write_files(tmp_path, num_files=1, prefix='b-good')[0]
  generator = _generator(file_patterns=f'{bad},{good}', num_epochs=1,
                         batch_size=batch_size, cycle_length=1,
                         skip_corrupt_records=True)
  ids = _ids(generator.create_dataset(ModeKeys.EVAL))
  assert ids == [7, 0, 1, 2, 3, 4, 5]
  assert generator.skipped_records == 2


def test_skip_mode_skips_the_unreadable_rest_of_a_file(tmp_path):
  files = _write_files(tmp_path, num_files=2)
  bad = tmp_path / 'data-broken.tfrecord'
  data = open(files[1], 'rb').read()
  bad.write_bytes(data[:int(0.7 * len(data))])
  generator = _generator(file_patterns=f'{files[0]},{bad}', num_epochs=1,
                         skip_corrupt_records=True)
  ids = _ids(generator.create_dataset(ModeKeys.EVAL))
  # Every readable record is kept; the one cut off is counted.
  readable = tf.data.TFRecordDataset(str(bad)).ignore_errors()
  assert sorted(ids) == list(range(_RECORDS_PER_FILE)) + list(
      range(100, 100 + len(list(readable))))
  assert generator.skipped_records == 1
  assert generator.truncated_files == [str(bad)]


def test_skip_mode_keeps_the_records_before_junk(tmp_path):
  path, = _write_files(tmp_path, num_files=1)
  with open(path, 'ab') as f:
    f.write(bytes(range(37)))
  generator = _generator(file_patterns=path, num_epochs=1,
                         skip_corrupt_records=True)
  assert _ids(generator.create_dataset(ModeKeys.EVAL)) == list(
      range(_RECORDS_PER_FILE))
  assert generator.skipped_records == 1


def test_skip_mode_reads_the_optional_specs_from_a_good_record(tmp_path):
  path = _write(tmp_path / 'a.tfrecord', [b'\xff\xff\xff'] + [
      _example(float(i), extra=True) for i in range(3)])
  generator = _generator(optional_extra=True, file_patterns=path,
                         num_epochs=1, skip_corrupt_records=True)
  features, _ = next(iter(generator.create_dataset(ModeKeys.EVAL)))
  assert 'extra' in features
  assert generator.skipped_records == 1


@pytest.mark.parametrize('skip_corrupt_records', [False, True])
def test_files_without_records_fail_naming_pattern_and_files(
    tmp_path, skip_corrupt_records):
  empty = [_write(tmp_path / f'empty-{i}.tfrecord', []) for i in range(2)]
  generator = _generator(file_patterns=f'{tmp_path}/empty-*',
                         skip_corrupt_records=skip_corrupt_records)
  with pytest.raises(
      ValueError,
      match=f"File pattern '{tmp_path}/empty-\\*' matches 2 file\\(s\\), "
      f'but none holds a .*record: {empty[0]} \\(0 bytes\\), {empty[1]} '
      r'\(0 bytes\)\. The dataset would be empty'):
    generator.create_dataset(ModeKeys.TRAIN)


def test_empty_files_beside_others_are_fine(tmp_path):
  _write(tmp_path / 'data-0-empty.tfrecord', [])
  _write_files(tmp_path, num_files=1)
  generator = _generator(file_patterns=f'{tmp_path}/data-*', num_epochs=1)
  assert _ids(generator.create_dataset(ModeKeys.EVAL)) == list(
      range(_RECORDS_PER_FILE))


@pytest.mark.parametrize('how', ['uncaught', 'caught'])
def test_a_job_failing_on_a_bad_record_exits(tmp_path, how):
  # Jobs used to print the error and then never exit: at interpreter exit
  # the pipeline (kept alive by the error's traceback) was torn down while
  # a worker waited for the GIL inside a tf.py_function of the parser. Many
  # bad batches in flight (16 parallel ones) made that certain.
  result = subprocess_runs.run_python(f'''
      import sys
      import tensorflow as tf
      import test_input_generators_records as records
      from t2r.data import record_input_generator
      from t2r.modes import ModeKeys

      record_input_generator._num_cpus = lambda: 16
      # The label is `extra`, which records 5, 15, 25, ... lack.
      path = records._write({str(tmp_path)!r} + '/data.tfrecord', [
          records._example(float(i), extra=i % 10 != 5) for i in range(300)])
      generator = records._generator(file_patterns=path, batch_size=32)
      generator.set_label_specifications(records.specs.TensorSpecStruct(
          y=records.specs.ExtendedTensorSpec((1,), tf.int64, name='extra')))
      dataset = generator.create_dataset(ModeKeys.TRAIN)

      def train():
        iterator = iter(dataset)  # Kept alive by the traceback, as in fit.
        while True:
          next(iterator)

      if {how!r} == 'uncaught':
        train()
      try:
        train()
      except tf.errors.InvalidArgumentError as error:
        kept = error
        print(error.message)
      sys.exit(1)
  ''', timeout_secs=120, returncode=1)
  assert re.search(r'Could not parse record [0-9]*5 of .*data\.tfrecord '
                   r'\([0-9]+ bad in its batch\): label `y` \(name `extra`\) '
                   'is missing', result.stdout + result.stderr)


def test_each_input_pipeline_reads_its_share(tmp_path):
  _write_files(tmp_path, num_files=4)
  shares = []
  for pipeline_id in range(2):
    context = tf.distribute.InputContext(
        num_input_pipelines=2, input_pipeline_id=pipeline_id,
        num_replicas_in_sync=2)
    generator = _generator(file_patterns=f'{tmp_path}/data-*', batch_size=4,
                           num_epochs=1)
    dataset = generator.create_dataset(ModeKeys.EVAL, input_context=context)
    assert dataset.element_spec[0]['x'].shape.as_list() in ([2, 2],
                                                            [None, 2])
    shares.append(_ids(dataset))
  assert not set(shares[0]) & set(shares[1])
  assert sorted(shares[0] + shares[1]) == sorted(
      100 * i + j for i in range(4) for j in range(_RECORDS_PER_FILE))


def test_a_strategy_distributes_the_dataset(pattern):
  strategy = tf.distribute.OneDeviceStrategy('/cpu:0')
  generator = _generator(file_patterns=pattern, batch_size=4)
  dataset = strategy.distribute_datasets_from_function(
      lambda context: generator.create_dataset(ModeKeys.TRAIN,
                                               input_context=context))
  features, _ = next(iter(dataset))
  assert features['image'].shape == (4, 8, 8, 3)


def test_tf_keras_fit_consumes_the_dataset(pattern):
  generator = _generator(file_patterns=pattern, batch_size=4)
  dataset = generator.create_dataset(ModeKeys.TRAIN).map(
      lambda features, labels: (features['x'], labels['y']))
  model = tf_keras.Sequential([tf_keras.layers.Dense(1)])
  model.compile(optimizer='sgd', loss='mse')
  history = model.fit(dataset, steps_per_epoch=2, epochs=1, verbose=0)
  assert np.isfinite(history.history['loss'][0])


class _Doubler:
  """A minimal preprocessor: reads the record specs, doubles `x`."""

  def __init__(self):
    self.modes = []

  def get_in_feature_specification(self, mode):
    return _specs()[0]

  def get_in_label_specification(self, mode):
    return _specs()[1]

  def preprocess(self, features, labels, mode):
    self.modes.append(mode)
    features = specs.TensorSpecStruct(features)
    features['x'] = features['x'] * 2.0
    return features, labels


class _Model:
  """A minimal model: its specs, optionally a preprocessor."""

  def __init__(self, preprocessor=None, feature_spec=None):
    if preprocessor is not None:
      self.preprocessor = preprocessor
    self._feature_spec = feature_spec or _specs()[0]

  def get_feature_specification(self, mode):
    return self._feature_spec

  def get_label_specification(self, mode):
    return _specs()[1]


def test_the_model_preprocessor_is_applied_in_the_given_mode(pattern):
  preprocessor = _Doubler()
  generator = DefaultRecordInputGenerator(file_patterns=pattern, batch_size=6,
                                          num_epochs=1)
  generator.set_specification_from_model(_Model(preprocessor), ModeKeys.EVAL)
  doubled = _ids(generator.create_dataset(ModeKeys.EVAL))
  assert doubled == [2 * i for i in _ids(
      _generator(file_patterns=pattern, batch_size=6,
                 num_epochs=1).create_dataset(ModeKeys.EVAL))]
  assert preprocessor.modes == [ModeKeys.EVAL]  # Traced once, in EVAL.


def test_without_a_preprocessor_the_model_specs_are_read(pattern):
  feature_spec = specs.TensorSpecStruct()
  feature_spec.x = specs.ExtendedTensorSpec((2,), tf.float32, name='x')
  generator = DefaultRecordInputGenerator(file_patterns=pattern, batch_size=2)
  generator.set_specification_from_model(_Model(feature_spec=feature_spec),
                                         ModeKeys.TRAIN)
  features, labels = next(iter(generator.create_dataset(ModeKeys.TRAIN)))
  assert list(features.keys()) == ['x'] and list(labels.keys()) == ['y']


def test_a_preprocessor_output_that_misses_the_model_spec_fails(pattern):
  model_spec = specs.TensorSpecStruct()
  model_spec.x = specs.ExtendedTensorSpec((3,), tf.float32, name='x')
  generator = DefaultRecordInputGenerator(file_patterns=pattern)
  generator.set_specification_from_model(
      _Model(_Doubler(), feature_spec=model_spec), ModeKeys.TRAIN)
  with pytest.raises(ValueError, match=r"'x'.*\(None, 3\)"):
    generator.create_dataset(ModeKeys.TRAIN)


def test_create_dataset_needs_specs(pattern):
  generator = DefaultRecordInputGenerator(file_patterns=pattern)
  with pytest.raises(ValueError, match='set_specification_from_model'):
    generator.create_dataset(ModeKeys.TRAIN)


def test_the_mode_must_match_the_specs_mode(pattern):
  generator = DefaultRecordInputGenerator(file_patterns=pattern)
  generator.set_specification_from_model(_Model(), ModeKeys.TRAIN)
  with pytest.raises(ValueError, match="mode 'train'.*'eval'"):
    generator.create_dataset(ModeKeys.EVAL)


@pytest.mark.parametrize('kwargs', [
    {},
    {'file_patterns': 'a', 'dataset_map': {'': 'a'}},
    {'file_patterns': 'a', 'shuffle_buffer_size': 0},
    {'file_patterns': 'a', 'compression_type': 'LZ4'},
    {'file_patterns': 'a', 'batch_size': 0},
])
def test_invalid_arguments_are_rejected(kwargs):
  with pytest.raises(ValueError):
    DefaultRecordInputGenerator(**kwargs)

