"""WeightedRecordInputGenerator mixes datasets by weight (list or T2R string).

Records are written with tf.train.Example directly: a float id `x`; the
datasets 'first' and 'second' hold ids below and from 1000 on.
"""

import gin
import pytest
import tensorflow as tf

from t2r import specs
from t2r.data import weighted_input_generator
from t2r.modes import ModeKeys
import record_files

WeightedRecordInputGenerator = (
    weighted_input_generator.WeightedRecordInputGenerator)


def _write(path, ids):
  return record_files.write_records(path, [
      tf.train.Example(features=tf.train.Features(feature={
          'x': tf.train.Feature(float_list=tf.train.FloatList(value=[x])),
      })).SerializeToString() for x in ids
  ])


@pytest.fixture
def patterns(tmp_path):
  _write(tmp_path / 'first-0.tfrecord', range(6))
  _write(tmp_path / 'second-0.tfrecord', range(1000, 1006))
  return [f'{tmp_path}/first-*', f'{tmp_path}/second-*']


def _sampled_ids(generator, num_batches=6):
  generator.set_feature_specifications(specs.TensorSpecStruct(
      x=specs.ExtendedTensorSpec((1,), tf.float32, name='x')))
  generator.set_label_specifications(specs.TensorSpecStruct())
  dataset = generator.create_dataset(ModeKeys.TRAIN).take(num_batches)
  return [int(v) for features, _ in dataset for v in features.x[:, 0].numpy()]


def test_weights_choose_the_datasets(patterns):

  def sampled_ids(weights):
    return _sampled_ids(WeightedRecordInputGenerator(
        file_patterns_list=patterns, weights=weights, batch_size=4, seed=3))

  assert all(i < 1000 for i in sampled_ids([1.0, 0.0]))
  mixed = sampled_ids([0.5, 0.5])
  assert any(i < 1000 for i in mixed) and any(i >= 1000 for i in mixed)


@pytest.mark.parametrize('weights, first', [([1.0, 0.0], True),
                                            ([0.0, 1.0], False)])
def test_t2r_comma_separated_patterns_are_one_dataset_each(
    patterns, weights, first):
  generator = WeightedRecordInputGenerator(
      file_patterns=f'tfrecord:{patterns[0]}, tfrecord:{patterns[1]}',
      weights=weights, batch_size=4, seed=3)
  assert all((i < 1000) == first for i in _sampled_ids(generator))


def test_t2r_string_is_gin_configurable(patterns):
  gin.clear_config()
  try:
    gin.parse_config(f"""
WeightedRecordInputGenerator.file_patterns = '{patterns[0]},{patterns[1]}'
WeightedRecordInputGenerator.weights = [0.0, 1.0]
WeightedRecordInputGenerator.batch_size = 2
""")
    assert all(i >= 1000 for i in _sampled_ids(WeightedRecordInputGenerator()))
  finally:
    gin.clear_config()


@pytest.mark.parametrize('weights', [[1.0], [-1.0, 2.0], [0.0, 0.0]])
def test_invalid_weights_are_rejected(weights):
  with pytest.raises(ValueError, match='weights'):
    WeightedRecordInputGenerator(file_patterns_list=['a', 'b'],
                                 weights=weights)


def test_the_t2r_string_needs_one_weight_per_pattern():
  with pytest.raises(ValueError, match='one entry per file pattern'):
    WeightedRecordInputGenerator(file_patterns='a,b,c', weights=[1.0, 1.0])


@pytest.mark.parametrize('kwargs', [
    {},
    {'file_patterns_list': ['a'], 'file_patterns': 'a'},
])
def test_exactly_one_way_of_naming_the_patterns(kwargs):
  with pytest.raises(ValueError, match='exactly one of file_patterns_list'):
    WeightedRecordInputGenerator(**kwargs)


@pytest.mark.parametrize('kwargs, match', [
    ({'file_patterns': ['a', 'b']}, 'pass a list as file_patterns_list'),
    ({'file_patterns': ' , '}, 'non-empty list'),
    ({'file_patterns_list': 'a,b'}, 'pass file_patterns='),
])
def test_patterns_of_the_wrong_kind_are_rejected(kwargs, match):
  with pytest.raises(ValueError, match=match):
    WeightedRecordInputGenerator(**kwargs)
