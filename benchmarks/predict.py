"""Benchmarks `ExportedSavedModelPredictor.predict` and CEM action selection.

1. predict overhead: `predictor.predict(numpy dict)` (input checks, batch
   handling, numpy outputs) against calling the loaded signature directly on
   the same export with the same numpy inputs (the hand-written baseline),
   alternating call by call. Target: p50 ratio <= 1.10.
2. CEM action latency for a QT-Opt-sized critic (472x472x3 image, 64
   samples, 3 iterations): `CEMPolicy` with the Python loop (3 predictor
   calls; the critic repeats the image per candidate, as T2R's critics do)
   against the in-graph `cem_action` signature (one call, image tower once).

Run: python benchmarks/predict.py [--calls 200] [--cem_calls 5]
The last line is `predict: ratio <ours/baseline> (<ours p50> vs <baseline
p50> ms)`.
"""

import argparse
import os
import tempfile
import time

if __name__ == '__main__':
  from t2r import quiet_logs  # pylint: disable=g-import-not-at-top
  quiet_logs.quiet_tensorflow_logs()

import numpy as np  # pylint: disable=g-import-not-at-top
import tensorflow as tf
import tf_keras

from t2r import models
from t2r import specs
from t2r.export import default_export_generator
from t2r.policies import cem_export_generator
from t2r.policies import policies
from t2r.predictors.exported_savedmodel_predictor import ExportedSavedModelPredictor

IMAGE_SIZE = 472
ACTION_SIZE = 4
NUM_SAMPLES = 64


class PosePolicyModel(models.RegressionModel):
  """A small robot policy: a 64x64 image and a pose to a 4-d action."""

  def __init__(self, **kwargs):
    super().__init__(**kwargs)
    self.conv = tf_keras.layers.Conv2D(16, 5, strides=2, activation='relu')
    self.pool = tf_keras.layers.GlobalAveragePooling2D()
    self.head = tf_keras.layers.Dense(ACTION_SIZE)

  def get_feature_specification(self, mode):
    spec = specs.TensorSpecStruct()
    spec['state/image'] = specs.ExtendedTensorSpec((64, 64, 3), tf.uint8,
                                                   name='image')
    spec['state/pose'] = specs.ExtendedTensorSpec((7,), tf.float32,
                                                  name='pose')
    return spec

  def get_label_specification(self, mode):
    return specs.TensorSpecStruct(action=specs.ExtendedTensorSpec(
        (ACTION_SIZE,), tf.float32, name='action'))

  def a_func(self, features, mode, config=None, params=None):
    image = tf.cast(features.state.image, tf.float32) / 255.0
    embedding = self.pool(self.conv(image))
    return {'inference_output': self.head(
        tf.concat([embedding, features.state.pose], -1))}


class GraspCritic(models.CriticModel):
  """A QT-Opt-sized critic: a 472x472 image tower and an action head."""

  def __init__(self, **kwargs):
    super().__init__(**kwargs)
    self.tower = [
        tf_keras.layers.Conv2D(32, 6, strides=2, activation='relu'),
        tf_keras.layers.MaxPool2D(3),
        tf_keras.layers.Conv2D(32, 5, activation='relu'),
        tf_keras.layers.MaxPool2D(3),
        tf_keras.layers.Conv2D(32, 3, activation='relu'),
        tf_keras.layers.GlobalAveragePooling2D(),
    ]
    self.action_layer = tf_keras.layers.Dense(32, activation='relu')
    self.head = [tf_keras.layers.Dense(64, activation='relu'),
                 tf_keras.layers.Dense(1)]

  def get_state_specification(self):
    return specs.TensorSpecStruct(image=specs.ExtendedTensorSpec(
        (IMAGE_SIZE, IMAGE_SIZE, 3), tf.uint8, name='image'))

  def get_action_specification(self):
    return specs.TensorSpecStruct(grasp=specs.ExtendedTensorSpec(
        (ACTION_SIZE,), tf.float32, name='grasp'))

  def state_embedding_fn(self, features, mode):
    x = tf.cast(features.state.image, tf.float32) / 255.0
    for layer in self.tower:
      x = layer(x)
    return x

  def q_from_state_embedding_fn(self, embedding, features, mode):
    x = embedding + self.action_layer(features.action.grasp)
    for layer in self.head:
      x = layer(x)
    return x

  def q_func(self, features, mode, config=None, params=None):
    return self.q_from_state_embedding_fn(
        self.state_embedding_fn(features, mode), features, mode)


def _percentiles(times):
  times = np.array(times) * 1000.0
  return np.percentile(times, 50), np.percentile(times, 95)


def benchmark_predict(export_root, calls):
  """Returns ((ours p50, p95), (baseline p50, p95)) in ms."""
  model = PosePolicyModel()
  model.build_from_specs()
  default_export_generator.DefaultExportGenerator(
      export_tf_example_signature=False).export(model, export_root, 1)
  predictor = ExportedSavedModelPredictor(export_root, timeout=0)
  predictor.restore()
  features = dict(specs.make_random_numpy(
      model.get_feature_specification('infer'), batch_size=1, seed=0).items())
  signature = predictor.loaded_export.saved_model.signatures['serving_default']
  by_key = {}
  for key, tensor_spec in signature.structured_input_signature[1].items():
    by_key[key] = features['state/' + tensor_spec.name]

  def ours():
    return predictor.predict(features)

  def baseline():
    return {k: v.numpy() for k, v in signature(**by_key).items()}

  np.testing.assert_allclose(ours()['inference_output'],
                             baseline()['inference_output'])
  return _alternate(ours, baseline, calls)


def _alternate(ours, baseline, calls):
  for _ in range(5):
    ours()
    baseline()
  our_times, base_times = [], []
  for _ in range(calls):
    for function, times in ((ours, our_times), (baseline, base_times)):
      start = time.perf_counter()
      function()
      times.append(time.perf_counter() - start)
  return _percentiles(our_times), _percentiles(base_times)


def benchmark_cem(export_root, calls):
  """Returns ((in-graph p50, p95), (Python loop p50, p95)) in ms."""
  low, high = -np.ones(ACTION_SIZE, np.float32), np.ones(ACTION_SIZE,
                                                           np.float32)
  critic = GraspCritic(action_batch_size=NUM_SAMPLES)
  critic.build_from_specs()
  cem_export_generator.CEMExportGenerator(
      low, high, num_samples=NUM_SAMPLES,
      export_tf_example_signature=False).export(critic, export_root, 1)
  predictor = ExportedSavedModelPredictor(export_root, timeout=0)
  predictor.restore()
  image = np.random.default_rng(0).integers(
      0, 256, (IMAGE_SIZE, IMAGE_SIZE, 3)).astype(np.uint8)
  in_graph = policies.CEMPolicy(predictor, low, high,
                                exported_cem_signature='cem_action')
  python_loop = policies.CEMPolicy(predictor, low, high)
  return _alternate(lambda: in_graph.SelectAction({'image': image}),
                    lambda: python_loop.SelectAction({'image': image}), calls)


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--calls', type=int, default=300)
  parser.add_argument('--cem_calls', type=int, default=5)
  args = parser.parse_args()
  with tempfile.TemporaryDirectory() as root:
    (cem_graph, cem_loop) = benchmark_cem(os.path.join(root, 'critic'),
                                          args.cem_calls)
    print(f'CEM action ({IMAGE_SIZE}x{IMAGE_SIZE} image, {NUM_SAMPLES} '
          f'samples, 3 iterations): in-graph p50 {cem_graph[0]:.1f} ms, p95 '
          f'{cem_graph[1]:.1f} ms; Python loop p50 {cem_loop[0]:.1f} ms, p95 '
          f'{cem_loop[1]:.1f} ms; speedup {cem_loop[0] / cem_graph[0]:.1f}x')
    ours, baseline = benchmark_predict(os.path.join(root, 'policy'),
                                       args.calls)
  print(f'predict p95: {ours[1]:.3f} ms vs signature call {baseline[1]:.3f} ms'
        f' (ratio {ours[1] / baseline[1]:.3f})')
  print(f'predict: ratio {ours[0] / baseline[0]:.3f} ({ours[0]:.3f} vs '
        f'{baseline[0]:.3f} ms)')


if __name__ == '__main__':
  main()
