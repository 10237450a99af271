"""Benchmark: DefaultRecordInputGenerator vs hand-tuned tf.data pipelines.

Three cases, each on its own TFRecord shards in a temporary directory
(`--num_records` tf.train.Examples: a JPEG `image`, quality 95, a float32
(7,) `action` and a float32 (1,) `grasp_success`), alternating epochs of
ours and the baselines in one process and reporting median images/s:

* same size (472x472 records, the model takes them as stored): ours is
  `DefaultRecordInputGenerator` in TRAIN mode (batch 32) without a
  preprocessor; the baseline is files -> interleave(TFRecordDataset) ->
  shuffle -> repeat -> batch -> tf.io.parse_example + parallel
  tf.io.decode_jpeg -> prefetch, with the same shuffle buffer, cycle length
  and decode parallelism.
* qtopt_crop (512x640 records -> random 472x472 crop, float32): ours adds
  `ImagePreprocessor` (TRAIN, distortions off), which declares its crop so
  that only the window is decoded (`t2r.data.decode_hints`); the baseline
  is the plain per-example pipeline parse_single_example -> decode_jpeg ->
  tf.image.random_crop -> convert_image_dtype -> batch, i.e. full decode
  then crop. `ours_full` is ours with `use_decode_hints=False` (the same
  work as the baseline).
* cpu_64 (512x640 records -> 64x64 float32, antialiased resize): ours with
  `ImagePreprocessor` decodes at 1/8 scale (DCT) and resizes; the baseline
  decodes in full, converts and resizes per example.

It also reports how fast this machine decodes the 472x472 JPEG bytes in a
tight tf.data map (the upper bound for the same-size case) and the resident
memory after every epoch.

Usage:
  python benchmarks/input_pipeline.py                   # 2,000 records
  python benchmarks/input_pipeline.py --num_records 256 --epochs 2   # quick
  python benchmarks/input_pipeline.py --cases same      # one case

Each case prints `input_pipeline_<case>: ratio <ours/baseline> (<ours> vs
<baseline> images/s)`; the last line is the same-size case's
`input_pipeline: ratio <ours/baseline> (<ours> vs <baseline> images/s)`.
"""

if __name__ == '__main__':
  from t2r import quiet_logs  # pylint: disable=g-import-not-at-top
  quiet_logs.quiet_tensorflow_logs()

import argparse  # pylint: disable=g-import-not-at-top
import gc
import os
import statistics
import tempfile
import time

import numpy as np
import psutil
import tensorflow as tf

from preprocessors import ImagePreprocessor
from t2r import specs
from t2r.data import image_decoding
from t2r.data import record_input_generator
from t2r.modes import ModeKeys

_IMAGE_SHAPE = (472, 472, 3)
_CAMERA_SHAPE = (512, 640, 3)
_QTOPT_SIZE = (472, 472)
_CPU_SIZE = (64, 64)
_CASES = ('qtopt_crop', 'cpu_64', 'same')
_BATCH_SIZE = 32
_SHUFFLE_BUFFER = 500
_NUM_SHARDS = 8
_WARMUP_BATCHES = 2


def _feature_and_label_specs(image_shape=_IMAGE_SHAPE, dtype=tf.uint8,
                             data_format='jpeg'):
  feature_spec = specs.TensorSpecStruct()
  feature_spec.image = specs.ExtendedTensorSpec(
      image_shape, dtype, name='image', data_format=data_format)
  feature_spec.action = specs.ExtendedTensorSpec((7,), tf.float32,
                                                 name='action')
  label_spec = specs.TensorSpecStruct()
  label_spec.grasp_success = specs.ExtendedTensorSpec(
      (1,), tf.float32, name='grasp_success')
  return feature_spec, label_spec


def _camera_like_image(rng: np.random.Generator,
                       shape=_IMAGE_SHAPE) -> np.ndarray:
  """A smooth scene with sensor noise: compresses like a camera frame."""
  height, width, _ = shape
  y, x = np.mgrid[0:height, 0:width].astype(np.float32)
  channels = []
  for _ in range(3):
    fx, fy, phase = rng.uniform(0.005, 0.05, 2).tolist() + [rng.uniform(0, 6)]
    channels.append(127 + 100 * np.sin(fx * x + fy * y + phase))
  image = np.stack(channels, -1) + rng.normal(0, 6, (height, width, 3))
  return np.clip(image, 0, 255).astype(np.uint8)


def write_records(directory: str, num_records: int, shape=_IMAGE_SHAPE):
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
          tf.io.encode_jpeg(_camera_like_image(rng, shape),
                            quality=95).numpy())
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


class _CameraModel:
  """The spec methods of a model taking `size` float images of 512x640 JPEGs."""

  def __init__(self, size):
    self._size = size
    self.preprocessor = ImagePreprocessor(
        self.get_feature_specification, self.get_label_specification,
        source_image_size=_CAMERA_SHAPE[:2], distortion_kwargs={},
        crop_size=None if size == _QTOPT_SIZE else _CAMERA_SHAPE[:2])

  def get_feature_specification(self, mode):
    del mode
    return _feature_and_label_specs(self._size + (3,), tf.float32, None)[0]

  def get_label_specification(self, mode):
    del mode
    return _feature_and_label_specs()[1]


def ours_preprocessed(file_pattern: str, cycle_length: int, size,
                      use_decode_hints: bool) -> tf.data.Dataset:
  """Ours with ImagePreprocessor: a random crop or a resize to `size`."""
  generator = record_input_generator.DefaultRecordInputGenerator(
      file_patterns=file_pattern,
      batch_size=_BATCH_SIZE,
      shuffle_buffer_size=_SHUFFLE_BUFFER,
      cycle_length=cycle_length,
      use_decode_hints=use_decode_hints)
  generator.set_specification_from_model(_CameraModel(size), ModeKeys.TRAIN)
  return generator.create_dataset(ModeKeys.TRAIN)


def baseline_preprocessed(file_pattern: str, cycle_length: int,
                          size) -> tf.data.Dataset:
  """The plain per-example pipeline: full decode, then crop or resize."""
  filenames = sorted(tf.io.gfile.glob(file_pattern))
  features = {
      'image': tf.io.FixedLenFeature([], tf.string),
      'action': tf.io.FixedLenFeature([7], tf.float32),
      'grasp_success': tf.io.FixedLenFeature([1], tf.float32),
  }

  def parse(serialized):
    parsed = tf.io.parse_single_example(serialized, features)
    image = tf.io.decode_jpeg(parsed['image'], channels=3)
    if size == _QTOPT_SIZE:
      image = tf.image.convert_image_dtype(
          tf.image.random_crop(image, size + (3,)), tf.float32)
    else:
      image = tf.image.resize(tf.image.convert_image_dtype(image, tf.float32),
                              size, antialias=True)
    return ({'image': image, 'action': parsed['action']},
            {'grasp_success': parsed['grasp_success']})

  dataset = tf.data.Dataset.from_tensor_slices(filenames).shuffle(
      len(filenames))
  dataset = dataset.interleave(
      tf.data.TFRecordDataset, cycle_length=cycle_length,
      num_parallel_calls=tf.data.AUTOTUNE, deterministic=False)
  dataset = dataset.shuffle(_SHUFFLE_BUFFER).repeat()
  dataset = dataset.map(parse, num_parallel_calls=tf.data.AUTOTUNE,
                        deterministic=False)
  dataset = dataset.batch(_BATCH_SIZE, drop_remainder=True)
  return dataset.prefetch(tf.data.AUTOTUNE)


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


def _pipelines(case: str, file_pattern: str, cycle_length: int):
  """{name: dataset} of one case; 'ours' and 'baseline' give its ratio."""
  if case == 'same':
    return {'ours': ours(file_pattern, cycle_length),
            'baseline': baseline(file_pattern, cycle_length)}
  size = _QTOPT_SIZE if case == 'qtopt_crop' else _CPU_SIZE
  return {
      'ours': ours_preprocessed(file_pattern, cycle_length, size, True),
      'ours_full': ours_preprocessed(file_pattern, cycle_length, size, False),
      'baseline': baseline_preprocessed(file_pattern, cycle_length, size),
  }


def run_case(case: str, num_records: int, epochs: int,
             cycle_length: int) -> str:
  """Runs one case's alternating epochs; returns its ratio line."""
  process = psutil.Process()
  num_batches = max(1, num_records // _BATCH_SIZE)
  shape = _IMAGE_SHAPE if case == 'same' else _CAMERA_SHAPE
  with tempfile.TemporaryDirectory() as directory:
    start = time.perf_counter()
    file_pattern, jpegs = write_records(directory, num_records, shape)
    print(f'{case}: wrote {num_records} records of {shape[0]}x{shape[1]} '
          f'({sum(map(len, jpegs)) / len(jpegs) / 1024:.0f} KiB JPEG each) in '
          f'{time.perf_counter() - start:.1f}s')
    if case == 'same':
      print(f'jpeg decode alone: {decode_rate(jpegs):.0f} images/s')
    del jpegs
    pipelines = _pipelines(case, file_pattern, cycle_length)
    rates = {name: [] for name in pipelines}
    for epoch in range(epochs):
      for name, dataset in pipelines.items():
        rate, cpu_ms = run_epoch(dataset, num_batches)
        rates[name].append(rate)
        print(f'{case} epoch {epoch} {name:9s} {rate:7.1f} images/s, '
              f'{cpu_ms:5.2f} CPU ms/image, RSS '
              f'{process.memory_info().rss / 2**20:.0f} MiB')
  medians = {name: statistics.median(values)
             for name, values in rates.items()}
  if 'ours_full' in medians:
    print(f'{case}: ours without decode hints / baseline '
          f'{medians["ours_full"] / medians["baseline"]:.3f}')
  name = 'input_pipeline' if case == 'same' else f'input_pipeline_{case}'
  return (f'{name}: ratio {medians["ours"] / medians["baseline"]:.3f} '
          f'({medians["ours"]:.1f} vs {medians["baseline"]:.1f} images/s)')


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--num_records', type=int, default=2000)
  parser.add_argument('--epochs', type=int, default=5,
                      help='Timed epochs (rounds) of each pipeline.')
  parser.add_argument('--cases', default=','.join(_CASES),
                      help=f'Comma-separated cases of {_CASES}.')
  args = parser.parse_args()
  cases = [case for case in _CASES if case in args.cases.split(',')]
  if not cases:
    parser.error(f'--cases must name some of {_CASES}, got {args.cases!r}.')
  cycle_length = min(_NUM_SHARDS, max(2, os.cpu_count() or 2))
  lines = [run_case(case, args.num_records, args.epochs, cycle_length)
           for case in cases]
  for line in lines:
    print(line)


if __name__ == '__main__':
  main()
