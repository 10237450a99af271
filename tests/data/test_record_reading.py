"""Reading TFRecord files as (record, where), naming damaged files."""

import pytest
import tensorflow as tf

from t2r.data import corrupt_record_log
from t2r.data import record_reading
import record_files

# Records of `_records(10)` are 8 bytes, 24 bytes with TFRecord framing.
_RECORD_BYTES = 24


def _records(count, prefix=b'record'):
  return [prefix + b'%02d' % i for i in range(count)]


def _read(paths, skip_corrupt=False, compression_type='', log=None):
  """All (record, where) pairs of `paths`, read file after file."""
  log = log or corrupt_record_log.CorruptRecordLog()
  sizes = record_reading.file_sizes(paths, compression_type)
  files = tf.data.Dataset.from_tensor_slices(
      (paths, tf.constant(sizes, tf.int64)))
  dataset = files.interleave(
      lambda name, size: record_reading.read_records_with_filenames(
          name, size, compression_type, None, skip_corrupt, log),
      cycle_length=1)
  return [(record.numpy(), where.numpy().decode())
          for record, where in dataset]


def _damaged(tmp_path, edit, count=10):
  """A file of `_records(count)` with `edit(data) -> data` applied."""
  good = record_files.write_records(tmp_path / 'good.tfrecord',
                                    _records(count))
  with open(good, 'rb') as f:
    data = bytearray(f.read())
  path = tmp_path / 'damaged.tfrecord'
  path.write_bytes(bytes(edit(data)))
  return str(path)


def _flip(*offsets):
  def edit(data):
    for offset in offsets:
      data[offset] ^= 0xFF
    return data
  return edit


def _kept(pairs):
  return [record for record, _ in pairs]


def test_file_sizes_are_the_file_lengths(tmp_path):
  paths = [record_files.write_records(tmp_path / f'{i}.tfrecord',
                                      _records(i)) for i in range(3)]
  assert record_reading.file_sizes(paths, '') == [0, 24, 48]


def test_compressed_files_are_not_sized():
  assert record_reading.file_sizes(['/no/a.gz', '/no/b.gz'], 'GZIP') == [
      -1, -1]


def test_records_come_with_their_index_and_file(tmp_path):
  first = record_files.write_records(tmp_path / 'a.tfrecord', [b'x', b'y'])
  second = record_files.write_records(tmp_path / 'b.tfrecord', [b'z'])
  assert _read([first, second]) == [(b'x', f'record 0 of {first}'),
                                    (b'y', f'record 1 of {first}'),
                                    (b'z', f'record 0 of {second}')]


def test_files_of_many_chunks_are_read_to_the_end(tmp_path):
  # More records than one read chunk: the completeness check must add up.
  path = record_files.write_records(tmp_path / 'long.tfrecord',
                                    _records(150))
  pairs = _read([path])
  assert _kept(pairs) == _records(150)
  assert pairs[-1][1] == f'record 149 of {path}'


def test_an_empty_file_has_no_records(tmp_path):
  assert _read([record_files.write_records(tmp_path / 'e.tfrecord', [])]) == []


@pytest.mark.parametrize('edit, readable', [
    # Cut at 75%: 7 records and half of an eighth.
    (lambda data: data[:int(0.75 * len(data))], 7),
    (lambda data: data + bytes(range(37)), 10),
    (_flip(4 * _RECORD_BYTES + 14), 4),
])
def test_a_damaged_file_fails_saying_what_could_be_read(tmp_path, edit,
                                                        readable):
  good = record_files.write_records(tmp_path / 'a.tfrecord', _records(3))
  bad = _damaged(tmp_path, edit)
  size = len(open(bad, 'rb').read())
  with pytest.raises(
      tf.errors.InvalidArgumentError,
      match=f'Corrupt or truncated TFRecord file {bad}: its first '
      f'{readable} records \\({readable * _RECORD_BYTES} of its {size} bytes'
      f'\\) could be read, then the record at byte '
      f'{readable * _RECORD_BYTES} is damaged or cut off.*'
      'skip_corrupt_records=True'):
    _read([good, bad])


@pytest.mark.parametrize('edit, kept, skipped', [
    # Cut at 75%: the records before the cut.
    (lambda data: data[:int(0.75 * len(data))], _records(7), 1),
    # Junk after the last record.
    (lambda data: data + bytes(range(37)), _records(10), 1),
    # A damaged byte in the data of record 4: only that record is lost.
    (_flip(4 * _RECORD_BYTES + 14), _records(4) + _records(10)[5:], 1),
    # Two damaged records in a row.
    (_flip(4 * _RECORD_BYTES + 14, 5 * _RECORD_BYTES + 14),
     _records(4) + _records(10)[6:], 2),
    # A damaged length (record 4): the rest cannot be found.
    (_flip(4 * _RECORD_BYTES), _records(4), 1),
])
def test_skip_mode_keeps_every_readable_record(tmp_path, edit, kept,
                                               skipped):
  bad = _damaged(tmp_path, edit)
  log = corrupt_record_log.CorruptRecordLog()
  pairs = _read([bad], skip_corrupt=True, log=log)
  assert _kept(pairs) == kept
  assert log.skipped_records == skipped
  assert log.truncated_files == [bad]


def test_skip_mode_keeps_the_indices_of_the_records_after_a_damage(tmp_path):
  bad = _damaged(tmp_path, _flip(4 * _RECORD_BYTES + 14))
  pairs = _read([bad], skip_corrupt=True)
  assert pairs[4] == (b'record05', f'record 5 of {bad}')


def test_skip_mode_logs_the_damaged_bytes(tmp_path, capfd):
  bad = _damaged(tmp_path, lambda data: data[:int(0.75 * len(data))])
  _read([bad], skip_corrupt=True)
  assert (f'Skipped corrupt record 7 of {bad}: bytes 168 to 180 of its 180 '
          'bytes cannot be read') in capfd.readouterr().err


def test_skip_mode_reads_the_files_after_a_damaged_one(tmp_path):
  bad = _damaged(tmp_path, _flip(4))
  good = record_files.write_records(tmp_path / 'more.tfrecord', [b'ok'])
  assert _read([bad, good], skip_corrupt=True) == [
      (b'ok', f'record 0 of {good}')]


def test_compressed_files_are_read_without_the_size_check(tmp_path):
  path = record_files.write_records(tmp_path / 'a.tfrecord.gz', _records(70),
                                    compression_type='GZIP')
  pairs = _read([path], compression_type='GZIP')
  assert _kept(pairs) == _records(70)
  assert pairs[69][1] == f'record 69 of {path}'
