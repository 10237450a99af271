"""Status files: atomic JSON per process, read back together."""

import os

from t2r.collect import status_files


def test_a_status_reads_back_with_a_timestamp(tmp_path):
  status_files.write_status(str(tmp_path), 'collector-0', {'episodes': 40})
  status = status_files.read_statuses(str(tmp_path))['collector-0']
  assert status['episodes'] == 40 and status['updated'] > 0


def test_writing_again_replaces_the_status(tmp_path):
  for episodes in (1, 2):
    status_files.write_status(str(tmp_path), 'trainer', {'step': episodes})
  assert status_files.read_statuses(str(tmp_path))['trainer']['step'] == 2


def test_no_temporary_file_stays_and_none_is_read(tmp_path):
  status_files.write_status(str(tmp_path), 'evaluator', {'history': []})
  directory = status_files.status_dir(str(tmp_path))
  with open(os.path.join(directory, '.evaluator.tmp-1234'), 'w') as f:
    f.write('{"half": ')
  assert sorted(os.listdir(directory)) == ['.evaluator.tmp-1234',
                                           'evaluator.json']
  assert list(status_files.read_statuses(str(tmp_path))) == ['evaluator']


def test_an_unreadable_status_is_skipped(tmp_path):
  directory = status_files.status_dir(str(tmp_path))
  os.makedirs(directory)
  with open(os.path.join(directory, 'broken.json'), 'w') as f:
    f.write('{"not json')
  assert status_files.read_statuses(str(tmp_path)) == {}
