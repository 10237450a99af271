"""A two-minute tour of the spec system; run `python -m t2r.bin.spec_demo`.

It declares a model's inputs once and derives the rest from them: a
hierarchical spec, random data matching it, validation with a clear error, a
tf.function input signature, and the text-proto assets an export carries.
"""

if __name__ == '__main__':
  # Before TensorFlow is imported: its C++ logs print at import.
  from t2r import quiet_logs  # pylint: disable=g-import-not-at-top
  quiet_logs.quiet_tensorflow_logs()

import collections
import os
import tempfile

from absl import app
import tensorflow as tf

from t2r import specs


def build_hierarchical_spec() -> specs.TensorSpecStruct:
  """The hierarchical example of the Tensor2Robot README."""
  simple = specs.TensorSpecStruct()
  simple.state = specs.ExtendedTensorSpec((8, 128), tf.float32, name='s')
  simple.action = specs.ExtendedTensorSpec((8,), tf.float32, name='a')
  hierarchical = specs.TensorSpecStruct()
  hierarchical.train = specs.copy_tensorspec(simple, prefix='train')
  hierarchical.val = specs.copy_tensorspec(simple, prefix='val')
  hierarchical.image = specs.ExtendedTensorSpec(
      (64, 64, 3), tf.uint8, name='image', data_format='jpeg')
  return hierarchical


def main(argv):
  del argv
  spec = build_hierarchical_spec()
  specs.assert_valid_spec_structure(spec)
  print('Flat paths and names:')
  for path, value in spec.items():
    print(f'  {path:14s} name={value.name!r:12s} shape={value.shape} '
          f'{value.dtype.name}')
  print('Hierarchical view spec.train:', spec.train.keys())

  batch = specs.make_random_numpy(spec, batch_size=4, seed=0)
  flat = specs.validate_and_flatten(spec, batch, ignore_batch=True)
  print(f'Random batch validated: {len(flat)} arrays, '
        f'train/state {batch.train.state.shape}')

  batch.train.state = batch.train.state[:, :7]
  try:
    specs.validate_and_flatten(spec, batch, ignore_batch=True)
  except ValueError as e:
    print('A misshaped batch is rejected:', e)

  signature = specs.make_input_signature(spec)

  @tf.function(input_signature=[signature])
  def mean_action(features):
    return tf.reduce_mean(features.train.action, axis=-1)

  good = specs.make_random_numpy(spec, batch_size=2, seed=1)
  print('tf.function over the signature:',
        mean_action(tf.nest.map_structure(tf.constant, good)).numpy())

  Sample = collections.namedtuple('Sample', ['state', 'action'])
  nested = Sample(state=spec.train.state, action=spec.train.action)
  print('namedtuple flattened:', specs.flatten_spec_structure(nested).keys())

  with tempfile.TemporaryDirectory() as export_dir:
    assets = specs.make_t2r_assets(spec, global_step=42,
                                   model_class='demo.Model')
    path = specs.write_t2r_assets(assets, export_dir)
    restored = specs.read_t2r_assets(export_dir)
    round_trip = specs.spec_structure_from_proto(restored.feature_spec)
    specs.assert_equal(spec, round_trip)
    print(f'Assets written to {os.path.basename(path)} and read back: '
          f'{len(round_trip)} specs, global step {restored.global_step}, '
          f'TensorFlow {restored.provenance.tensorflow_version}')


def console_main():
  """Entry point of the `t2r-spec-demo` console script."""
  app.run(main)


if __name__ == '__main__':
  console_main()
