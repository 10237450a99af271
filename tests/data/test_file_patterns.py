"""Specification of file pattern strings: lists, prefixes, no-match errors."""

import gzip

import pytest

from t2r.data import file_patterns


@pytest.fixture
def files(tmp_path):
  paths = {}
  for name in ('a-0.tfrecord', 'a-1.tfrecord', 'b-0.tfrecord'):
    path = tmp_path / name
    path.write_bytes(b'')
    paths[name] = str(path)
  return tmp_path, paths


def test_a_glob_returns_the_sorted_matches(files):
  directory, paths = files
  data_format, filenames = file_patterns.get_data_format_and_filenames(
      f'{directory}/a-*.tfrecord')
  assert data_format == 'tfrecord'
  assert filenames == [paths['a-0.tfrecord'], paths['a-1.tfrecord']]


def test_comma_separated_globs_are_merged_without_duplicates(files):
  directory, paths = files
  _, filenames = file_patterns.get_data_format_and_filenames(
      f'{directory}/b-*.tfrecord, {directory}/a-0.tfrecord,{directory}/*-0*')
  assert filenames == [paths['a-0.tfrecord'], paths['b-0.tfrecord']]


@pytest.mark.parametrize('prefix', ['tfrecord:', 'TFRecord:'])
def test_the_tfrecord_prefix_is_accepted_on_every_entry(files, prefix):
  directory, paths = files
  data_format, filenames = file_patterns.get_data_format_and_filenames(
      f'{prefix}{directory}/a-0.tfrecord,{prefix}{directory}/b-0.tfrecord')
  assert data_format == 'tfrecord'
  assert filenames == [paths['a-0.tfrecord'], paths['b-0.tfrecord']]


def test_a_url_scheme_is_not_mistaken_for_a_prefix(files):
  directory, paths = files
  _, filenames = file_patterns.get_data_format_and_filenames(
      f'file://{directory}/b-0.tfrecord')
  assert [f.replace('file://', '') for f in filenames] == [
      paths['b-0.tfrecord']
  ]


def test_a_pattern_matching_nothing_is_an_error_naming_it(files):
  directory, _ = files
  missing = f'{directory}/typo-*.tfrecord'
  with pytest.raises(ValueError, match='typo-'):
    file_patterns.get_data_format_and_filenames(
        f'{directory}/a-*.tfrecord,{missing}')


def test_an_unknown_prefix_is_an_error_naming_it(files):
  directory, _ = files
  with pytest.raises(ValueError, match="'sstable:'.*supported"):
    file_patterns.get_data_format_and_filenames(f'sstable:{directory}/a-0*')


@pytest.mark.parametrize('bad', ['', ' , ', None, ['a', 'b']])
def test_empty_or_non_string_patterns_are_rejected(bad):
  with pytest.raises((ValueError, TypeError)):
    file_patterns.get_data_format_and_filenames(bad)


def test_a_dataset_map_resolves_each_key(files):
  directory, paths = files
  data_format, filenames = file_patterns.get_data_format_and_filenames_map({
      'left': f'{directory}/a-*',
      'right': f'tfrecord:{directory}/b-*'
  })
  assert data_format == 'tfrecord'
  assert filenames == {
      'left': [paths['a-0.tfrecord'], paths['a-1.tfrecord']],
      'right': [paths['b-0.tfrecord']]
  }


def test_a_dataset_map_error_names_the_key(files):
  directory, _ = files
  with pytest.raises(ValueError, match=r"dataset_map\['right'\].*nothing-"):
    file_patterns.get_data_format_and_filenames_map({
        'left': f'{directory}/a-*',
        'right': f'{directory}/nothing-*'
    })


def test_gzip_files_are_detected_by_their_magic_bytes(tmp_path):
  compressed = tmp_path / 'c.tfrecord.gz'
  compressed.write_bytes(gzip.compress(b'records'))
  plain = tmp_path / 'p.tfrecord'
  plain.write_bytes(b'records')
  assert file_patterns.detect_compression_type(str(compressed)) == 'GZIP'
  assert file_patterns.detect_compression_type(str(plain)) == ''
