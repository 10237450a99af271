"""Specification of the constant, random and Python-generator generators."""

import gin
import numpy as np
import pytest
import tensorflow as tf

from t2r import specs
from t2r.data import synthetic_input_generators as synthetic
from t2r.modes import ModeKeys


def _specs():
  feature_spec = specs.TensorSpecStruct()
  feature_spec.state = specs.ExtendedTensorSpec((3,), tf.float32, name='s')
  feature_spec.camera = {
      'image': specs.ExtendedTensorSpec((4, 4, 3), tf.uint8, name='image',
                                        data_format='png')
  }
  feature_spec.steps = specs.ExtendedTensorSpec((2,), tf.int64, name='steps',
                                                is_sequence=True)
  label_spec = specs.TensorSpecStruct()
  label_spec.reward = specs.ExtendedTensorSpec((1,), tf.float32, name='r')
  return feature_spec, label_spec


def _with_specs(generator):
  generator.set_feature_specifications(*_specs()[:1])
  generator.set_label_specifications(_specs()[1])
  return generator


def _batches(generator, count, mode=ModeKeys.TRAIN):
  return [(f, l) for f, l in generator.create_dataset(mode).take(count)]


def test_constant_batches_are_filled_with_the_value():
  generator = _with_specs(
      synthetic.DefaultConstantInputGenerator(
          constant_value=3, batch_size=2, sequence_length=5))
  features, labels = _batches(generator, 1)[0]
  assert features['state'].shape == (2, 3)
  assert features['camera/image'].shape == (2, 4, 4, 3)
  assert features['camera/image'].dtype == tf.uint8
  assert features['steps'].shape == (2, 5, 2)
  np.testing.assert_array_equal(features['steps'].numpy(), 3)
  np.testing.assert_array_equal(labels['reward'].numpy(), [[3.0], [3.0]])


def test_constant_batches_keep_the_nested_layout():
  generator = _with_specs(
      synthetic.DefaultConstantInputGenerator(constant_value=1, batch_size=1))
  features, _ = _batches(generator, 1)[0]
  assert isinstance(features, specs.TensorSpecStruct)
  assert features.camera.image.shape == (1, 4, 4, 3)


def test_random_batches_are_reproducible_with_a_seed_and_vary():

  def draw(seed):
    generator = _with_specs(
        synthetic.DefaultRandomInputGenerator(batch_size=2, seed=seed))
    return [f['state'].numpy() for f, _ in _batches(generator, 2)]

  first, second = draw(seed=1)
  assert first.shape == (2, 3) and first.dtype == np.float32
  assert not np.array_equal(first, second)  # Each batch is new data.
  np.testing.assert_array_equal(first, draw(seed=1)[0])
  assert not np.array_equal(first, draw(seed=2)[0])


def test_random_pipelines_of_a_strategy_get_different_data():

  def draw(pipeline_id):
    generator = _with_specs(
        synthetic.DefaultRandomInputGenerator(batch_size=4, seed=0))
    context = tf.distribute.InputContext(2, pipeline_id, 2)
    dataset = generator.create_dataset(ModeKeys.TRAIN, input_context=context)
    return next(iter(dataset))[0]['state'].numpy()

  first = draw(0)
  assert first.shape == (2, 3)  # Per-replica batch of the global 4.
  assert not np.array_equal(first, draw(1))


def _simulator(batch_size, num_batches=3, state_shape=(3,)):
  for step in range(num_batches):
    yield ({
        'state': np.full((batch_size,) + state_shape, step, np.float32),
        'camera': {'image': np.zeros((batch_size, 4, 4, 3), np.uint8)},
        'steps': np.zeros((batch_size, 2, 2), np.int64),
    }, {'reward': np.ones((batch_size, 1), np.float32)})


def test_a_generator_feeds_its_batches_in_order_until_it_ends():
  generator = _with_specs(
      synthetic.GeneratorInputGenerator(_simulator, batch_size=2))
  batches = _batches(generator, 10)
  assert [f['state'][0, 0].numpy() for f, _ in batches] == [0.0, 1.0, 2.0]
  assert batches[0][0]['camera/image'].shape == (2, 4, 4, 3)
  assert generator.create_dataset(
      ModeKeys.TRAIN).element_spec[0]['state'].shape.as_list() == [2, 3]


@pytest.mark.parametrize('bad_batch, message', [
    (lambda b: next(_simulator(b, state_shape=(4,))),
     r"'state' \(name 's'\) expects \(None, 3\).*\(2, 4\)"),
    (lambda b: ({'state': np.zeros((b, 3), np.float32)}, {}), "'camera/image'"),
    (lambda b: np.zeros(3), 'features, labels'),
])
def test_a_generator_batch_that_misses_the_specs_fails_naming_it(
    bad_batch, message):
  generator = _with_specs(
      synthetic.GeneratorInputGenerator(lambda b: iter([bad_batch(b)]),
                                        batch_size=2))
  with pytest.raises(tf.errors.InvalidArgumentError, match=message):
    _batches(generator, 1)


def test_a_generator_batch_of_the_wrong_size_fails():
  generator = _with_specs(
      synthetic.GeneratorInputGenerator(lambda b: _simulator(b + 1),
                                        batch_size=2))
  with pytest.raises(tf.errors.InvalidArgumentError, match=r'\(2, 3\)'):
    _batches(generator, 1)


def test_the_preprocess_function_gets_the_mode():
  generator = _with_specs(
      synthetic.DefaultConstantInputGenerator(constant_value=1, batch_size=2))
  seen_modes = []

  def preprocess(features, labels, mode):
    seen_modes.append(mode)
    features = specs.TensorSpecStruct(features)
    features['state'] = features['state'] + 1.0
    return features, labels

  generator.set_preprocess_fn(preprocess)
  features, _ = _batches(generator, 1, ModeKeys.EVAL)[0]
  np.testing.assert_array_equal(features['state'].numpy(), 2.0)
  assert seen_modes == [ModeKeys.EVAL]


def test_params_batch_size_overrides_the_constructor():
  generator = _with_specs(
      synthetic.DefaultConstantInputGenerator(constant_value=0, batch_size=2))
  dataset = generator.create_dataset(ModeKeys.TRAIN, params={'batch_size': 5})
  assert next(iter(dataset))[0]['state'].shape == (5, 3)


@pytest.mark.parametrize('make', [
    lambda: synthetic.DefaultConstantInputGenerator(1, batch_size=-1),
    lambda: synthetic.DefaultRandomInputGenerator(sequence_length=0),
    lambda: synthetic.GeneratorInputGenerator(generator_fn=None),
])
def test_invalid_arguments_are_rejected(make):
  with pytest.raises((ValueError, TypeError)):
    make()


def test_generators_are_configurable_with_gin():
  gin.parse_config("""
      DefaultConstantInputGenerator.constant_value = 7
      DefaultConstantInputGenerator.batch_size = 3
  """)
  try:
    generator = _with_specs(synthetic.DefaultConstantInputGenerator())
  finally:
    gin.clear_config()
  features, _ = _batches(generator, 1)[0]
  np.testing.assert_array_equal(features['state'].numpy(), np.full((3, 3), 7))
