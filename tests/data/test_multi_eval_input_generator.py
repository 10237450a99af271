"""MultiEvalRecordInputGenerator: named eval sets, and T2R's TF_CONFIG pick."""

import json

import gin
import pytest
import tensorflow as tf

from t2r import specs
from t2r.data import multi_eval_input_generator
from t2r.modes import ModeKeys
import record_files

MultiEvalRecordInputGenerator = (
    multi_eval_input_generator.MultiEvalRecordInputGenerator)
get_multi_eval_name = multi_eval_input_generator.get_multi_eval_name


@pytest.fixture(autouse=True)
def no_tf_config(monkeypatch):
  monkeypatch.delenv('TF_CONFIG', raising=False)


def _write(path, ids):
  return record_files.write_records(path, [
      tf.train.Example(features=tf.train.Features(feature={
          'x': tf.train.Feature(float_list=tf.train.FloatList(value=[x])),
      })).SerializeToString() for x in ids
  ])


@pytest.fixture
def eval_map(tmp_path):
  """Set 'seen' holds the ids 0-2, set 'novel' 10-12."""
  return {'seen': _write(tmp_path / 'seen.tfrecord', [0, 1, 2]),
          'novel': _write(tmp_path / 'novel.tfrecord', [10, 11, 12])}


def _ids(generator):
  generator.set_feature_specifications(specs.TensorSpecStruct(
      x=specs.ExtendedTensorSpec((1,), tf.float32, name='x')))
  generator.set_label_specifications(specs.TensorSpecStruct())
  return [int(v) for features, _ in generator.create_dataset(ModeKeys.EVAL)
          for v in features.x[:, 0].numpy()]


def _generator(eval_map, **kwargs):
  return MultiEvalRecordInputGenerator(eval_map=eval_map, num_epochs=1,
                                       batch_size=2, **kwargs)


# get_multi_eval_name.


def test_get_multi_eval_name_reads_tf_config(monkeypatch):
  monkeypatch.setenv('TF_CONFIG', json.dumps({'multi_eval_name': 'novel'}))
  assert get_multi_eval_name() == 'novel'


@pytest.mark.parametrize('tf_config, expected', [
    (None, None), ({}, None), ({'cluster': {}}, None),
    ({'multi_eval_name': 'seen'}, 'seen')])
def test_get_multi_eval_name_of_a_given_config(tf_config, expected):
  assert get_multi_eval_name(tf_config) == expected


@pytest.mark.parametrize('text', ['not json', '[1, 2]'])
def test_get_multi_eval_name_rejects_a_malformed_tf_config(monkeypatch, text):
  monkeypatch.setenv('TF_CONFIG', text)
  with pytest.raises(ValueError, match='TF_CONFIG environment variable'):
    get_multi_eval_name()


# The generator.


def test_holds_every_set_in_eval_map_order(eval_map):
  assert _generator(eval_map).eval_names == ['seen', 'novel']


def test_eval_generator_reads_only_its_set(eval_map):
  generator = _generator(eval_map)
  assert _ids(generator.eval_generator('novel')) == [10, 11, 12]
  assert _ids(generator.eval_generator('seen')) == [0, 1, 2]


def test_eval_generators_keep_the_arguments_and_seed(eval_map):
  generator = _generator(eval_map, seed=4)
  novel = generator.eval_generator('novel')
  assert novel.batch_size == 2 and novel.seed == 4
  assert novel.eval_names == ['novel']


def test_tf_config_picks_one_set_as_in_t2r(eval_map, monkeypatch):
  monkeypatch.setenv('TF_CONFIG', json.dumps({'multi_eval_name': 'novel'}))
  generator = _generator(eval_map)
  assert generator.eval_names == ['novel']
  assert _ids(generator) == [10, 11, 12]


def test_a_tf_config_name_outside_eval_map_is_rejected(eval_map,
                                                       monkeypatch):
  monkeypatch.setenv('TF_CONFIG', json.dumps({'multi_eval_name': 'other'}))
  with pytest.raises(ValueError, match="'other', which is not an eval set"):
    _generator(eval_map)


def test_a_single_set_creates_its_dataset_directly(eval_map):
  assert _ids(_generator({'seen': eval_map['seen']})) == [0, 1, 2]


def test_several_sets_need_one_dataset_each(eval_map):
  with pytest.raises(ValueError, match=r'eval_generator\(name\)'):
    _ids(_generator(eval_map))


def test_an_unknown_set_is_rejected(eval_map):
  with pytest.raises(ValueError, match="no eval set 'other'"):
    _generator(eval_map).eval_generator('other')


@pytest.mark.parametrize('bad_map, match', [
    ({}, 'non-empty dict'),
    ('/data/*', 'non-empty dict'),
    ({'a/b': '/data/*'}, 'usable as a directory name'),
    ({'': '/data/*'}, 'usable as a directory name'),
    ({'seen': ['/data/*']}, 'must be a file pattern string'),
])
def test_invalid_eval_maps_are_rejected(bad_map, match):
  with pytest.raises(ValueError, match=match):
    MultiEvalRecordInputGenerator(eval_map=bad_map)


@pytest.mark.parametrize('argument', ['file_patterns', 'dataset_map'])
def test_file_patterns_come_from_eval_map_only(eval_map, argument):
  with pytest.raises(ValueError, match='do not pass file_patterns'):
    MultiEvalRecordInputGenerator(eval_map=eval_map,
                                  **{argument: '/data/*'})


def test_is_gin_configurable(eval_map):
  gin.clear_config()
  try:
    gin.bind_parameter('MultiEvalRecordInputGenerator.eval_map', eval_map)
    assert MultiEvalRecordInputGenerator().eval_names == ['seen', 'novel']
  finally:
    gin.clear_config()
