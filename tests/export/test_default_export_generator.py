"""DefaultExportGenerator: hermetic SavedModels with two equal signatures."""

import json
import os
import subprocess
import sys

import gin
import numpy as np
import pytest
import tensorflow as tf

from t2r import specs
from t2r.data import encoding
from t2r.export import default_export_generator
from t2r.predictors import export_dirs

from export_models import make_model

_FRESH_PROCESS_SCRIPT = r'''
import json, sys
import numpy as np
import tensorflow as tf
from t2r import specs
export_dir, inputs_file = sys.argv[1:]
assets = specs.read_t2r_assets(export_dir)
feature_spec = specs.spec_structure_from_proto(assets.feature_spec)
serve = tf.saved_model.load(export_dir).signatures['serving_default']
inputs = dict(np.load(inputs_file))
by_name = {spec.name: path for path, spec in feature_spec.items()}
kwargs = {key: inputs[by_name[tensor_spec.name]]
          for key, tensor_spec in serve.structured_input_signature[1].items()}
outputs = {k: v.numpy().tolist() for k, v in serve(**kwargs).items()}
print(json.dumps({
    'outputs': outputs,
    'global_step': assets.global_step,
    'model_code_imported': sorted(
        m for m in sys.modules if m.startswith(('t2r.models', 'export_models',
                                                't2r.export', 't2r.data',
                                                'preprocessors'))),
}))
'''


_DAMAGED_RECORD_SCRIPT = r'''
import sys
import tensorflow as tf
from t2r import specs
from t2r.data import encoding
export_dir = sys.argv[1]
feature_spec = specs.filter_required_flat_tensor_spec(
    specs.spec_structure_from_proto(
        specs.read_t2r_assets(export_dir).feature_spec))
values = specs.make_random_numpy(feature_spec, 1, seed=0)
good, = encoding.ExampleEncoder(feature_spec).encode_by_dataset_key(
    {path: value[0] for path, value in values.items()}).values()
# Its bytes_list value declares 2**31 bytes but holds 3.
damaged = bytes.fromhex('0a160a140a05696d616765120b0a090a8080808008616263')
serve = tf.saved_model.load(export_dir).signatures['serving_tf_example']
try:
  serve(input_example_tensor=tf.constant([good, damaged]))
except tf.errors.InvalidArgumentError as e:
  print(e.message.split('assertion failed: ')[1].split(']')[0])
print(sorted(serve(input_example_tensor=tf.constant([good]))))
'''


def _features(model, batch_size=3, seed=0):
  spec = specs.filter_required_flat_tensor_spec(
      model.preprocessor.get_in_feature_specification('infer'))
  return dict(specs.make_random_numpy(spec, batch_size, seed=seed).items())


def _model_outputs(model, features):
  return {k: np.asarray(v) for k, v in model(features).items()}


@pytest.fixture(scope='module')
def exported(tmp_path_factory):
  """(model, export path) of a one-stream model at global step 42."""
  model = make_model()
  root = tmp_path_factory.mktemp('model') / 'export'
  with gin.unlock_config():
    gin.bind_parameter('DefaultExportGenerator.export_tf_example_signature',
                       True)
  try:
    path = default_export_generator.DefaultExportGenerator().export(
        model, str(root), global_step=42)
  finally:
    gin.clear_config()
  return model, path


def test_fresh_process_without_model_code_gets_the_same_outputs(
    exported, tmp_path):
  model, path = exported
  features = _features(model)
  inputs_file = str(tmp_path / 'inputs.npz')
  np.savez(inputs_file, **features)
  result = subprocess.run(
      [sys.executable, '-c', _FRESH_PROCESS_SCRIPT, path, inputs_file],
      capture_output=True, text=True, check=True,
      env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3'))
  loaded = json.loads(result.stdout.strip().splitlines()[-1])
  assert loaded['model_code_imported'] == []
  assert loaded['global_step'] == 42
  expected = _model_outputs(model, features)
  assert sorted(loaded['outputs']) == sorted(expected)
  for name, value in expected.items():
    np.testing.assert_allclose(loaded['outputs'][name], value, rtol=1e-5,
                               atol=1e-6)


def test_tf_example_signature_rejects_a_record_that_would_crash_it(
    exported):
  # In a fresh process: TensorFlow's parser segfaults on such a record.
  model, path = exported
  result = subprocess.run(
      [sys.executable, '-c', _DAMAGED_RECORD_SCRIPT, path],
      capture_output=True, text=True, timeout=120, check=False,
      env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3'))
  assert result.returncode == 0, result.stderr[-3000:]
  rejected, served = result.stdout.strip().splitlines()[-2:]
  assert rejected.startswith(
      '[Record 1 of the batch of the serving_tf_example input is not a valid '
      'serialized tf.train.Example: its protobuf wire format is broken')
  assert served == str(sorted(_model_outputs(model, _features(model))))


def test_export_is_named_by_global_step_without_temp_leftovers(exported):
  _, path = exported
  root = os.path.dirname(path)
  assert os.path.basename(path) == '42'
  assert export_dirs.latest_export(root) == (42, path)
  assert os.listdir(root) == ['42']


def test_assets_hold_specs_step_and_provenance(exported):
  model, path = exported
  assets = specs.read_t2r_assets(path)
  feature_spec = specs.spec_structure_from_proto(assets.feature_spec)
  assert feature_spec.keys() == ['state/pose', 'state/image', 'state/extra']
  assert feature_spec['state/image'].data_format == 'png'
  assert feature_spec['state/extra'].is_optional
  assert specs.spec_structure_from_proto(assets.label_spec).keys() == [
      'action']
  assert assets.global_step == 42
  provenance = assets.provenance
  assert provenance.model_class == 'export_models.TinyModel'
  assert 'export_tf_example_signature = True' in (
      provenance.operative_gin_config)
  assert provenance.tensorflow_version == tf.__version__
  assert provenance.t2r_version and provenance.creation_time
  del model


def test_serving_default_takes_required_specs_by_name(exported):
  _, path = exported
  serve = tf.saved_model.load(path).signatures['serving_default']
  inputs = serve.structured_input_signature[1]
  assert sorted(spec.name for spec in inputs.values()) == [
      'image', 'robot/pose']
  assert all(spec.shape[0] is None for spec in inputs.values())


@pytest.mark.parametrize('two_streams', [False, True])
def test_tf_example_signature_equals_tensor_signature(tmp_path, two_streams):
  model = make_model(two_streams=two_streams)
  path = default_export_generator.DefaultExportGenerator().export(
      model, str(tmp_path), global_step=1)
  loaded = tf.saved_model.load(path)
  features = _features(model, batch_size=2)
  spec = model.preprocessor.get_in_feature_specification('infer')
  encoder = encoding.ExampleEncoder(spec)
  per_example = [
      encoder.encode_by_dataset_key({k: v[i] for k, v in features.items()})
      for i in range(2)
  ]
  records = {
      default_export_generator.example_input_name(key):
          [example[key] for example in per_example]
      for key in encoder.dataset_keys
  }
  by_example = loaded.signatures['serving_tf_example'](**records)
  by_tensor = _model_outputs(model, features)
  assert sorted(records) == (['camera', 'input_example_tensor']
                             if two_streams else ['input_example_tensor'])
  for name, value in by_tensor.items():
    np.testing.assert_allclose(by_example[name].numpy(), value, rtol=1e-5,
                               atol=1e-6)


def test_existing_version_is_kept(exported):
  model, path = exported
  mtime = os.path.getmtime(os.path.join(path, 'saved_model.pb'))
  again = default_export_generator.DefaultExportGenerator().export(
      model, os.path.dirname(path), global_step=42)
  assert again == path
  assert os.path.getmtime(os.path.join(path, 'saved_model.pb')) == mtime


def test_failed_export_leaves_no_directory(tmp_path):
  model = make_model()

  def broken(features, inference_outputs, mode, config=None, params=None):
    raise RuntimeError('broken export outputs')

  model.create_export_outputs_fn = broken
  with pytest.raises(RuntimeError, match='broken export outputs'):
    default_export_generator.DefaultExportGenerator().export(
        model, str(tmp_path), global_step=5)
  assert os.listdir(tmp_path) == []


def test_default_global_step_is_the_optimizer_step(tmp_path):
  model = make_model()
  model.optimizer.iterations.assign(17)
  path = default_export_generator.DefaultExportGenerator(
      export_tf_example_signature=False).export(model, str(tmp_path))
  assert os.path.basename(path) == '17'
  assert list(tf.saved_model.load(path).signatures) == ['serving_default']
