"""t2r lineage over a real two-generation flywheel: random -> A -> B."""

import os

import pytest

from t2r import lineage
from t2r.bin import data_tools

import flywheel_helpers


@pytest.fixture(scope='module')
def flywheel(tmp_path_factory):
  """Random data -> model A -> data collected by A -> model B."""
  root = tmp_path_factory.mktemp('flywheel')
  random_files = flywheel_helpers.collect(
      flywheel_helpers.RandomPolicy(), str(root / 'data0'), 'random')
  export_a = flywheel_helpers.train_and_export(str(root / 'data0'),
                                               str(root / 'model_a'))
  a_files = flywheel_helpers.collect(flywheel_helpers.export_policy(export_a),
                                     str(root / 'data1'), 'a')
  export_b = flywheel_helpers.train_and_export(str(root / 'data1'),
                                               str(root / 'model_b'))
  return {'random_files': random_files, 'export_a': export_a,
          'a_files': a_files, 'export_b': export_b}


def test_tree_links_b_to_a_files_to_a_to_random_files(flywheel):
  tree = lineage.build_lineage(flywheel['export_b'])
  assert sorted(f.path for f in tree.files) == sorted(flywheel['a_files'])
  collectors = {f.collected_by.export_dir for f in tree.files}
  assert collectors == {flywheel['export_a']}
  export_a = next(f.collected_by for f in tree.files
                  if not f.collected_by.expanded_above)
  assert sorted(f.path for f in export_a.files) == sorted(
      flywheel['random_files'])
  assert {f.origin for f in export_a.files} == {'policy without export'}
  assert tree.problems() == []


def test_each_export_is_expanded_once(flywheel):
  tree = lineage.build_lineage(flywheel['export_b'])
  expanded = [f.collected_by for f in tree.files
              if not f.collected_by.expanded_above]
  assert len(expanded) == 1
  assert [node.export_dir for node in tree.walk()
          if not node.expanded_above] == [flywheel['export_b'],
                                          flywheel['export_a']]


def test_text_tree_names_exports_and_files(flywheel):
  text = lineage.format_text(lineage.build_lineage(flywheel['export_b']))
  lines = text.splitlines()
  assert lines[0].startswith(f'export {flywheel["export_b"]} (step 2')
  assert f'collected by export {flywheel["export_a"]} (step 2' in text
  for path in flywheel['a_files'] + flywheel['random_files']:
    assert f'file {path} (ok' in text
  assert 'policy without export' in text


def test_dot_has_trained_on_and_collected_by_edges(flywheel):
  dot = lineage.format_dot(lineage.build_lineage(flywheel['export_b']))
  assert dot.startswith('digraph t2r_lineage {')
  assert dot.count('[label="trained on"]') == (
      len(flywheel['a_files']) + len(flywheel['random_files']))
  assert dot.count('[label="collected by"]') == len(flywheel['a_files'])
  assert 'color=red' not in dot


def test_changed_and_missing_files_are_flagged(flywheel, capsys):
  changed, removed = flywheel['random_files'][0], flywheel['a_files'][0]
  with open(changed, 'rb') as f:
    changed_bytes = f.read()
  with open(removed, 'rb') as f:
    removed_bytes = f.read()
  try:
    with open(changed, 'ab') as f:
      f.write(b'\0')
    os.remove(removed)
    tree = lineage.build_lineage(flywheel['export_b'])
    assert sorted(tree.problems()) == sorted([
        f'{changed}: changed since training', f'{removed}: missing'])
    assert data_tools.main(['lineage', flywheel['export_b'], '--check']) == 1
    out = capsys.readouterr().out
    assert f'file {changed} (CHANGED since training' in out
    assert f'file {removed} (MISSING' in out
  finally:
    with open(changed, 'wb') as f:
      f.write(changed_bytes)
    with open(removed, 'wb') as f:
      f.write(removed_bytes)


def test_a_missing_collector_export_is_flagged(flywheel, tmp_path):
  moved = str(tmp_path / 'moved')
  os.rename(flywheel['export_a'], moved)
  try:
    tree = lineage.build_lineage(flywheel['export_b'])
    assert f'{flywheel["export_a"]}: export missing' in tree.problems()
    assert '(MISSING)' in lineage.format_text(tree)
  finally:
    os.rename(moved, flywheel['export_a'])


def test_cli_prints_the_tree_and_exits_zero(flywheel, capsys):
  assert data_tools.main(['lineage', flywheel['export_b'], '--check']) == 0
  assert capsys.readouterr().out.startswith(f'export {flywheel["export_b"]}')
