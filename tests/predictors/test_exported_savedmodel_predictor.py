"""ExportedSavedModelPredictor: newest complete export, checked inputs, swaps."""

import os
import shutil
import threading
import time

import numpy as np
import pytest

from t2r.data import encoding
from t2r.predictors.exported_savedmodel_predictor import ExportedSavedModelPredictor

from predictor_models import copy_version
from predictor_models import model_outputs
from predictor_models import random_features


def _wait_until(condition, timeout=60.0):
  deadline = time.monotonic() + timeout
  while not condition() and time.monotonic() < deadline:
    time.sleep(0.001)


def test_predict_before_restore_says_no_model_is_loaded(tmp_path):
  predictor = ExportedSavedModelPredictor(str(tmp_path), timeout=0)
  with pytest.raises(ValueError, match='no model loaded.*restore'):
    predictor.predict(random_features())
  assert (predictor.model_version, predictor.global_step,
          predictor.model_path) == (-1, -1, None)


def test_restore_without_export_returns_false_after_timeout(tmp_path):
  predictor = ExportedSavedModelPredictor(
      str(tmp_path), timeout=0.2, poll_interval_secs=0.05)
  assert not predictor.restore()
  assert not predictor.is_loaded


def test_predicts_what_the_model_computes(two_exports):
  _, [(model, path), _] = two_exports
  predictor = ExportedSavedModelPredictor(path, timeout=0)
  assert predictor.restore()
  features = random_features(batch_size=3)
  np.testing.assert_allclose(
      predictor.predict(features)['inference_output'],
      model_outputs(model, features)['inference_output'],
      rtol=1e-5, atol=1e-5)


def test_picks_newest_complete_export_ignoring_temp_and_partial(
    two_exports, tmp_path):
  _, [(_, first), (second_model, second)] = two_exports
  root = str(tmp_path / 'export')
  copy_version(first, root, 1)
  copy_version(second, root, 2)
  copy_version(first, root, 9, name='temp')   # a writer still at work
  partial = os.path.join(root, '7')            # assets not written yet
  shutil.copytree(second, partial)
  shutil.rmtree(os.path.join(partial, 'assets.extra'))
  predictor = ExportedSavedModelPredictor(root, timeout=0)
  assert predictor.restore()
  assert predictor.model_version == 2
  assert predictor.global_step == 2
  assert predictor.model_path == os.path.join(root, '2')
  features = random_features()
  np.testing.assert_allclose(
      predictor.predict(features)['inference_output'],
      model_outputs(second_model, features)['inference_output'],
      rtol=1e-5, atol=1e-5)
  assert not predictor.restore()   # nothing newer


def test_reads_specs_from_the_assets(two_exports):
  _, [(model, path), _] = two_exports
  predictor = ExportedSavedModelPredictor(path, timeout=0)
  predictor.restore()
  spec = predictor.get_feature_specification()
  assert spec.keys() == model.get_feature_specification('infer').keys()
  assert spec['state/pose'].name == 'robot/pose'
  assert predictor.get_label_specification().keys() == ['action']


def test_unbatched_example_gets_a_batch_dimension(two_exports):
  _, [(model, path), _] = two_exports
  predictor = ExportedSavedModelPredictor(path, timeout=0)
  predictor.restore()
  batch = random_features(batch_size=1)
  example = {key: value[0] for key, value in batch.items()}
  outputs = predictor.predict(example)
  assert outputs['inference_output'].shape == (1, 2)
  np.testing.assert_allclose(outputs['inference_output'],
                             predictor.predict(batch)['inference_output'])


def test_nested_dict_input_is_accepted(two_exports):
  _, [(_, path), _] = two_exports
  predictor = ExportedSavedModelPredictor(path, timeout=0)
  predictor.restore()
  flat = random_features()
  nested = {'state': {'pose': flat['state/pose'], 'image': flat['state/image']}}
  np.testing.assert_array_equal(
      predictor.predict(nested)['inference_output'],
      predictor.predict(flat)['inference_output'])


@pytest.mark.parametrize('change,error,message', [
    (lambda f: f.pop('state/pose'), ValueError,
     r"'state/pose' \(name 'robot/pose'\) is missing"),
    (lambda f: f.update({'state/pose': np.zeros((2, 4), np.float32)}),
     ValueError, r"'state/pose'.*expects \(None, 3\) float32.*\(2, 4\)"),
    (lambda f: f.update({'state/image': np.zeros((2, 4, 4, 1), np.float32)}),
     ValueError, r"'state/image'.*uint8.*cast it to uint8"),
    (lambda f: f.update({'state/pose': np.zeros((2, 1, 3), np.float32)}),
     ValueError, r"'state/pose'.*\(2, 1, 3\)"),
])
def test_bad_inputs_fail_with_a_clear_error(two_exports, change, error,
                                            message):
  _, [(_, path), _] = two_exports
  predictor = ExportedSavedModelPredictor(path, timeout=0)
  predictor.restore()
  features = dict(random_features().items())
  change(features)
  with pytest.raises(error, match=message):
    predictor.predict(features)


def test_non_dict_input_is_a_type_error(two_exports):
  _, [(_, path), _] = two_exports
  predictor = ExportedSavedModelPredictor(path, timeout=0)
  predictor.restore()
  with pytest.raises(TypeError, match='dict of numpy arrays'):
    predictor.predict(np.zeros((1, 3), np.float32))


def test_unknown_signature_lists_the_available_ones(two_exports):
  _, [(_, path), _] = two_exports
  predictor = ExportedSavedModelPredictor(path, timeout=0)
  predictor.restore()
  with pytest.raises(ValueError, match="no signature 'cem'.*serving_default"):
    predictor.predict(random_features(), signature_name='cem')


def test_tf_example_signature_through_predict(two_exports):
  _, [(model, path), _] = two_exports
  predictor = ExportedSavedModelPredictor(path, timeout=0)
  predictor.restore()
  features = random_features(batch_size=2)
  spec = predictor.get_feature_specification()
  records = [
      encoding.encode_example(spec, {k: v[i] for k, v in features.items()})
      for i in range(2)
  ]
  by_example = predictor.predict({'input_example_tensor': records},
                                 signature_name='serving_tf_example')
  np.testing.assert_allclose(by_example['inference_output'],
                             predictor.predict(features)['inference_output'],
                             rtol=1e-6)


def test_features_with_different_batch_sizes_name_each_feature_and_size(
    two_exports):
  _, [(_, path), _] = two_exports
  predictor = ExportedSavedModelPredictor(path, timeout=0)
  predictor.restore()
  features = {'state/pose': random_features(batch_size=2)['state/pose'],
              'state/image': random_features(batch_size=3)['state/image']}
  with pytest.raises(ValueError, match=(
      r"different batch sizes: 'state/image' \(name 'image'\): 3, "
      r"'state/pose' \(name 'robot/pose'\): 2")):
    predictor.predict(features)


def _records(predictor, count):
  features = random_features(batch_size=count)
  spec = predictor.get_feature_specification()
  return [
      encoding.encode_example(spec, {k: v[i] for k, v in features.items()})
      for i in range(count)
  ]


def test_garbage_record_for_serving_tf_example_names_its_index(two_exports):
  _, [(_, path), _] = two_exports
  predictor = ExportedSavedModelPredictor(path, timeout=0)
  predictor.restore()
  records = _records(predictor, 3)
  records[2] = b'garbage'
  with pytest.raises(ValueError, match=(
      r"Record 2 of the batch of input 'input_example_tensor' \(7 bytes: "
      r"b'garbage'\) of signature 'serving_tf_example' is not a serialized "
      r"tf.train.Example")):
    predictor.predict({'input_example_tensor': records},
                      signature_name='serving_tf_example')


def test_record_lacking_a_feature_names_its_index_and_the_feature(
    two_exports):
  _, [(_, path), _] = two_exports
  predictor = ExportedSavedModelPredictor(path, timeout=0)
  predictor.restore()
  records = _records(predictor, 2)
  records[1] = b''   # An empty tf.train.Example: no features at all.
  with pytest.raises(ValueError, match=(
      r"Record 1 of the batch .* does not match the specs of the export.*"
      r"image")):
    predictor.predict({'input_example_tensor': records},
                      signature_name='serving_tf_example')


@pytest.mark.parametrize('is_async', [False, True])
def test_restore_swaps_in_a_newer_export_during_predict_calls(
    two_exports, tmp_path, is_async):
  _, [(first_model, first), (second_model, second)] = two_exports
  root = str(tmp_path / 'export')
  copy_version(first, root, 1)
  predictor = ExportedSavedModelPredictor(root, timeout=0)
  assert predictor.restore()
  features = random_features()
  expected = [
      model_outputs(m, features)['inference_output']
      for m in (first_model, second_model)
  ]
  stop = threading.Event()
  seen, errors = [], []

  def predict_loop():
    while not stop.is_set():
      try:
        output = predictor.predict(features)['inference_output']
        seen.append(min(range(2), key=lambda i: np.abs(
            output - expected[i]).max()))
        assert min(np.abs(output - e).max() for e in expected) < 1e-4
      except Exception as e:  # pylint: disable=broad-except
        errors.append(e)

  threads = [threading.Thread(target=predict_loop) for _ in range(3)]
  for thread in threads:
    thread.start()
  _wait_until(lambda: len(seen) >= 5 or errors)
  copy_version(second, root, 2)
  if is_async:
    assert predictor.restore(is_async=True)
    assert predictor.wait_for_restore(timeout=60)
  else:
    assert predictor.restore()
  after_swap = len(seen)
  _wait_until(lambda: len(seen) >= after_swap + 5 or errors)
  stop.set()
  for thread in threads:
    thread.join()
  predictor.close()
  assert not errors
  assert predictor.model_version == -1  # closed
  assert seen[0] == 0 and seen[-1] == 1
