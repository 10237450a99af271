"""Exports that look complete but do not load: skipped, reported, logged."""

import logging
import os

import numpy as np
import pytest

from t2r.predictors.exported_savedmodel_predictor import BrokenExportError
from t2r.predictors.exported_savedmodel_predictor import ExportedSavedModelPredictor
from t2r.predictors.exported_savedmodel_predictor import LoadedExport

from predictor_models import copy_version
from predictor_models import model_outputs
from predictor_models import random_features


def _serves(predictor, model):
  features = random_features()
  np.testing.assert_allclose(
      predictor.predict(features)['inference_output'],
      model_outputs(model, features)['inference_output'],
      rtol=1e-5, atol=1e-5)
  return True


def _skip_warnings(caplog, path):
  return [r for r in caplog.records
          if r.levelno == logging.WARNING and 'Skipping export' in
          r.getMessage() and path in r.getMessage()]


@pytest.mark.parametrize('damage', ['garbage', 'truncated', 'empty'])
def test_fresh_predictor_loads_the_older_export_and_reports_the_broken_one(
    two_exports, tmp_path, damage):
  _, [(first_model, first), (_, second)] = two_exports
  root = str(tmp_path / 'export')
  copy_version(first, root, 1)
  broken = copy_version(second, root, 2, damage=damage)
  predictor = ExportedSavedModelPredictor(root, timeout=0)
  result = predictor.restore()
  assert result
  assert (result.version, result.path) == (1, os.path.join(root, '1'))
  assert [(s.version, s.path) for s in result.skipped] == [(2, broken)]
  assert 'saved_model.pb' in result.skipped[0].reason
  assert predictor.skipped_exports == result.skipped
  assert _serves(predictor, first_model)


@pytest.mark.parametrize('damage,message', [
    ('empty', r"saved_model.pb' is empty \(0 bytes\)"),
    ('garbage', r"saved_model.pb' is corrupt: it does not parse as a "
                r"SavedModel"),
    ('truncated', r"saved_model.pb' is corrupt"),
])
def test_loading_a_broken_export_names_the_file_and_the_damage(
    two_exports, tmp_path, damage, message):
  _, [(_, first), _] = two_exports
  broken = copy_version(first, str(tmp_path / 'export'), 1, damage=damage)
  with pytest.raises(BrokenExportError, match=message) as error:
    LoadedExport(broken, 1)
  assert broken in str(error.value)
  assert isinstance(error.value, OSError) and isinstance(error.value,
                                                         ValueError)


def test_one_broken_export_directory_raises_there_is_nothing_to_fall_back_to(
    two_exports, tmp_path):
  _, [(_, first), _] = two_exports
  broken = copy_version(first, str(tmp_path / 'export'), 1, damage='empty')
  predictor = ExportedSavedModelPredictor(broken, timeout=0)
  with pytest.raises(BrokenExportError, match='is empty'):
    predictor.restore()
  assert not predictor.is_loaded


def test_only_broken_exports_restore_returns_false_naming_them(
    two_exports, tmp_path):
  _, [(_, first), _] = two_exports
  root = str(tmp_path / 'export')
  broken = copy_version(first, root, 1, damage='garbage')
  predictor = ExportedSavedModelPredictor(root, timeout=0)
  result = predictor.restore()
  assert not result
  assert (result.version, result.path) == (-1, None)
  assert [s.path for s in result.skipped] == [broken]
  assert not predictor.is_loaded


def test_running_predictor_keeps_serving_past_a_broken_newer_export(
    two_exports, tmp_path, caplog):
  _, [(first_model, first), (_, second)] = two_exports
  root = str(tmp_path / 'export')
  copy_version(first, root, 1)
  predictor = ExportedSavedModelPredictor(root, timeout=0)
  assert predictor.restore()
  broken = copy_version(second, root, 2, damage='truncated')
  with caplog.at_level(logging.INFO, logger='absl'):
    results = [predictor.restore() for _ in range(3)]
  assert not any(results)
  assert all([s.path for s in r.skipped] == [broken] for r in results)
  assert predictor.model_version == 1
  assert _serves(predictor, first_model)
  assert len(_skip_warnings(caplog, broken)) == 1   # Not once per poll.


def test_a_good_export_newer_than_a_broken_one_is_picked_up(
    two_exports, tmp_path):
  _, [(_, first), (second_model, second)] = two_exports
  root = str(tmp_path / 'export')
  copy_version(first, root, 1)
  predictor = ExportedSavedModelPredictor(root, timeout=0)
  assert predictor.restore()
  copy_version(second, root, 2, damage='garbage')
  assert not predictor.restore()
  copy_version(second, root, 3)
  result = predictor.restore()
  assert result and result.version == 3
  assert result.skipped == () and predictor.skipped_exports == ()
  assert _serves(predictor, second_model)


def test_a_broken_export_that_is_rewritten_is_tried_again(
    two_exports, tmp_path):
  _, [(_, first), (second_model, second)] = two_exports
  root = str(tmp_path / 'export')
  copy_version(first, root, 1)
  predictor = ExportedSavedModelPredictor(root, timeout=0)
  assert predictor.restore()
  broken = copy_version(second, root, 2, damage='empty')
  assert not predictor.restore()
  with open(os.path.join(second, 'saved_model.pb'), 'rb') as f:
    content = f.read()
  with open(os.path.join(broken, 'saved_model.pb'), 'wb') as f:
    f.write(content)   # Repaired in place (e.g. copied again).
  assert predictor.restore().version == 2
  assert _serves(predictor, second_model)
