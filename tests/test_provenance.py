"""Provenance: fingerprints, git state, collector sidecars, export assets."""

import json
import os
import subprocess

import pytest
import tensorflow as tf

from t2r import provenance
from t2r import specs
from t2r.data import replay_writer

import flywheel_helpers


def _write(path, content: bytes) -> str:
  with open(path, 'wb') as f:
    f.write(content)
  return str(path)


def test_fingerprint_is_the_same_for_a_copy(tmp_path):
  original = _write(tmp_path / 'a', os.urandom(200_000))
  copy = _write(tmp_path / 'b', open(original, 'rb').read())
  assert provenance.fingerprint_file(original) == provenance.fingerprint_file(
      copy)


@pytest.mark.parametrize('change', ['append', 'head', 'tail'])
def test_fingerprint_changes_with_the_content(tmp_path, change):
  data = bytearray(os.urandom(200_000))
  path = _write(tmp_path / 'a', bytes(data))
  before = provenance.fingerprint_file(path)
  if change == 'append':
    data += b'x'
  else:
    data[0 if change == 'head' else -1] ^= 0xFF
  _write(path, bytes(data))
  assert provenance.fingerprint_file(path) != before


def test_fingerprint_of_a_missing_file_raises(tmp_path):
  with pytest.raises(FileNotFoundError, match='no such file'):
    provenance.fingerprint_file(str(tmp_path / 'missing'))


def _git(directory, *args):
  subprocess.run(['git', '-C', str(directory), *args], check=True,
                 capture_output=True)


@pytest.fixture
def repository(tmp_path):
  _git(tmp_path, 'init', '-q')
  _git(tmp_path, 'config', 'user.email', 't@example.com')
  _git(tmp_path, 'config', 'user.name', 'T')
  _write(tmp_path / 'code.py', b'x = 1\n')
  _git(tmp_path, 'add', 'code.py')
  _git(tmp_path, 'commit', '-q', '-m', 'first')
  return tmp_path


def test_clean_checkout_has_commit_and_no_diff(repository):
  version = provenance.code_version(str(repository))
  assert len(version.commit) == 40 and not version.dirty
  assert version.as_extra() == {'git_commit': version.commit,
                                'git_dirty': 'false'}


def test_dirty_checkout_hashes_its_changes(repository):
  _write(repository / 'code.py', b'x = 2\n')
  first = provenance.code_version(str(repository))
  _write(repository / 'new.py', b'y = 1\n')
  second = provenance.code_version(str(repository))
  assert first.dirty and second.dirty
  assert first.diff_sha256 and first.diff_sha256 != second.diff_sha256
  assert second.as_extra()['git_diff_sha256'] == second.diff_sha256


def test_directory_outside_a_checkout_has_no_commit(tmp_path):
  version = provenance.code_version(str(tmp_path))
  assert version.commit == '' and 'not in a git checkout' in version.problem


def test_writer_puts_a_sidecar_beside_every_file(tmp_path):
  writer = replay_writer.TFRecordReplayWriter(max_records_per_file=2)
  writer.open(str(tmp_path / 'replay.tfrecord'),
              file_metadata={'collected_by': None})
  writer.write([tf.train.Example().SerializeToString()] * 3)
  writer.close()
  assert [os.path.basename(p) for p in writer.written_paths] == [
      'replay-00000.tfrecord', 'replay-00001.tfrecord']
  assert [provenance.read_sidecar(p) for p in writer.written_paths] == [
      {'collected_by': None, 'num_records': 2},
      {'collected_by': None, 'num_records': 1}]
  assert sorted(tf.io.gfile.glob(str(tmp_path / '*.tfrecord'))) == sorted(
      writer.written_paths)


def test_writer_without_metadata_writes_no_sidecar(tmp_path):
  path = str(tmp_path / 'replay.tfrecord')
  with replay_writer.TFRecordReplayWriter() as writer:
    writer.open(path)
    writer.write(tf.train.Example().SerializeToString())
  assert provenance.read_sidecar(path) is None
  assert os.listdir(tmp_path) == ['replay.tfrecord']


@pytest.fixture(scope='module')
def first_generation(tmp_path_factory):
  root = tmp_path_factory.mktemp('generation')
  files = flywheel_helpers.collect(flywheel_helpers.RandomPolicy(),
                                   str(root / 'data'), 'random')
  export = flywheel_helpers.train_and_export(str(root / 'data'),
                                             str(root / 'model'))
  return files, export


def test_random_collector_sidecar_names_no_export(first_generation):
  files, _ = first_generation
  sidecar = provenance.read_sidecar(files[0])
  assert sidecar['collected_by'] is None and sidecar['model_path'] is None
  assert sidecar['num_records'] == 6


def test_export_records_id_code_and_step(first_generation):
  _, export = first_generation
  recorded = provenance.read_export_provenance(export)
  assert recorded.global_step == 2
  assert len(recorded.export_id) == 32
  assert recorded.code == provenance.code_version()
  assert recorded.t2r_version == specs.read_t2r_assets(
      export).provenance.t2r_version


def test_export_lists_training_files_with_fingerprints(first_generation):
  files, export = first_generation
  recorded = provenance.read_export_provenance(export).training_files
  assert [f.path for f in recorded] == sorted(files)
  for entry in recorded:
    assert entry.size == os.path.getsize(entry.path)
    assert entry.fingerprint == provenance.fingerprint_file(entry.path)
    assert entry.has_sidecar and entry.collected_by is None
  with open(os.path.join(export, 'assets.extra',
                         provenance.TRAINING_DATA_FILENAME)) as f:
    assert json.load(f)['fingerprint_method'] == provenance.FINGERPRINT_METHOD


def test_collector_sidecar_names_its_policys_export(first_generation,
                                                    tmp_path):
  _, export = first_generation
  files = flywheel_helpers.collect(flywheel_helpers.export_policy(export),
                                   str(tmp_path), 'a', num_episodes=1)
  collected_by = provenance.read_sidecar(files[0])['collected_by']
  assert collected_by == {
      'export_dir': export, 'export_id': provenance.export_id_of(export),
      'global_step': 2}
