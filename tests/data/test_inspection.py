"""t2r inspect over real TFRecords: per-feature checks, files, episodes."""

import json
import os

import gin
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image
import tf_keras

from t2r import models
from t2r import specs
from t2r.bin import data_tools
from t2r.data import contact_sheet
from t2r.data import encoding
from t2r.data import inspection
from t2r.export import default_export_generator

from record_files import corrupt_copy
from record_files import write_records


def _feature_spec():
  spec = specs.TensorSpecStruct()
  spec['state/pose'] = specs.ExtendedTensorSpec((3,), tf.float32, name='pose')
  spec['state/image'] = specs.ExtendedTensorSpec(
      (4, 4, 3), tf.uint8, name='image', data_format='png')
  spec['extra'] = specs.ExtendedTensorSpec((1,), tf.float32, name='extra',
                                           is_optional=True)
  return spec


def _label_spec():
  return specs.TensorSpecStruct(
      action=specs.ExtendedTensorSpec((2,), tf.float32, name='action'))


def _examples(count, start=0):
  encoder = encoding.ExampleEncoder(_feature_spec(), _label_spec())
  rng = np.random.default_rng(start)
  return [tf.train.Example.FromString(encoder.encode(
      {'state/pose': np.full(3, i, np.float32),
       'state/image': rng.integers(0, 255, (4, 4, 3)).astype(np.uint8)},
      {'action': np.float32([i, -i])})) for i in range(start, start + count)]


def _write(path, examples):
  return write_records(path, [e.SerializeToString() for e in examples])


def _inspect(pattern, **kwargs):
  return inspection.inspect_records(pattern, _feature_spec(), _label_spec(),
                                    batch_size=4, **kwargs)


@pytest.fixture(scope='module')
def clean(tmp_path_factory):
  """Two clean files and their report (3 samples)."""
  directory = tmp_path_factory.mktemp('clean')
  _write(directory / 'a.tfrecord', _examples(6))
  _write(directory / 'b.tfrecord', _examples(4, start=6))
  return directory, _inspect(str(directory / '*.tfrecord'), num_samples=3)


def test_clean_records_are_ok_with_value_ranges(clean):
  _, report = clean
  assert report.ok and report.num_records == 10
  assert report.features['pose'].present == 10
  assert report.label_ranges['action'] == {'min': -9.0, 'max': 9.0,
                                           'mean': 0.0}
  assert {os.path.basename(k): v['records']
          for k, v in report.files.items()} == {'a.tfrecord': 6,
                                                'b.tfrecord': 4}


def test_missing_optional_feature_is_no_problem(clean):
  _, report = clean
  assert report.features['extra'].missing == 10
  assert report.problems == []


@pytest.fixture(scope='module')
def defects(tmp_path_factory):
  """One file with a defect per record, its path and its report."""
  examples = _examples(9)
  del examples[0].features.feature['pose']
  examples[1].features.feature['pose'].float_list.value.append(1.0)
  del examples[2].features.feature['action'].float_list.value[:]
  examples[2].features.feature['action'].int64_list.value.extend([1, 2])
  examples[3].features.feature['image'].bytes_list.value[0] = b'junk'
  examples[4].features.feature['image'].bytes_list.value[0] = (
      tf.io.encode_png(np.zeros((5, 4, 3), np.uint8)).numpy())
  examples[5].features.feature['pose'].float_list.value[:] = [
      float('nan'), float('inf'), 100.0]
  records = [e.SerializeToString() for e in examples] + [b'\x0a\x05garbage']
  path = write_records(tmp_path_factory.mktemp('defects') / 'a.tfrecord',
                       records)
  report = _inspect(path)
  return path, report, {d['record']: d['reason']
                        for d in report.damaged_records}


def test_missing_required_feature_names_the_record(defects):
  path, report, reasons = defects
  assert report.features['pose'].missing == 1
  assert reasons[f'record 0 of {path}'] == '`pose` is missing'
  assert any(f'record 0 of {path}' in p for p in report.problems)


def test_wrong_value_count_is_a_shape_mismatch(defects):
  path, report, reasons = defects
  assert report.features['pose'].shape_mismatch == 1
  assert reasons[f'record 1 of {path}'] == (
      '`pose` holds 4 values, the spec expects 3 values')


def test_another_value_list_kind_is_a_dtype_mismatch(defects):
  path, report, reasons = defects
  assert report.features['action'].dtype_mismatch == 1
  assert reasons[f'record 2 of {path}'] == (
      '`action` is not stored as the float_list the spec reads')


def test_broken_and_misshaped_images(defects):
  path, report, reasons = defects
  stats = report.features['image']
  assert (stats.undecodable, stats.shape_mismatch) == (1, 1)
  assert reasons[f'record 3 of {path}'] == '`image` does not decode as PNG'
  assert reasons[f'record 4 of {path}'] == (
      '`image` decodes to (5, 4, 3), the spec expects (4, 4, 3)')


def test_nan_and_inf_are_counted_not_averaged(defects):
  _, report, _ = defects
  stats = report.features['pose']
  assert (stats.nan, stats.inf) == (1, 1)
  # The good records' poses: 2, 3, 4 (x3 each, record 5 adds 100).
  assert stats.max == 100.0 and stats.count == 6 * 3 + 1


def test_broken_wire_format_is_a_damaged_record(defects):
  path, report, reasons = defects
  assert report.num_records == 10 and report.num_damaged_records == 6
  assert 'wire format is broken' in reasons[f'record 9 of {path}']


def test_defects_in_required_features_fail_the_report(defects):
  _, report, _ = defects
  assert not report.ok
  assert [p.split(' (name')[0] for p in report.problems] == [
      "'state/pose'", "'state/image'", "'action' in labels"]


def test_damaged_file_names_the_unreadable_record(tmp_path):
  good = _write(tmp_path / 'good.tfrecord', _examples(8))
  damaged = corrupt_copy(good, tmp_path / 'damaged.tfrecord')
  report = _inspect(str(tmp_path / '*.tfrecord'))
  assert report.files[good] == {'records': 8, 'damaged_records': 0,
                                'unreadable_bytes': 0}
  damaged_report = report.files[damaged]
  assert 0 < damaged_report['records'] < 8
  assert damaged_report['damaged_records'] >= 1
  assert damaged_report['unreadable_bytes'] > 0
  entries = [d for d in report.damaged_records if damaged in d['record']]
  assert len(entries) == damaged_report['damaged_records']
  assert entries[0]['record'] == (
      f'record {damaged_report["records"]} of {damaged}')
  assert all(e['reason'].startswith('unreadable: bytes ') for e in entries)


def _episode_specs():
  features = specs.TensorSpecStruct()
  features['pose'] = specs.ExtendedTensorSpec((2,), tf.float32, name='pose',
                                              is_sequence=True)
  features['reset_seed'] = specs.ExtendedTensorSpec((), tf.int64,
                                                    name='reset_seed')
  labels = specs.TensorSpecStruct(action=specs.ExtendedTensorSpec(
      (2,), tf.float32, name='action', is_sequence=True))
  return features, labels


def _write_episodes(path, action_sequences):
  features, labels = _episode_specs()
  encoder = encoding.ExampleEncoder(features, labels)
  return write_records(path, [encoder.encode(
      {'pose': np.zeros((len(a), 2), np.float32), 'reset_seed': np.int64(i)},
      {'action': np.asarray(a, np.float32)})
                              for i, a in enumerate(action_sequences)])


def _moving(steps):
  return np.stack([np.arange(steps), -np.arange(steps)], 1) * 0.1


def test_sequence_episodes_lengths_idle_stretches_duplicates(tmp_path):
  still = np.concatenate([_moving(3), np.full((12, 2), 0.3)])
  path = _write_episodes(tmp_path / 'e.tfrecord',
                         [_moving(5), still, _moving(5)])
  features, labels = _episode_specs()
  report = inspection.inspect_records(path, features, labels,
                                      idle_min_steps=10)
  episodes = report.episodes
  assert episodes['num_episodes'] == 3
  assert episodes['length'] == {'min': 5, 'max': 15, 'mean': 25 / 3}
  assert episodes['idle_stretches'] == 1
  flagged, = episodes['flagged_episodes']
  assert flagged['episode'] == f'record 1 of {path}'
  assert flagged['idle_stretches'] == [[4, 15]]
  assert episodes['duplicate_episodes'] == 1
  assert episodes['duplicates'] == [[f'record 0 of {path}',
                                     f'record 2 of {path}']]


class _SumEnv:
  """Succeeds when the actions' first entries sum to at least 1."""

  def reset(self, seed=None, options=None):
    self._total = 0.0
    return np.zeros(2, np.float32), {}

  def step(self, action):
    self._total += float(action[0])
    return np.zeros(2, np.float32), 0.0, False, False, {
        'is_success': self._total >= 1.0}


def test_label_replay_runs_the_bcz_checks(tmp_path):
  path = _write_episodes(tmp_path / 'e.tfrecord',
                         [_moving(6), -_moving(6)])
  features, labels = _episode_specs()
  report = inspection.inspect_records(path, features, labels,
                                      reset_seed_key='reset_seed',
                                      env_fn=_SumEnv, idle_min_steps=3)
  assert report.episodes['label_replay'] == {
      'replayed': 2, 'failed': 1, 'success_rate': 0.5}
  failed, = [e for e in report.episodes['flagged_episodes']
             if e['replay'] and not e['replay']['success']]
  assert failed['episode'] == f'record 1 of {path}'


def test_label_replay_needs_a_reset_seed(tmp_path):
  features, labels = _episode_specs()
  with pytest.raises(ValueError, match='needs reset_seed_key'):
    inspection.inspect_records(str(tmp_path / '*'), features, labels,
                               env_fn=_SumEnv)


def test_transitions_are_grouped_by_episode_key(tmp_path):
  features = _feature_spec()
  features['episode'] = specs.ExtendedTensorSpec((), tf.int64,
                                                 name='episode')
  encoder = encoding.ExampleEncoder(features, _label_spec())
  records = []
  for episode, steps in ((0, 4), (1, 12)):
    for step in range(steps):
      action = np.float32([step, step]) if episode == 0 else np.float32(
          [1, 1])
      records.append(encoder.encode(
          {'state/pose': np.zeros(3, np.float32),
           'state/image': np.zeros((4, 4, 3), np.uint8),
           'episode': np.int64(episode)}, {'action': action}))
  path = write_records(tmp_path / 't.tfrecord', records)
  report = inspection.inspect_records(path, features, _label_spec(),
                                      batch_size=5, episode_key='episode',
                                      idle_min_steps=10)
  assert report.episodes['length'] == {'min': 4, 'max': 12, 'mean': 8.0}
  assert report.episodes['idle_episodes'] == 1
  assert report.episodes['flagged_episodes'][0]['episode'] == (
      f'{path} episode 1')


def test_json_report_is_written(clean, tmp_path):
  _, report = clean
  path = report.write_json(str(tmp_path / 'out' / 'report.json'))
  with open(path) as f:
    written = json.load(f)
  assert written['ok'] and written['num_records'] == 10
  assert written['features']['pose']['max'] == 9.0
  assert written['label_ranges'] == report.label_ranges


def test_contact_sheet_has_a_tile_per_sampled_image(clean, tmp_path):
  _, report = clean
  assert [sorted(s['values']) for s in report.samples] == [
      ['action', 'image', 'pose']] * 3
  sheet = contact_sheet.write_contact_sheet(
      report.samples, str(tmp_path / 'sheet.png'), tile_size=64, columns=2)
  with Image.open(sheet) as image:
    assert image.format == 'PNG'
    assert image.size == (2 * (64 + 4), 2 * (64 + 12 * 5 + 4 + 4))


class _GinModel(models.RegressionModel):
  """The model of the CLI tests (an export; `--gin_configs`)."""

  def __init__(self, **kwargs):
    super().__init__(**kwargs)
    self.dense = tf_keras.layers.Dense(2)

  def get_feature_specification(self, mode):
    return _feature_spec()

  def get_label_specification(self, mode):
    return _label_spec()

  def a_func(self, features, mode, config=None, params=None):
    return {'inference_output': self.dense(features.state.pose)}


gin.external_configurable(_GinModel, 'InspectionTestModel')


@pytest.fixture(scope='module')
def export_dir(tmp_path_factory):
  model = _GinModel()
  model.compile()
  model.build_from_specs()
  return default_export_generator.DefaultExportGenerator(
      export_tf_example_signature=False).export(
          model, str(tmp_path_factory.mktemp('export')))


def test_cli_exits_zero_for_good_and_one_for_bad_records(tmp_path,
                                                         export_dir):
  good = _write(tmp_path / 'good.tfrecord', _examples(3))
  bad_examples = _examples(3)
  del bad_examples[0].features.feature['pose']
  bad = _write(tmp_path / 'bad.tfrecord', bad_examples)
  assert data_tools.main(['inspect', good, '--export_dir', export_dir,
                          '--output_dir', str(tmp_path / 'good')]) == 0
  assert os.path.exists(tmp_path / 'good' / data_tools.CONTACT_SHEET_FILENAME)
  assert data_tools.main(['inspect', bad, '--export_dir', export_dir,
                          '--output_dir', str(tmp_path / 'bad')]) == 1
  with open(tmp_path / 'bad' / data_tools.REPORT_FILENAME) as f:
    assert json.load(f)['features']['pose']['missing'] == 1


def test_cli_reports_a_pattern_without_files(tmp_path, export_dir, capsys):
  assert data_tools.main(['inspect', str(tmp_path / 'none-*'),
                          '--export_dir', export_dir]) == 2
  assert 't2r inspect:' in capsys.readouterr().err


def test_cli_takes_the_specs_from_a_gin_config(tmp_path):
  bad_examples = _examples(2)
  del bad_examples[1].features.feature['action']
  records = _write(tmp_path / 'a.tfrecord', bad_examples)
  config = tmp_path / 'model.gin'
  config.write_text('train_eval_model.t2r_model = @InspectionTestModel\n')
  gin.clear_config()
  try:
    assert data_tools.main(['inspect', records, '--gin_configs', str(config),
                            '--output_dir', str(tmp_path)]) == 1
  finally:
    gin.clear_config()
  with open(tmp_path / data_tools.REPORT_FILENAME) as f:
    report = json.load(f)
  assert report['features']['action']['missing'] == 1
  assert report['features']['action']['paths'] == ["'action' in labels"]
