"""Reading TFRecord files as (record, filename), naming damaged files."""

import pytest
import tensorflow as tf

from t2r.data import corrupt_record_log
from t2r.data import record_reading
import record_files


def _records(count, prefix=b'r'):
  return [prefix + b'%d' % i for i in range(count)]


def _read(paths, skip_corrupt=False, compression_type='', log=None):
  """All (record, filename) pairs of `paths`, read file after file."""
  log = log or corrupt_record_log.CorruptRecordLog()
  sizes = record_reading.file_sizes(paths, compression_type)
  files = tf.data.Dataset.from_tensor_slices(
      (paths, tf.constant(sizes, tf.int64)))
  dataset = files.interleave(
      lambda name, size: record_reading.read_records_with_filenames(
          name, size, compression_type, None, skip_corrupt, log),
      cycle_length=1)
  return [(record.numpy(), name.numpy().decode()) for record, name in dataset]


def test_file_sizes_are_the_file_lengths(tmp_path):
  paths = [record_files.write_records(tmp_path / f'{i}.tfrecord',
                                      _records(i)) for i in range(3)]
  # TFRecord framing adds 16 bytes to each record.
  assert record_reading.file_sizes(paths, '') == [0, 18, 36]


def test_compressed_files_are_not_sized():
  assert record_reading.file_sizes(['/no/a.gz', '/no/b.gz'], 'GZIP') == [
      -1, -1]


def test_records_come_paired_with_their_file_name(tmp_path):
  first = record_files.write_records(tmp_path / 'a.tfrecord', [b'x', b'y'])
  second = record_files.write_records(tmp_path / 'b.tfrecord', [b'z'])
  assert _read([first, second]) == [(b'x', first), (b'y', first),
                                    (b'z', second)]


def test_files_of_many_chunks_are_read_to_the_end(tmp_path):
  # More records than one read chunk: the completeness check must add up.
  path = record_files.write_records(tmp_path / 'long.tfrecord',
                                    _records(150))
  assert [record for record, _ in _read([path])] == _records(150)


def test_an_empty_file_has_no_records(tmp_path):
  assert _read([record_files.write_records(tmp_path / 'e.tfrecord', [])]) == []


@pytest.mark.parametrize('damage', ['flip', 'truncate'])
def test_a_corrupt_file_fails_naming_the_file(tmp_path, damage):
  good = record_files.write_records(tmp_path / 'good.tfrecord', _records(6))
  bad = record_files.corrupt_copy(good, tmp_path / 'broken.tfrecord', damage)
  with pytest.raises(tf.errors.InvalidArgumentError,
                     match=r'(?s)Corrupt or truncated TFRecord file.*'
                     r'broken\.tfrecord.*skip_corrupt_records=True'):
    _read([good, bad])


@pytest.mark.parametrize('damage, kept', [
    # Record 75 is damaged: its chunk of 64 records and the rest are lost.
    ('flip', 64),
    # The last record is cut: the records before it are read.
    ('truncate', 149),
])
def test_skip_mode_keeps_what_was_read_before_the_damage(tmp_path, damage,
                                                         kept):
  good = record_files.write_records(tmp_path / 'long.tfrecord', _records(150))
  bad = record_files.corrupt_copy(good, tmp_path / 'broken.tfrecord', damage)
  log = corrupt_record_log.CorruptRecordLog()
  records = [record for record, _ in _read([bad], skip_corrupt=True, log=log)]
  assert records == _records(kept)
  assert log.truncated_files == [bad]


def test_skip_mode_reads_the_files_after_a_damaged_one(tmp_path):
  bad = record_files.corrupt_copy(
      record_files.write_records(tmp_path / 'a.tfrecord', _records(6)),
      tmp_path / 'broken.tfrecord')
  good = record_files.write_records(tmp_path / 'good.tfrecord', [b'ok'])
  assert _read([bad, good], skip_corrupt=True) == [(b'ok', good)]


def test_compressed_files_are_read_without_the_size_check(tmp_path):
  path = record_files.write_records(tmp_path / 'a.tfrecord.gz', _records(70),
                                    compression_type='GZIP')
  records = [r for r, _ in _read([path], compression_type='GZIP')]
  assert records == _records(70)
