"""Predict latency while newer exports are swapped in, against no swaps.

A robot's control loop calls `predictor.predict` while the trainer writes
exports; the predictor loads each newer one off the serving path (a
background thread loads and warms it up, then swaps one reference). This
measures what the control loop sees: `predict` latency (p50, p99, max) of a
small policy (64x64 RGB image and a pose to a 4-d action, batch 1) in the
main thread,

  ours:     while ~20 exports appear and are swapped in;
  baseline: with no swaps (the same predictor, the same process).

Rounds alternate between the two (an idle phase, then a phase of
`--swaps_per_round` swaps); the ratio compares the median over rounds of
each phase's p99, so that a burst of other load on a shared machine spoils
one round rather than the comparison. New exports are staged beforehand and
appear by a directory rename, as the export generators publish them, so the
trainer's writing costs nothing here; each swap waits until the predictor
serves the new version, then `--gap_secs`.

  python benchmarks/predict_swaps.py [--rounds 5 --swaps_per_round 4]
  python benchmarks/predict_swaps.py --trigger restore   # restore() calls
  python benchmarks/predict_swaps.py --period_ms 5       # a 200 Hz loop

By default the main thread calls `predict` back to back, the worst case: a
load then runs only in the slices it takes while giving way to `predict`
(see `t2r/predictors/exported_savedmodel_predictor.py`). `--period_ms` paces
the calls like a control loop. `--trigger refresh` (default) uses
`refresh_interval_secs` (the predictor's own background thread); `restore`
calls `predictor.restore()` from a second thread after each rename (the
synchronous API, off the predict thread).

The last line is
  predict_swaps: ratio <ours/baseline> (<ours p99> vs <baseline p99> ms)
"""

import argparse
import os
import shutil
import tempfile
import threading
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
from t2r.predictors.exported_savedmodel_predictor import ExportedSavedModelPredictor


class SmallPolicy(models.RegressionModel):
  """A 64x64 image and a pose to a 4-d action."""

  def __init__(self, **kwargs):
    super().__init__(**kwargs)
    self.conv = tf_keras.layers.Conv2D(16, 5, strides=2, activation='relu')
    self.pool = tf_keras.layers.GlobalAveragePooling2D()
    self.head = tf_keras.layers.Dense(4)

  def get_feature_specification(self, mode):
    spec = specs.TensorSpecStruct()
    spec['state/image'] = specs.ExtendedTensorSpec((64, 64, 3), tf.uint8,
                                                   name='image')
    spec['state/pose'] = specs.ExtendedTensorSpec((7,), tf.float32,
                                                  name='pose')
    return spec

  def get_label_specification(self, mode):
    return specs.TensorSpecStruct(
        action=specs.ExtendedTensorSpec((4,), tf.float32, name='action'))

  def a_func(self, features, mode, config=None, params=None):
    image = tf.cast(features.state.image, tf.float32) / 255.0
    embedding = self.pool(self.conv(image))
    return {'inference_output': self.head(
        tf.concat([embedding, features.state.pose], -1))}


def _stage_exports(root, count):
  """Exports version 1 into `root/export`; stages `count` more copies."""
  model = SmallPolicy()
  model.build_from_specs()
  stage = os.path.join(root, 'stage')
  first = default_export_generator.DefaultExportGenerator().export(
      model, stage, global_step=1)
  export_root = os.path.join(root, 'export')
  os.makedirs(export_root)
  shutil.copytree(first, os.path.join(export_root, '1'))
  staged = []
  for version in range(2, count + 2):
    path = os.path.join(stage, f'staged-{version}')
    shutil.copytree(first, path)
    staged.append((version, path))
  features = dict(specs.make_random_numpy(
      model.get_feature_specification('infer'), batch_size=1, seed=0).items())
  return export_root, staged, features


def _time_calls(predictor, features, keep_going, period_secs):
  times = []
  while keep_going():
    start = time.perf_counter()
    predictor.predict(features)
    times.append(time.perf_counter() - start)
    if period_secs:
      time.sleep(max(0.0, start + period_secs - time.perf_counter()))
  return times


def _swap_in(predictor, export_root, staged, trigger, gap_secs, load_secs):
  for version, path in staged:
    start = time.monotonic()
    os.rename(path, os.path.join(export_root, str(version)))
    if trigger == 'restore':
      predictor.restore()
    while predictor.model_version < version:
      time.sleep(0.02)  # Seldom: this thread competes for the GIL too.
    load_secs.append(time.monotonic() - start)
    time.sleep(gap_secs)


def _ms(times):
  return np.array(times) * 1000.0


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--rounds', type=int, default=5)
  parser.add_argument('--swaps_per_round', type=int, default=4)
  parser.add_argument('--idle_secs', type=float, default=2.0,
                      help='Length of each no-swap phase.')
  parser.add_argument('--gap_secs', type=float, default=0.1,
                      help='Pause after each swap.')
  parser.add_argument('--period_ms', type=float, default=0.0,
                      help='Control loop period (0: predict back to back).')
  parser.add_argument('--refresh_interval_secs', type=float, default=0.1)
  parser.add_argument('--trigger', choices=('refresh', 'restore'),
                      default='refresh')
  args = parser.parse_args()
  period_secs = args.period_ms / 1000.0
  with tempfile.TemporaryDirectory() as root:
    export_root, staged, features = _stage_exports(
        root, args.rounds * args.swaps_per_round)
    refresh = ({'refresh_interval_secs': args.refresh_interval_secs}
               if args.trigger == 'refresh' else {})
    predictor = ExportedSavedModelPredictor(export_root, timeout=0, **refresh)
    assert predictor.restore()
    for _ in range(50):
      predictor.predict(features)
    idle, swapping, load_secs = [], [], []
    for round_index in range(args.rounds):
      deadline = time.monotonic() + args.idle_secs
      idle.append(_time_calls(predictor, features,
                              lambda: time.monotonic() < deadline,
                              period_secs))
      batch = staged[round_index * args.swaps_per_round:
                     (round_index + 1) * args.swaps_per_round]
      trainer = threading.Thread(
          target=_swap_in, args=(predictor, export_root, batch, args.trigger,
                                 args.gap_secs, load_secs))
      trainer.start()
      swapping.append(_time_calls(predictor, features, trainer.is_alive,
                                  period_secs))
      trainer.join()
    assert predictor.model_version == staged[-1][0]
    predictor.close()
  print(f'{len(load_secs)} swaps ({args.trigger}, period '
        f'{args.period_ms:g} ms), rename to serving: median '
        f'{np.median(load_secs) * 1000:.0f} ms')
  print('p99 per round (no swaps / during swaps): ' + ', '.join(
      f'{np.percentile(_ms(a), 99):.2f}/{np.percentile(_ms(b), 99):.2f}'
      for a, b in zip(idle, swapping)))
  for name, phases in (('no swaps', idle), ('during swaps', swapping)):
    pooled = _ms(np.concatenate(phases))
    print(f'{name:12s}: {len(pooled):5d} calls, p50 '
          f'{np.percentile(pooled, 50):.3f} ms, p99 '
          f'{np.percentile(pooled, 99):.3f} ms, max {pooled.max():.2f} ms')
  # The median over rounds of each phase's p99: a burst of other load on
  # the machine spoils one round, not the comparison.
  ours = np.median([np.percentile(_ms(times), 99) for times in swapping])
  baseline = np.median([np.percentile(_ms(times), 99) for times in idle])
  print(f'predict_swaps: ratio {ours / baseline:.3f} ({ours:.3f} vs '
        f'{baseline:.3f} ms)')


if __name__ == '__main__':
  main()
