"""export_dirs: which directories of an export root are complete exports."""

import pytest

from t2r.predictors import export_dirs
from t2r.specs import proto_conversion


def _make_export(root, name, with_assets=True):
  path = root / name
  path.mkdir(parents=True)
  (path / 'saved_model.pb').write_bytes(b'')
  if with_assets:
    (path / proto_conversion.ASSETS_DIRNAME).mkdir()
    (path / proto_conversion.ASSETS_DIRNAME /
     proto_conversion.ASSETS_FILENAME).write_text('')
  return str(path)


def test_lists_complete_versions_oldest_first(tmp_path):
  second = _make_export(tmp_path, '20')
  first = _make_export(tmp_path, '3')
  assert export_dirs.list_exports(str(tmp_path)) == [(3, first), (20, second)]


@pytest.mark.parametrize('name,with_assets', [
    (export_dirs.temp_dir_name(99), True),   # still being written
    ('99', False),                           # assets not written yet
    ('best', True),                          # not a version
], ids=['temporary', 'without_assets', 'not_a_version'])
def test_skips_directories_that_are_not_complete_versions(
    tmp_path, name, with_assets):
  newest_complete = _make_export(tmp_path, '5')
  _make_export(tmp_path, name, with_assets)
  assert export_dirs.latest_export(str(tmp_path)) == (5, newest_complete)


def test_missing_root_has_no_exports(tmp_path):
  assert export_dirs.list_exports(str(tmp_path / 'nothing')) == []
  assert export_dirs.latest_export(str(tmp_path / 'nothing')) is None


@pytest.mark.parametrize('version', [-1, 1.5, True, '3'])
def test_version_must_be_a_non_negative_int(version):
  with pytest.raises(ValueError, match='non-negative int'):
    export_dirs.version_dir_name(version)


def test_temp_names_are_unique_and_not_versions():
  first, second = export_dirs.temp_dir_name(7), export_dirs.temp_dir_name(7)
  assert first != second
  assert not first.isdigit()
