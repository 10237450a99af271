"""Benchmark: the CPU cost of `record_guard.check_wire_format` on JPEG records.

Builds `--num_records` tf.train.Examples like a camera stream's: a 512x640
JPEG `image` (quality 95, the camera-like scenes of
`benchmarks/input_pipeline.py`), a float32 (7,) `action` and a float32 (1,)
`grasp_success`, batched by 32 in memory. Then it alternates rounds of two
traced functions over all the batches:

* parse: `tf.io.parse_example` of the three features, and
* guarded: the same parse under `record_guard.check_wire_format` (as
  `t2r.data.parsing` runs it on streams that read strings or images),

and reports the median CPU time of this process (all its threads) per
record of each, and of the check alone (their difference).

Usage:
  python benchmarks/record_guard.py                  # 256 records, 7 rounds
  python benchmarks/record_guard.py --rounds 3       # quick

The last line is `record_guard: ratio <guarded/parse> (<guarded> vs <parse>
CPU ms per record)`.
"""

if __name__ == '__main__':
  from t2r import quiet_logs  # pylint: disable=g-import-not-at-top
  quiet_logs.quiet_tensorflow_logs()

import argparse  # pylint: disable=g-import-not-at-top
import os
import statistics
import sys
import time

import numpy as np
import tensorflow as tf

from t2r.data import record_guard

# The camera-like scenes of the input pipeline benchmark, beside this file.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import input_pipeline  # pylint: disable=g-import-not-at-top,wrong-import-position

_BATCH_SIZE = 32
_SCENE = input_pipeline._camera_like_image  # pylint: disable=protected-access
_SHAPE = (512, 640, 3)
_FEATURES = {
    'image': tf.io.FixedLenFeature([], tf.string),
    'action': tf.io.FixedLenFeature([7], tf.float32),
    'grasp_success': tf.io.FixedLenFeature([1], tf.float32),
}


def make_batches(num_records: int):
  """(list of 1-D string tensors of `_BATCH_SIZE` records, mean JPEG bytes)."""
  rng = np.random.default_rng(0)
  # A few distinct scenes keep building fast; every record holds its bytes.
  jpegs = [tf.io.encode_jpeg(_SCENE(rng, _SHAPE), quality=95).numpy()
           for _ in range(8)]
  records = []
  for index in range(num_records):
    records.append(tf.train.Example(features=tf.train.Features(feature={
        'image': tf.train.Feature(bytes_list=tf.train.BytesList(
            value=[jpegs[index % len(jpegs)]])),
        'action': tf.train.Feature(float_list=tf.train.FloatList(
            value=rng.random(7).tolist())),
        'grasp_success': tf.train.Feature(float_list=tf.train.FloatList(
            value=[float(index % 2)])),
    })).SerializeToString())
  batches = [tf.constant(records[start:start + _BATCH_SIZE])
             for start in range(0, num_records, _BATCH_SIZE)]
  return batches, statistics.mean(len(jpeg) for jpeg in jpegs)


_SIGNATURE = [tf.TensorSpec([None], tf.string)]


@tf.function(input_signature=_SIGNATURE)
def parse(serialized):
  return tf.io.parse_example(serialized, _FEATURES)


@tf.function(input_signature=_SIGNATURE)
def guarded(serialized):
  with tf.control_dependencies([record_guard.check_wire_format(
      serialized, False, 'of the batch')]):
    return tf.io.parse_example(serialized, _FEATURES)


def cpu_ms_per_record(fn, batches) -> float:
  """The CPU time of this process per record of one pass of fn."""
  records = sum(int(tf.size(batch)) for batch in batches)
  start = time.process_time()
  for batch in batches:
    tf.nest.map_structure(lambda tensor: tensor.numpy(), fn(batch))
  return (time.process_time() - start) * 1000 / records


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--num_records', type=int, default=256)
  parser.add_argument('--rounds', type=int, default=7)
  args = parser.parse_args()

  batches, jpeg_bytes = make_batches(args.num_records)
  for fn in (parse, guarded):  # Trace and warm up.
    cpu_ms_per_record(fn, batches)
  times = {'parse': [], 'guarded': []}
  for _ in range(args.rounds):
    times['parse'].append(cpu_ms_per_record(parse, batches))
    times['guarded'].append(cpu_ms_per_record(guarded, batches))
  parse_ms = statistics.median(times['parse'])
  guarded_ms = statistics.median(times['guarded'])
  print(f'{args.num_records} records of a {jpeg_bytes / 1000:.0f} KB JPEG, '
        f'batch {_BATCH_SIZE}, {args.rounds} rounds (median CPU ms per '
        'record)')
  print(f'parse alone:   {parse_ms:.4f}')
  print(f'parse + guard: {guarded_ms:.4f}')
  print(f'guard:         {guarded_ms - parse_ms:.4f}')
  print(f'record_guard: ratio {guarded_ms / parse_ms:.3f} '
        f'({guarded_ms:.4f} vs {parse_ms:.4f} CPU ms per record)')


if __name__ == '__main__':
  main()
