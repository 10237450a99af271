"""Benchmark: DefaultRecordInputGenerator vs a hand-tuned tf.data pipeline.

Writes `--num_records` tf.train.Examples (a 472x472x3 JPEG `image`, quality
95, a float32 (7,) `action` and a float32 (1,) `grasp_success`) into TFRecord
shards in a temporary directory, then alternates epochs of

* ours: `DefaultRecordInputGenerator` in TRAIN mode (batch 32), and
* baseline: files -> interleave(TFRecordDataset) -> shuffle -> repeat ->
  batch -> tf.io.parse_example + parallel tf.io.decode_jpeg -> prefetch,

with the same shuffle buffer, cycle length and decode parallelism, and
reports the median images/s of each. It also reports how fast this machine
decodes the same JPEG bytes in a tight tf.data map (the upper bound for both
pipelines) and the resident memory after every epoch.

Usage:
  python benchmarks/input_pipeline.py                   # 2,000 records
  python benchmarks/input_pipeline.py --num_records 256 --epochs 2   # quick

The last line is `input_pipeline: ratio <ours/baseline> (<ours> vs
<baseline> images/s)`.
"""

import argparse
import gc
import os
import statistics
import tempfile
import time

import numpy as np
import psutil
import tensorflow as tf

from t2r import specs
from t2r.data import image_decoding
from t2r.data import record_input_generator
from t2r.modes import ModeKeys

_IMAGE_SHAPE = (472, 472, 3)
_BATCH_SIZE = 32
_SHUFFLE_BUFFER = 500
_NUM_SHARDS = 8
_WARMUP_BATCHES = 2


def _feature_and_label_specs():
  feature_spec = specs.TensorSpecStruct()
  feature_spec.image = specs.ExtendedTensorSpec(
      _IMAGE_SHAPE, tf.uint8, name='image', data_format='jpeg')
  feature_spec.action = specs.ExtendedTensorSpec((7,), tf.float32,
                                                 name='action')
  label_spec = specs.TensorSpecStruct()
  label_spec.grasp_success = specs.ExtendedTensorSpec(
      (1,), tf.float32, name='grasp_success')
  return feature_spec, label_spec


def _camera_like_image(rng: np.random.Generator) -> np.ndarray:
  """A smooth scene with sensor noise: compresses like a camera frame."""
  height, width, _ = _IMAGE_SHAPE
  y, x = np.mgrid[0:height, 0:width].astype(np.float32)
  channels = []
  for _ in range(3):
    fx, fy, phase = rng.uniform(0.005, 0.05, 2).tolist() + [rng.uniform(0, 6)]
    channels.append(127 + 100 * np.sin(fx * x + fy * y + phase))
  image = np.stack(channels, -1) + rng.normal(0, 6, (height, width, 3))
  return np.clip(image, 0, 255).astype(np.uint8)


def write_records(directory: str, num_records: int):
  """Writes the shards; returns (file pattern, list of the JPEG bytes)."""
  rng = np.random.default_rng(0)
  jpegs = []
  writers = [
      tf.io.TFRecordWriter(os.path.join(directory, f'data-{i:05d}.tfrecord'))
      for i in range(_NUM_SHARDS)
  ]
  for index in range(num_records):
    # A few distinct scenes keep writing fast; every record still holds its
    # own encoded bytes.
    if index < 16:
      jpegs.append(
          tf.io.encode_jpeg(_camera_like_image(rng), quality=95).numpy())
    jpeg = jpegs[index % 16]
    if index >= 16:
      jpegs.append(jpeg)
    example = tf.train.Example(
        features=tf.train.Features(
            feature={
                'image':
                    tf.train.Feature(bytes_list=tf.train.BytesList(
                        value=[jpeg])),
                'action':
                    tf.train.Feature(float_list=tf.train.FloatList(
                        value=rng.random(7).tolist())),
                'grasp_success':
                    tf.train.Feature(float_list=tf.train.FloatList(
                        value=[float(index % 2)])),
            }))
    writers[index % _NUM_SHARDS].write(example.SerializeToString())
  for writer in writers:
    writer.close()
  return os.path.join(directory, 'data-*.tfrecord'), jpegs


def ours(file_pattern: str, cycle_length: int) -> tf.data.Dataset:
  feature_spec, label_spec = _feature_and_label_specs()
  generator = record_input_generator.DefaultRecordInputGenerator(
      file_patterns=file_pattern,
      batch_size=_BATCH_SIZE,
      shuffle_buffer_size=_SHUFFLE_BUFFER,
      cycle_length=cycle_length)
  generator.set_feature_specifications(feature_spec)
  generator.set_label_specifications(label_spec)
  return generator.create_dataset(ModeKeys.TRAIN)


def baseline(file_pattern: str, cycle_length: int) -> tf.data.Dataset:
  """What an expert writes by hand for exactly these three features."""
  filenames = sorted(tf.io.gfile.glob(file_pattern))
  features = {
      'image': tf.io.FixedLenFeature([], tf.string),
      'action': tf.io.FixedLenFeature([7], tf.float32),
      'grasp_success': tf.io.FixedLenFeature([1], tf.float32),
  }

  def decode(image: tf.Tensor) -> tf.Tensor:
    return tf.ensure_shape(tf.io.decode_jpeg(image, channels=3), _IMAGE_SHAPE)

  def parse(serialized):
    parsed = tf.io.parse_example(serialized, features)
    images = tf.map_fn(
        decode, parsed['image'],
        fn_output_signature=tf.TensorSpec(_IMAGE_SHAPE, tf.uint8),
        parallel_iterations=image_decoding.PARALLEL_DECODES)
    return ({'image': images, 'action': parsed['action']},
            {'grasp_success': parsed['grasp_success']})

  dataset = tf.data.Dataset.from_tensor_slices(filenames).shuffle(
      len(filenames))
  dataset = dataset.interleave(
      tf.data.TFRecordDataset, cycle_length=cycle_length,
      num_parallel_calls=tf.data.AUTOTUNE, deterministic=False)
  dataset = dataset.shuffle(_SHUFFLE_BUFFER).repeat()
  dataset = dataset.batch(_BATCH_SIZE, drop_remainder=True)
  dataset = dataset.map(parse, num_parallel_calls=tf.data.AUTOTUNE,
                        deterministic=False)
  return dataset.prefetch(tf.data.AUTOTUNE)


def decode_rate(jpegs, seconds: float = 3.0) -> float:
  """Images/s of tf.io.decode_jpeg alone in a parallel tf.data map."""
  dataset = tf.data.Dataset.from_tensor_slices(jpegs).map(
      lambda image: tf.io.decode_jpeg(image, channels=3),
      num_parallel_calls=tf.data.AUTOTUNE).repeat().prefetch(tf.data.AUTOTUNE)
  iterator = iter(dataset)
  for _ in range(2 * _BATCH_SIZE):
    next(iterator)
  count, start = 0, time.perf_counter()
  while time.perf_counter() - start < seconds:
    next(iterator)
    count += 1
  return count / (time.perf_counter() - start)


def run_epoch(dataset: tf.data.Dataset, num_batches: int):
  """Reads one epoch from a fresh iterator.

  A fresh iterator per epoch (deleted afterwards) keeps the pipeline that is
  not being timed from prefetching in the background.

  Returns:
    (images/s of wall time, CPU milliseconds of this process per image): the
    second is insensitive to other processes competing for the cores.
  """
  process = psutil.Process()
  iterator = iter(dataset)
  for _ in range(_WARMUP_BATCHES):
    next(iterator)
  cpu_start = sum(process.cpu_times()[:2])
  start = time.perf_counter()
  for _ in range(num_batches):
    features, _ = next(iterator)
  features['image'].numpy()  # Make sure the last batch is materialized.
  elapsed = time.perf_counter() - start
  cpu = sum(process.cpu_times()[:2]) - cpu_start
  del iterator
  gc.collect()
  num_images = num_batches * _BATCH_SIZE
  return num_images / elapsed, 1000 * cpu / num_images


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--num_records', type=int, default=2000)
  parser.add_argument('--epochs', type=int, default=5,
                      help='Timed epochs (rounds) of each pipeline.')
  args = parser.parse_args()
  process = psutil.Process()
  cycle_length = min(_NUM_SHARDS, max(2, os.cpu_count() or 2))
  num_batches = max(1, args.num_records // _BATCH_SIZE)
  with tempfile.TemporaryDirectory() as directory:
    start = time.perf_counter()
    file_pattern, jpegs = write_records(directory, args.num_records)
    print(f'wrote {args.num_records} records '
          f'({sum(map(len, jpegs)) / len(jpegs) / 1024:.0f} KiB JPEG each) in '
          f'{time.perf_counter() - start:.1f}s')
    print(f'jpeg decode alone: {decode_rate(jpegs):.0f} images/s')
    del jpegs
    pipelines = {
        'ours': ours(file_pattern, cycle_length),
        'baseline': baseline(file_pattern, cycle_length),
    }
    rates = {name: [] for name in pipelines}
    for epoch in range(args.epochs):
      for name, dataset in pipelines.items():
        rate, cpu_ms = run_epoch(dataset, num_batches)
        rates[name].append(rate)
        print(f'epoch {epoch} {name:8s} {rate:7.1f} images/s, '
              f'{cpu_ms:5.2f} CPU ms/image, RSS '
              f'{process.memory_info().rss / 2**20:.0f} MiB')
  ours_rate = statistics.median(rates['ours'])
  baseline_rate = statistics.median(rates['baseline'])
  print(f'input_pipeline: ratio {ours_rate / baseline_rate:.3f} '
        f'({ours_rate:.1f} vs {baseline_rate:.1f} images/s)')


if __name__ == '__main__':
  main()
