"""Replay file layout: policy_<tag>/gs<step>_<tag>_<time>_<pid>.tfrecord."""

import fnmatch
import os

import pytest

from t2r import collect


def test_the_path_names_tag_step_and_process():
  path = collect.replay_file_path('/r', 'collect', 1200, pid=42)
  directory, name = os.path.split(path)
  assert directory == '/r/policy_collect'
  assert name.startswith('gs000000001200_collect_')
  assert name.endswith('_42.tfrecord')


def test_the_bootstrap_before_any_export_counts_as_step_zero():
  name = os.path.basename(collect.replay_file_path('/r', 'collect', -1))
  assert name.startswith('gs000000000000_')


def test_names_sort_by_step():
  names = [os.path.basename(collect.replay_file_path('/r', 'c', step))
           for step in (9, 10, 100)]
  assert names == sorted(names)


def test_the_pattern_matches_complete_files_only():
  pattern = collect.replay_pattern('/r', 'collect')
  path = collect.replay_file_path('/r', 'collect', 5)
  temporary = os.path.join(os.path.dirname(path),
                           f'.{os.path.basename(path)}.tmp-0123abcd')
  assert fnmatch.fnmatch(path, pattern)
  assert not fnmatch.fnmatch(temporary, pattern)


@pytest.mark.parametrize('tag', ['', 'my_tag', 'a/b', '-x'])
def test_tags_that_would_break_the_names_are_rejected(tag):
  with pytest.raises(ValueError, match='collector tag'):
    collect.replay_file_path('/r', tag, 0)
