"""T2R's tfdata helpers: parallel_read, serialized_to_parsed and friends.

Records are written with tf.train.Example directly into real TFRecord files:
a float id `x` (file index * 100 + record index), a label `y` and a 4x4 PNG
image whose pixels all equal the id.
"""

import numpy as np
import pytest
import tensorflow as tf

from t2r import specs
from t2r.data import tfdata
import record_files

_RECORDS_PER_FILE = 3


def _example(x: int, with_extra: bool = False) -> bytes:
  feature = {
      'x': tf.train.Feature(float_list=tf.train.FloatList(value=[x])),
      'y': tf.train.Feature(float_list=tf.train.FloatList(value=[-x])),
      'image': tf.train.Feature(bytes_list=tf.train.BytesList(value=[
          tf.io.encode_png(np.full((4, 4, 3), x % 256, np.uint8)).numpy()
      ])),
  }
  if with_extra:
    feature['extra'] = tf.train.Feature(int64_list=tf.train.Int64List(
        value=[x]))
  return tf.train.Example(features=tf.train.Features(
      feature=feature)).SerializeToString()


def _write_files(directory, num_files=2, compression_type='', **kwargs):
  """File i holds the ids 100 * i + j for j < _RECORDS_PER_FILE."""
  return [
      record_files.write_records(
          directory / f'data-{i}.tfrecord',
          [_example(100 * i + j, **kwargs) for j in range(_RECORDS_PER_FILE)],
          compression_type) for i in range(num_files)
  ]


def _specs(optional_extra=False):
  feature_spec = specs.TensorSpecStruct()
  feature_spec.x = specs.ExtendedTensorSpec((1,), tf.float32, name='x')
  feature_spec.image = specs.ExtendedTensorSpec(
      (4, 4, 3), tf.uint8, name='image', data_format='png')
  if optional_extra:
    feature_spec.extra = specs.ExtendedTensorSpec(
        (1,), tf.int64, name='extra', is_optional=True)
  label_spec = specs.TensorSpecStruct()
  label_spec.y = specs.ExtendedTensorSpec((1,), tf.float32, name='y')
  return feature_spec, label_spec


def _ids(records):
  """The ids `x` of a dataset of serialized records, in order."""
  return [
      int(tf.train.Example.FromString(record.numpy()).features.feature['x']
          .float_list.value[0]) for record in records
  ]


@pytest.fixture
def pattern(tmp_path):
  _write_files(tmp_path)
  return f'tfrecord:{tmp_path}/data-*.tfrecord'


ALL_IDS = [0, 1, 2, 100, 101, 102]


# parallel_read.


def test_parallel_read_reads_every_record_once_per_epoch(pattern):
  assert sorted(_ids(tfdata.parallel_read(pattern, num_epochs=1))) == ALL_IDS


def test_parallel_read_repeats_forever_by_default(pattern):
  ids = _ids(tfdata.parallel_read(pattern).take(4 * len(ALL_IDS)))
  assert sorted(ids) == sorted(ALL_IDS * 4)


def test_parallel_read_interleaves_one_record_per_file_in_turn(pattern):
  records = tfdata.parallel_read(pattern, num_readers=2, num_epochs=1,
                                 shuffle=False)
  assert _ids(records) == [0, 100, 1, 101, 2, 102]


def test_parallel_read_with_a_seed_repeats_its_file_order(tmp_path):
  _write_files(tmp_path, num_files=6)
  pattern = f'{tmp_path}/data-*.tfrecord'

  def first_ids(seed):
    return _ids(tfdata.parallel_read(pattern, num_readers=1, num_epochs=1,
                                     seed=seed))

  assert first_ids(3) == first_ids(3)
  assert first_ids(3) != first_ids(4)


def test_parallel_read_detects_gzip_files(tmp_path):
  _write_files(tmp_path, compression_type='GZIP')
  records = tfdata.parallel_read(f'{tmp_path}/data-*', num_epochs=1)
  assert sorted(_ids(records)) == ALL_IDS


def test_parallel_read_names_a_truncated_file(tmp_path):
  (tmp_path / 'source').mkdir()
  source = _write_files(tmp_path / 'source', num_files=1)[0]
  broken = record_files.corrupt_copy(source, tmp_path / 'broken.tfrecord',
                                     damage='truncate')
  with pytest.raises(tf.errors.InvalidArgumentError, match='broken.tfrecord'):
    _ids(tfdata.parallel_read(broken, num_epochs=1))


def test_parallel_read_rejects_a_pattern_without_files(tmp_path):
  with pytest.raises(ValueError, match='matches no file'):
    tfdata.parallel_read(f'{tmp_path}/missing-*')


@pytest.mark.parametrize('name', ['num_shards', 'num_readers', 'num_epochs'])
def test_parallel_read_rejects_non_positive_counts(pattern, name):
  with pytest.raises(ValueError, match=f'{name} must be a positive int'):
    tfdata.parallel_read(pattern, **{name: 0})


# serialized_to_parsed.


def test_serialized_to_parsed_parses_batches_by_spec(pattern):
  feature_spec, label_spec = _specs()
  records = tfdata.parallel_read(pattern, num_readers=2, num_epochs=1,
                                 shuffle=False)
  features, labels = next(iter(tfdata.serialized_to_parsed(
      records.batch(2), feature_spec, label_spec)))
  assert isinstance(features, specs.TensorSpecStruct)
  np.testing.assert_array_equal(features.x, [[0.0], [100.0]])
  np.testing.assert_array_equal(labels.y, [[0.0], [-100.0]])
  assert features.image.dtype == tf.uint8
  np.testing.assert_array_equal(features.image[1],
                                np.full((4, 4, 3), 100, np.uint8))


def test_serialized_to_parsed_without_labels_yields_the_features(pattern):
  feature_spec, _ = _specs()
  batches = tfdata.serialized_to_parsed(
      tfdata.parallel_read(pattern, num_epochs=1).batch(3), feature_spec)
  features = next(iter(batches))
  assert isinstance(features, specs.TensorSpecStruct)
  assert features.x.shape == (3, 1)


@pytest.mark.parametrize('with_extra', [False, True])
def test_serialized_to_parsed_follows_the_records_optional_features(
    tmp_path, with_extra):
  _write_files(tmp_path, with_extra=with_extra)
  feature_spec, label_spec = _specs(optional_extra=True)
  batches = tfdata.serialized_to_parsed(
      tfdata.parallel_read(f'{tmp_path}/data-*', num_epochs=1).batch(2),
      feature_spec, label_spec)
  features, _ = next(iter(batches))
  assert ('extra' in features) == with_extra


def test_serialized_to_parsed_reports_a_missing_required_feature(pattern):
  feature_spec, label_spec = _specs()
  feature_spec.missing = specs.ExtendedTensorSpec((1,), tf.float32,
                                                  name='missing')
  batches = tfdata.serialized_to_parsed(
      tfdata.parallel_read(pattern, num_epochs=1).batch(2), feature_spec,
      label_spec)
  with pytest.raises(tf.errors.InvalidArgumentError, match='missing'):
    next(iter(batches))


# get_batch_size.


@pytest.mark.parametrize('params, expected', [
    (None, 32), ({}, 32), ({'batch_size': None}, 32), ({'batch_size': 8}, 8),
    ({'batch_size': 32}, 32)])
def test_get_batch_size_prefers_params(params, expected):
  assert tfdata.get_batch_size(params, 32) == expected


@pytest.mark.parametrize('params, batch_size, match', [
    ({'batch_size': 0}, 32, r"params\['batch_size'\] must be a positive int"),
    ({'batch_size': 2.0}, 32, r"params\['batch_size'\] must be a positive"),
    (None, -1, 'batch_size must be a positive int, got -1'),
])
def test_get_batch_size_rejects_invalid_sizes(params, batch_size, match):
  with pytest.raises(ValueError, match=match):
    tfdata.get_batch_size(params, batch_size)


# infer_data_format.


@pytest.mark.parametrize('file_patterns', [
    'tfrecord:/data/train-*', '/data/train-*.tfrecord',
    'tfrecord:/a/*, /b/*', 'TFRecord:gs://bucket/train-*'])
def test_infer_data_format_reads_the_prefix(file_patterns):
  assert tfdata.infer_data_format(file_patterns) == 'tfrecord'


def test_infer_data_format_does_not_touch_the_filesystem():
  assert tfdata.infer_data_format('/nonexistent/*.tfrecord') == 'tfrecord'


@pytest.mark.parametrize('file_patterns, match', [
    ('sstable:/data/train-*', r"format\(s\) \['sstable'\]"),
    ('tfrecord:/a/*,recordio:/b/*', r"\['recordio'\]"),
    (' , ', 'holds no pattern'),
])
def test_infer_data_format_rejects_what_t2r_cannot_read(file_patterns, match):
  with pytest.raises(ValueError, match=match):
    tfdata.infer_data_format(file_patterns)


def test_infer_data_format_needs_a_string():
  with pytest.raises(TypeError, match='comma-separated string'):
    tfdata.infer_data_format(['tfrecord:/data/*'])


# create_compress_fn / create_decompress_fn.


def _image_specs(data_format, shape=(4, 4, 3), dtype=tf.uint8, **kwargs):
  feature_spec = specs.TensorSpecStruct()
  feature_spec.image = specs.ExtendedTensorSpec(
      shape, dtype, name='image', data_format=data_format, **kwargs)
  feature_spec.x = specs.ExtendedTensorSpec((1,), tf.float32, name='x')
  label_spec = specs.TensorSpecStruct()
  label_spec.mask = specs.ExtendedTensorSpec(
      shape, dtype, name='mask', data_format=data_format, **kwargs)
  return feature_spec, label_spec


def _pixels(shape, dtype=np.uint8, seed=0):
  high = np.iinfo(dtype).max
  return np.random.default_rng(seed).integers(0, high, shape).astype(dtype)


def test_compress_fn_encodes_each_image_of_features_and_labels():
  feature_spec, label_spec = _image_specs('png')
  features = specs.TensorSpecStruct(image=_pixels((2, 4, 4, 3)),
                                    x=np.ones((2, 1), np.float32))
  labels = specs.TensorSpecStruct(mask=_pixels((2, 4, 4, 3), seed=1))
  compressed, compressed_labels = tfdata.create_compress_fn(
      feature_spec, label_spec)(features, labels)
  assert compressed.image.dtype == tf.string
  assert compressed.image.shape == (2,)
  assert compressed_labels.mask.shape == (2,)
  np.testing.assert_array_equal(
      tf.io.decode_png(compressed.image[1]), features.image[1])
  np.testing.assert_array_equal(compressed.x, features.x)


@pytest.mark.parametrize('dtype', [np.uint8, np.uint16])
def test_png_round_trip_in_a_dataset_is_exact(dtype):
  feature_spec, label_spec = _image_specs('png', dtype=tf.as_dtype(dtype))
  features = {'image': _pixels((3, 4, 4, 3), dtype),
              'x': np.zeros((3, 1), np.float32)}
  labels = {'mask': _pixels((3, 4, 4, 3), dtype, seed=1)}
  dataset = tf.data.Dataset.from_tensors((features, labels)).map(
      tfdata.create_compress_fn(feature_spec, label_spec)).map(
          tfdata.create_decompress_fn(feature_spec, label_spec))
  restored, restored_labels = next(iter(dataset))
  assert restored.image.shape == (3, 4, 4, 3)
  assert restored.image.dtype == tf.as_dtype(dtype)
  np.testing.assert_array_equal(restored.image, features['image'])
  np.testing.assert_array_equal(restored_labels.mask, labels['mask'])


def test_jpeg_round_trip_stays_close_to_the_pixels():
  feature_spec, _ = _image_specs('jpeg')
  image = np.tile(np.linspace(0, 255, 4, dtype=np.uint8)[None, :, None],
                  (4, 1, 3))[None]
  features = {'image': image, 'x': np.zeros((1, 1), np.float32)}
  compressed = tfdata.create_compress_fn(feature_spec, quality=100)(features)
  restored = tfdata.create_decompress_fn(feature_spec)(compressed)
  # T2R's tolerance: within 0.15 of the [0, 1] pixel range.
  np.testing.assert_allclose(restored.image.numpy() / 255, image / 255,
                             atol=0.15)


def test_compress_keeps_the_time_dimension_of_sequences():
  feature_spec, _ = _image_specs('png', is_sequence=True)
  images = _pixels((2, 5, 4, 4, 3))
  features = {'image': images, 'x': np.zeros((2, 1), np.float32)}
  compressed = tfdata.create_compress_fn(feature_spec)(features)
  assert compressed.image.shape == (2, 5)
  restored = tfdata.create_decompress_fn(feature_spec)(compressed)
  np.testing.assert_array_equal(restored.image, images)


def test_compress_fn_works_on_parsed_records(pattern):
  feature_spec, label_spec = _specs()
  parsed = tfdata.serialized_to_parsed(
      tfdata.parallel_read(pattern, num_epochs=1, shuffle=False).batch(3),
      feature_spec, label_spec)
  compressed = parsed.map(tfdata.create_compress_fn(feature_spec, label_spec))
  restored = compressed.map(
      tfdata.create_decompress_fn(feature_spec, label_spec))
  for (original, _), (round_trip, _) in zip(parsed, restored):
    np.testing.assert_array_equal(round_trip.image, original.image)


def test_decompress_fn_names_an_image_of_the_wrong_size():
  feature_spec, _ = _image_specs('png')
  wrong = tf.io.encode_png(np.zeros((6, 4, 3), np.uint8))
  with pytest.raises(tf.errors.InvalidArgumentError,
                     match=r'expects images of shape \(4, 4, 3\)'):
    tfdata.create_decompress_fn(feature_spec)(
        {'image': tf.stack([wrong]), 'x': tf.zeros((1, 1))})


def test_compress_fn_rejects_jpeg_images_of_four_channels():
  feature_spec, _ = _image_specs('jpeg', shape=(4, 4, 4))
  with pytest.raises(ValueError, match="1 or 3 channels.*data_format='png'"):
    tfdata.create_compress_fn(feature_spec)


@pytest.mark.parametrize('quality', [-1, 101, 95.0, True])
def test_compress_fn_rejects_an_invalid_quality(quality):
  feature_spec, _ = _image_specs('jpeg')
  with pytest.raises(ValueError, match=r'quality must be an int in \[0, 100\]'):
    tfdata.create_compress_fn(feature_spec, quality=quality)
