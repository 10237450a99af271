"""TFRecordReplayWriter: files appear complete or not at all."""

import collections
import gc
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import tensorflow as tf

from t2r import specs
from t2r.data import encoding
from t2r.data import parsing
from t2r.data import replay_writer

Spec = specs.ExtendedTensorSpec


def _spec():
  return specs.TensorSpecStruct({
      'state': Spec((2,), tf.float32, name='state'),
      'step': Spec((), tf.int64, name='step')
  })


def _values(step):
  return {'state': np.full(2, step, np.float32), 'step': np.int64(step)}


def _read(path, compression_type=None):
  return [
      record.numpy() for record in tf.data.TFRecordDataset(
          path, compression_type=compression_type)
  ]


def test_file_appears_only_when_closed(tmp_path):
  path = str(tmp_path / 'episode.tfrecord')
  writer = replay_writer.TFRecordReplayWriter().open(path)
  writer.write([b'a', b'b'])
  writer.flush()
  assert tf.io.gfile.glob(str(tmp_path / '*.tfrecord')) == []
  assert [name.startswith('.episode.tfrecord.tmp-')
          for name in os.listdir(tmp_path)] == [True]
  writer.close()
  assert os.listdir(tmp_path) == ['episode.tfrecord']
  assert _read(path) == [b'a', b'b']


def test_an_unclosed_writer_is_completed_when_collected(tmp_path):
  path = str(tmp_path / 'episode.tfrecord')
  writer = replay_writer.TFRecordReplayWriter().open(path)
  writer.write([b'a', b'b'])
  with pytest.warns(RuntimeWarning,
                    match=r"episode.tfrecord' was never closed; completing "
                    'it with its 2 records'):
    del writer
    gc.collect()
  assert os.listdir(tmp_path) == ['episode.tfrecord']
  assert _read(path) == [b'a', b'b']


def _run_collector(directory, lines):
  """Runs a collector script (after `writer = ...; writer.open(...)`)."""
  script = '\n'.join([
      'import os, signal',
      'from t2r.data import replay_writer',
      'writer = replay_writer.TFRecordReplayWriter(max_records_per_file=3)',
      f'writer.open({str(directory / "replay.tfrecord")!r})',
  ] + lines)
  return subprocess.run(
      [sys.executable, '-c', script], capture_output=True, text=True,
      timeout=120, check=False,
      env=dict(os.environ, CUDA_VISIBLE_DEVICES='', TF_CPP_MIN_LOG_LEVEL='2'))


def test_a_process_that_exits_without_closing_loses_nothing(tmp_path):
  result = _run_collector(tmp_path, [
      'for i in range(5):', "  writer.write(b'%d' % i)"])
  assert result.returncode == 0, result.stderr
  assert "replay-00001.tfrecord' was never closed" in result.stderr
  assert sorted(os.listdir(tmp_path)) == [
      'replay-00000.tfrecord', 'replay-00001.tfrecord']
  assert _read(str(tmp_path / 'replay-00001.tfrecord')) == [b'3', b'4']


def test_a_killed_process_loses_only_its_current_small_file(tmp_path):
  result = _run_collector(tmp_path, [
      'for i in range(10):', "  writer.write(b'%d' % i)", 'writer.flush()',
      'os.kill(os.getpid(), signal.SIGKILL)'])
  assert result.returncode == -signal.SIGKILL, result.stderr
  complete = sorted(tf.io.gfile.glob(str(tmp_path / '*.tfrecord')))
  assert [_read(path) for path in complete] == [
      [b'0', b'1', b'2'], [b'3', b'4', b'5'], [b'6', b'7', b'8']]
  # Record 9 is in the hidden temporary file that no reader opens.
  hidden = [name for name in os.listdir(tmp_path) if name.startswith('.')]
  assert [name.startswith('.replay-00003.tfrecord.tmp-')
          for name in hidden] == [True]


def test_files_rotate_by_size(tmp_path):
  writer = replay_writer.TFRecordReplayWriter(max_bytes_per_file=25)
  with writer.open(str(tmp_path / 'replay.tfrecord')):
    writer.write([b'x' * 10] * 5 + [b'y' * 30, b'z'])
  # A file is completed once its records reach 25 bytes.
  assert [[len(record) for record in _read(path)]
          for path in writer.written_paths] == [[10, 10, 10], [10, 10, 30],
                                                [1]]


@pytest.mark.parametrize('limit', ['max_records_per_file',
                                   'max_bytes_per_file'])
@pytest.mark.parametrize('value', [0, -1, 2.5, True])
def test_rotation_limits_must_be_positive_ints(limit, value):
  with pytest.raises(ValueError, match=f'{limit} must be a positive int'):
    replay_writer.TFRecordReplayWriter(**{limit: value})


def test_reader_polling_the_directory_never_sees_a_partial_file(tmp_path):
  pattern = str(tmp_path / '*.tfrecord')
  records_per_file, files = 10, 20
  done = threading.Event()
  seen = {}  # path -> number of records it held when first listed.
  listings_while_writing = []
  errors = []

  def poll():
    try:
      while not done.is_set() or len(seen) < files:
        paths = tf.io.gfile.glob(pattern)
        if not done.is_set():
          listings_while_writing.append(len(paths))
        for path in paths:
          if path not in seen:
            records = _read(path)
            for record in records:
              tf.train.Example.FromString(record)  # Complete, parseable.
            seen[path] = len(records)
    except Exception as e:  # pylint: disable=broad-except
      errors.append(e)

  reader = threading.Thread(target=poll)
  reader.start()
  try:
    with replay_writer.TFRecordReplayWriter(
        feature_spec=_spec(), max_records_per_file=records_per_file) as w:
      w.open(str(tmp_path / 'replay.tfrecord'))
      for step in range(records_per_file * files):
        w.write(_values(step))
        w.flush()  # Partial temporary files really are on disk.
        time.sleep(0.003)  # Lets the reader list the directory meanwhile.
  finally:
    done.set()
    reader.join(timeout=60)
  assert not errors
  assert not reader.is_alive()
  # The reader listed the directory while files were being written.
  assert max(listings_while_writing) > 0
  assert len(seen) == files
  assert set(seen.values()) == {records_per_file}


def test_gzip_round_trip(tmp_path):
  path = str(tmp_path / 'episode.tfrecord.gz')
  with replay_writer.TFRecordReplayWriter(
      compression_type='GZIP', feature_spec=_spec()) as writer:
    writer.open(path)
    writer.write([_values(1), _values(2)])
  with open(path, 'rb') as f:
    assert f.read(2) == b'\x1f\x8b'  # gzip magic.
  records = _read(path, compression_type='GZIP')
  features = parsing.create_parse_tf_example_fn(_spec())(records)
  np.testing.assert_array_equal(features.step.numpy(), [1, 2])
  np.testing.assert_array_equal(features.state.numpy(), [[1, 1], [2, 2]])


def test_writes_protos_and_serialized_records(tmp_path):
  path = str(tmp_path / 'r.tfrecord')
  example = tf.train.Example()
  example.features.feature['x'].int64_list.value.append(3)
  with replay_writer.TFRecordReplayWriter().open(path) as writer:
    writer.write(example)
    writer.write(b'raw')
  assert _read(path) == [example.SerializeToString(), b'raw']


def test_rotation_writes_numbered_files(tmp_path):
  writer = replay_writer.TFRecordReplayWriter(max_records_per_file=2)
  with writer.open(str(tmp_path / 'replay.tfrecord.gz')):
    writer.write([b'0', b'1', b'2', b'3', b'4'])
  names = [os.path.basename(path) for path in writer.written_paths]
  assert names == [
      'replay-00000.tfrecord.gz', 'replay-00001.tfrecord.gz',
      'replay-00002.tfrecord.gz'
  ]
  assert [_read(path) for path in writer.written_paths] == [[b'0', b'1'],
                                                           [b'2', b'3'],
                                                           [b'4']]
  assert sorted(os.listdir(tmp_path)) == names


def test_an_exception_discards_the_unfinished_file(tmp_path):
  with pytest.raises(RuntimeError):
    with replay_writer.TFRecordReplayWriter() as writer:
      writer.open(str(tmp_path / 'episode.tfrecord'))
      writer.write(b'half an episode')
      raise RuntimeError('robot fell over')
  assert os.listdir(tmp_path) == []


def test_existing_files_are_kept_unless_overwrite(tmp_path):
  path = str(tmp_path / 'episode.tfrecord')
  replay_writer.TFRecordReplayWriter().open(path).close()
  with pytest.raises(ValueError, match='already exists'):
    replay_writer.TFRecordReplayWriter().open(path)
  with replay_writer.TFRecordReplayWriter(overwrite=True).open(path) as writer:
    writer.write(b'new')
  assert _read(path) == [b'new']


def test_open_creates_the_directory(tmp_path):
  path = str(tmp_path / 'a' / 'b' / 'episode.tfrecord')
  replay_writer.TFRecordReplayWriter().open(path).close()
  assert os.path.exists(path)


def test_values_need_a_spec(tmp_path):
  with replay_writer.TFRecordReplayWriter().open(str(tmp_path / 'x')) as w:
    with pytest.raises(TypeError, match='no feature_spec'):
      w.write(_values(0))


def test_values_are_checked_against_the_spec(tmp_path):
  with replay_writer.TFRecordReplayWriter(feature_spec=_spec()) as writer:
    writer.open(str(tmp_path / 'x'))
    with pytest.raises(ValueError, match=r"'state' \(name 'state'\)"):
      writer.write({'state': np.zeros(3, np.float32), 'step': np.int64(0)})


def test_write_before_open_fails(tmp_path):
  with pytest.raises(ValueError, match=r'before open\(path\)'):
    replay_writer.TFRecordReplayWriter().write(b'x')


def test_unknown_compression_type_is_rejected():
  with pytest.raises(ValueError, match='GZIP'):
    replay_writer.TFRecordReplayWriter(compression_type='zip')


def test_writes_feature_and_label_pairs(tmp_path):
  label_spec = {'reward': Spec((), tf.float32, name='reward')}
  path = str(tmp_path / 'e.tfrecord')
  with replay_writer.TFRecordReplayWriter(_spec(), label_spec) as writer:
    writer.open(path)
    writer.write([(_values(1), {'reward': np.float32(0.5)}),
                  (_values(2), {'reward': np.float32(1.0)})])
  _, labels = parsing.create_parse_tf_example_fn(_spec(),
                                                 label_spec)(_read(path))
  np.testing.assert_array_equal(labels.reward.numpy(), [0.5, 1.0])


def test_records_written_by_the_encoder_and_writer_agree(tmp_path):
  path = str(tmp_path / 'e.tfrecord')
  with replay_writer.TFRecordReplayWriter(feature_spec=_spec()) as writer:
    writer.open(path)
    writer.write(_values(5))
  assert _read(path) == [encoding.encode_example(_spec(), _values(5))]


def test_a_failing_write_writes_none_of_its_records(tmp_path):
  path = str(tmp_path / 'e.tfrecord')
  bad = {'state': np.zeros(3, np.float32), 'step': np.int64(12)}
  with replay_writer.TFRecordReplayWriter(feature_spec=_spec()) as writer:
    writer.open(path)
    writer.write(_values(9))
    with pytest.raises(
        ValueError, match=r'record 2 of the 4 given: Spec .*state.* expects '
        r'\(2,\) float32 but got \(3,\).* Nothing of this call was written'):
      writer.write([_values(10), _values(11), bad, _values(13)])
    writer.write([_values(10), _values(11), _values(12), _values(13)])  # Retry.
  features = parsing.create_parse_tf_example_fn(_spec())(_read(path))
  np.testing.assert_array_equal(features.step.numpy(), [9, 10, 11, 12, 13])


def test_a_misspelt_optional_key_is_an_error(tmp_path):
  spec = _spec()
  spec['extra'] = Spec((1,), tf.float32, name='extra', is_optional=True)
  with replay_writer.TFRecordReplayWriter(feature_spec=spec) as writer:
    writer.open(str(tmp_path / 'e.tfrecord'))
    with pytest.raises(ValueError,
                       match=r"hold \['extar'\], which no spec declares; "
                       r"the specs declare the features \['extra', 'state', "
                       r"'step'\]"):
      writer.write(dict(_values(0), extar=np.zeros(1, np.float32)))


def test_namedtuples_of_values_are_features(tmp_path):
  transition = collections.namedtuple('Transition', ['state', 'step'])
  path = str(tmp_path / 'e.tfrecord')
  with replay_writer.TFRecordReplayWriter(feature_spec=_spec()) as writer:
    writer.open(path)
    writer.write(transition(**_values(4)))
  assert _read(path) == [encoding.encode_example(_spec(), _values(4))]


def test_a_spec_configured_writer_checks_serialized_records(tmp_path):
  path = str(tmp_path / 'e.tfrecord')
  good = encoding.encode_example(_spec(), _values(1))
  with replay_writer.TFRecordReplayWriter(feature_spec=_spec()) as writer:
    writer.open(path)
    writer.write([tf.train.Example.FromString(good), good])
    with pytest.raises(ValueError,
                       match=r"Record 1 has no feature 'state', which the "
                       'required spec .* nothing of this call was written'):
      writer.write([good, tf.train.Example()])
    with pytest.raises(ValueError, match='Record 0 is not a serialized '
                       'Example'):
      writer.write(b'arbitrary bytes')
  features = parsing.create_parse_tf_example_fn(_spec())(_read(path))
  np.testing.assert_array_equal(features.step.numpy(), [1, 1])
