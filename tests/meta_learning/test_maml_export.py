"""A MAML export adapts from condition data given at inference time."""

import json
import os
import subprocess
import sys

import numpy as np

from t2r.predictors import exported_savedmodel_predictor

from maml_test_models import linear_tasks, meta_batch

# Loads the export with TensorFlow alone and feeds inputs by spec name.
_FRESH_PROCESS_SCRIPT = r'''
import json, sys
import numpy as np
import tensorflow as tf
serve = tf.saved_model.load(sys.argv[1]).signatures['serving_default']
inputs = dict(np.load(sys.argv[2]))
_, specs = serve.structured_input_signature
outputs = serve(**{arg: tf.constant(inputs[spec.name])
                   for arg, spec in specs.items()})
print(json.dumps({
    'imported': sorted(m for m in sys.modules
                       if m.split('.')[0] in ('t2r', 'preprocessors')),
    'outputs': {k: v.numpy().tolist() for k, v in outputs.items()},
}))
'''


def _tasks(seed, num_tasks=8, k=3):
  x, y, _ = linear_tasks(np.random.default_rng(seed), num_tasks, k + 4)
  return meta_batch(x, y, k)


def test_fresh_tensorflow_process_adapts_like_the_model(exported_maml,
                                                        tmp_path):
  model, path = exported_maml
  features, labels = _tasks(seed=5)
  inputs_file = str(tmp_path / 'inputs.npz')
  np.savez(inputs_file, **dict(features.items()))
  result = subprocess.run(
      [sys.executable, '-c', _FRESH_PROCESS_SCRIPT, path, inputs_file],
      capture_output=True, text=True, check=True,
      env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3'))
  loaded = json.loads(result.stdout.strip().splitlines()[-1])
  assert loaded['imported'] == []
  expected = model(features)
  for key in ('adapted/inference_output', 'unadapted/inference_output'):
    np.testing.assert_allclose(loaded['outputs'][key], expected[key],
                               rtol=1e-4, atol=1e-5)
  target = labels['meta_labels/y']
  adapted_error = np.mean(
      (np.array(loaded['outputs']['adapted/inference_output']) - target)**2)
  unadapted_error = np.mean(
      (np.array(loaded['outputs']['unadapted/inference_output']) - target)**2)
  assert adapted_error < 0.5 * unadapted_error


def test_predictor_serves_any_number_of_condition_samples(exported_maml):
  _, path = exported_maml
  predictor = exported_savedmodel_predictor.ExportedSavedModelPredictor(path)
  assert predictor.restore()
  shapes = []
  for k in (1, 2, 4):
    features, _ = _tasks(seed=6, num_tasks=2, k=k)
    outputs = predictor.predict(dict(features.items()))
    shapes.append(outputs['adapted/inference_output'].shape)
    assert outputs['inner_losses'].shape == (2, 2)
  assert shapes == [(2, 4, 1)] * 3


def test_export_specs_leave_the_samples_per_task_open(exported_maml):
  _, path = exported_maml
  predictor = exported_savedmodel_predictor.ExportedSavedModelPredictor(path)
  predictor.restore()
  spec = predictor.get_feature_specification()
  assert sorted(spec.keys()) == ['condition/features/x', 'condition/labels/y',
                                 'inference/features/x']
  assert {s.shape.as_list()[0] for s in spec.values()} == {None}
