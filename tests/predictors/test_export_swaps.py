"""Background refresh: newer exports load off the predict path, then swap."""

import gc
import logging
import threading
import time
import weakref

import numpy as np

from t2r.predictors.exported_savedmodel_predictor import ExportedSavedModelPredictor

from predictor_models import copy_version
from predictor_models import model_outputs
from predictor_models import random_features


def _wait_until(condition, timeout=60.0):
  deadline = time.monotonic() + timeout
  while not condition() and time.monotonic() < deadline:
    time.sleep(0.005)
  return condition()


def test_every_answer_during_background_swaps_is_from_a_complete_export(
    two_exports, tmp_path):
  _, [(first_model, first), (second_model, second)] = two_exports
  root = str(tmp_path / 'export')
  copy_version(first, root, 1)
  predictor = ExportedSavedModelPredictor(root, timeout=0,
                                          refresh_interval_secs=0.01)
  assert predictor.restore()
  features = random_features()
  expected = [model_outputs(m, features)['inference_output']
              for m in (first_model, second_model)]
  sources = {1: first, 2: second, 3: first, 4: second}
  done = threading.Event()

  def trainer():   # Versions 2..4 appear, alternating the two weights.
    for version in (2, 3, 4):
      copy_version(sources[version], root, version)
      _wait_until(lambda v=version: predictor.model_version >= v)
    done.set()

  thread = threading.Thread(target=trainer)
  thread.start()
  answers, versions = [], []
  while not done.is_set():
    versions.append(predictor.model_version)
    answers.append(predictor.predict(features)['inference_output'])
  thread.join()
  assert predictor.model_version == 4
  predictor.close()
  assert versions == sorted(versions)   # Never back to an older export.
  distances = [min(np.abs(a - e).max() for e in expected) for a in answers]
  assert max(distances) < 1e-5   # Each answer is one complete export's.


def test_refresh_keeps_serving_past_a_broken_export_and_logs_it_once(
    two_exports, tmp_path, caplog):
  _, [(first_model, first), (_, second)] = two_exports
  root = str(tmp_path / 'export')
  copy_version(first, root, 1)
  predictor = ExportedSavedModelPredictor(root, timeout=0,
                                          refresh_interval_secs=0.01)
  assert predictor.restore()
  features = random_features()
  with caplog.at_level(logging.INFO, logger='absl'):
    broken = copy_version(second, root, 2, damage='garbage')
    assert _wait_until(lambda: predictor.skipped_exports)
    time.sleep(0.1)   # Several more polls.
    np.testing.assert_allclose(
        predictor.predict(features)['inference_output'],
        model_outputs(first_model, features)['inference_output'], atol=1e-5)
    copy_version(second, root, 3)
    assert _wait_until(lambda: predictor.model_version == 3)
  predictor.close()
  skip_warnings = [r for r in caplog.records
                   if 'Skipping export' in r.getMessage()]
  assert len(skip_warnings) == 1 and broken in skip_warnings[0].getMessage()


def test_restore_still_loads_synchronously_with_a_refresh_thread(
    two_exports, tmp_path):
  _, [(_, first), (_, second)] = two_exports
  root = str(tmp_path / 'export')
  copy_version(first, root, 1)
  predictor = ExportedSavedModelPredictor(root, timeout=0,
                                          refresh_interval_secs=3600)
  assert predictor.restore().version == 1
  copy_version(second, root, 2)
  assert predictor.restore().version == 2
  predictor.close()


def test_close_stops_the_refresh(two_exports, tmp_path):
  _, [(_, first), (_, second)] = two_exports
  root = str(tmp_path / 'export')
  copy_version(first, root, 1)
  predictor = ExportedSavedModelPredictor(root, timeout=0,
                                          refresh_interval_secs=0.01)
  assert predictor.restore()
  predictor.close()
  copy_version(second, root, 2)
  time.sleep(0.1)
  assert predictor.model_version == -1   # Released, and not reloaded.


def test_an_unclosed_refreshing_predictor_is_garbage_collected(tmp_path):
  predictor = ExportedSavedModelPredictor(str(tmp_path), timeout=0,
                                          refresh_interval_secs=3600)
  thread = predictor._refresh_thread  # pylint: disable=protected-access
  reference = weakref.ref(predictor)
  del predictor
  gc.collect()
  assert reference() is None
  thread.join(timeout=10)
  assert not thread.is_alive()
