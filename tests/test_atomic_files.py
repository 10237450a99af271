"""Atomic whole-file writes: readers see the old file or the new one."""

import os

import pytest

from t2r import atomic_files


@pytest.mark.parametrize('first, second', [('a = 1\n', 'a = 2\n'),
                                           (b'\x00\x01', b'\x02')])
def test_replaces_the_file_and_leaves_no_temporary(tmp_path, first, second):
  path = str(tmp_path / 'sub' / 'file')
  atomic_files.write_atomically(path, first)
  atomic_files.write_atomically(path, second)
  with open(path, 'rb') as f:
    content = f.read()
  assert content == (second if isinstance(second, bytes) else second.encode())
  assert os.listdir(tmp_path / 'sub') == ['file']


def test_a_failed_write_keeps_the_old_file(tmp_path):
  path = str(tmp_path / 'file')
  atomic_files.write_atomically(path, 'old')
  with pytest.raises(TypeError, match="'file'|file"):
    atomic_files.write_atomically(path, 42)
  assert open(path).read() == 'old'
  assert os.listdir(tmp_path) == ['file']


def test_temporary_path_is_a_unique_sibling(tmp_path):
  path = str(tmp_path / 'x.gin')
  first, second = (atomic_files.temporary_path(path) for _ in range(2))
  assert first != second
  assert os.path.dirname(first) == str(tmp_path)
