"""FractionalRecordInputGenerator reads the first fraction of its files."""

import gin
import pytest
import tensorflow as tf

from t2r import specs
from t2r.data import fractional_input_generator
from t2r.modes import ModeKeys
import record_files

FractionalRecordInputGenerator = (
    fractional_input_generator.FractionalRecordInputGenerator)


def _example(x: float) -> bytes:
  return tf.train.Example(features=tf.train.Features(feature={
      'x': tf.train.Feature(float_list=tf.train.FloatList(value=[x])),
  })).SerializeToString()


def _write_files(directory, num_files, prefix='data'):
  """File i holds the ids 10 * i and 10 * i + 1."""
  for i in range(num_files):
    record_files.write_records(directory / f'{prefix}-{i}.tfrecord',
                               [_example(10 * i), _example(10 * i + 1)])
  return f'{directory}/{prefix}-*.tfrecord'


def _spec(dataset_key=''):
  return specs.TensorSpecStruct(x=specs.ExtendedTensorSpec(
      (1,), tf.float32, name='x', dataset_key=dataset_key))


def _file_ids(generator, spec=None):
  """{feature path: sorted file indices} of the records of one EVAL pass."""
  generator.set_feature_specifications(spec or _spec())
  generator.set_label_specifications(specs.TensorSpecStruct())
  files = {}
  for features, _ in generator.create_dataset(ModeKeys.EVAL):
    for path, values in features.items():
      files.setdefault(path, set()).update(
          int(value) // 10 for value in values[:, 0].numpy())
  return {path: sorted(indices) for path, indices in files.items()}


@pytest.mark.parametrize('fraction, files', [(0.5, [0, 1]), (0.75, [0, 1, 2]),
                                             (1.0, [0, 1, 2, 3])])
def test_reads_the_first_fraction_of_the_sorted_files(tmp_path, fraction,
                                                      files):
  pattern = _write_files(tmp_path, num_files=4)
  generator = FractionalRecordInputGenerator(
      file_fraction=fraction, file_patterns=pattern, num_epochs=1,
      batch_size=2)
  assert _file_ids(generator) == {'x': files}


def test_rounds_the_number_of_files_down_as_t2r(tmp_path):
  pattern = _write_files(tmp_path, num_files=3)
  generator = FractionalRecordInputGenerator(
      file_fraction=0.6, file_patterns=pattern, num_epochs=1, batch_size=2)
  assert _file_ids(generator) == {'x': [0]}


def test_a_fraction_that_keeps_no_file_is_an_error(tmp_path):
  pattern = _write_files(tmp_path, num_files=3)
  generator = FractionalRecordInputGenerator(
      file_fraction=0.2, file_patterns=pattern, num_epochs=1)
  with pytest.raises(ValueError, match='of the 3 files keeps no file'):
    _file_ids(generator)


def test_files_are_resolved_when_the_dataset_is_created(tmp_path):
  pattern = f'{tmp_path}/data-*.tfrecord'
  generator = FractionalRecordInputGenerator(
      file_fraction=0.5, file_patterns=pattern, num_epochs=1, batch_size=2)
  _write_files(tmp_path, num_files=2)  # After the generator was built.
  assert _file_ids(generator) == {'x': [0]}


def test_the_fraction_applies_to_each_stream_of_a_dataset_map(tmp_path):
  (tmp_path / 'a').mkdir()
  (tmp_path / 'b').mkdir()
  generator = FractionalRecordInputGenerator(
      file_fraction=0.5, num_epochs=1, batch_size=2, dataset_map={
          'a': _write_files(tmp_path / 'a', num_files=4),
          'b': _write_files(tmp_path / 'b', num_files=2),
      })
  spec = specs.TensorSpecStruct(
      a=specs.ExtendedTensorSpec((1,), tf.float32, name='x', dataset_key='a'),
      b=specs.ExtendedTensorSpec((1,), tf.float32, name='x', dataset_key='b'))
  # b keeps its file 0; the zip stops after its 2 records.
  assert _file_ids(generator, spec) == {'a': [0, 1], 'b': [0]}


@pytest.mark.parametrize('fraction', [0, 0.0, -0.5, 1.5, True, '0.5'])
def test_invalid_fractions_are_rejected(fraction):
  with pytest.raises(ValueError, match=r'file_fraction must be a number in '
                     r'\(0, 1\]'):
    FractionalRecordInputGenerator(file_fraction=fraction,
                                   file_patterns='/data/*')


def test_is_gin_configurable(tmp_path):
  gin.clear_config()
  try:
    gin.parse_config(f"""
FractionalRecordInputGenerator.file_fraction = 0.5
FractionalRecordInputGenerator.file_patterns = '{tmp_path}/data-*'
""")
    assert FractionalRecordInputGenerator().file_fraction == 0.5
  finally:
    gin.clear_config()
