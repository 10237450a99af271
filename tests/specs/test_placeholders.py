"""Placeholders, tf.function input signatures and feed dicts from specs."""

import numpy as np
import pytest
import tensorflow as tf

from t2r import specs
from t2r.specs import ExtendedTensorSpec
from t2r.specs import TensorSpecStruct


@pytest.fixture
def spec():
  return TensorSpecStruct({
      'train/state': ExtendedTensorSpec((8, 128), tf.float32, name='train/s'),
      'obs': ExtendedTensorSpec((3,), tf.int64, name='o', is_sequence=True),
  })


@pytest.mark.parametrize('batch_size, state_shape, obs_shape', [
    (None, [None, 8, 128], [None, None, 3]),
    (4, [4, 8, 128], [4, None, 3]),
    (-1, [8, 128], [None, 3]),
    (0, [8, 128], [None, 3]),
])
def test_make_placeholders_shapes(spec, batch_size, state_shape, obs_shape):
  with tf.Graph().as_default():
    placeholders = specs.make_placeholders(spec, batch_size=batch_size)
    assert isinstance(placeholders, TensorSpecStruct)
    assert placeholders.train.state.shape.as_list() == state_shape
    assert placeholders.obs.shape.as_list() == obs_shape
    assert placeholders.obs.dtype == tf.int64
    assert placeholders.train.state.op.type == 'Placeholder'
    assert placeholders.train.state.op.name == 'train_s'


def test_make_placeholders_eagerly_explains_the_fix(spec):
  with pytest.raises(RuntimeError, match='tf.Graph'):
    specs.make_placeholders(spec)


def test_feed_dict_runs_a_graph(spec):
  with tf.Graph().as_default():
    placeholders = specs.make_placeholders(spec, batch_size=None)
    total = tf.reduce_sum(placeholders.train.state)
    inputs = specs.make_constant_numpy(spec, 1, batch_size=2)
    feed_dict = specs.map_feed_dict(placeholders, inputs)
    with tf.compat.v1.Session() as session:
      assert session.run(total, feed_dict=feed_dict) == 2 * 8 * 128


def test_map_feed_dict_rejects_misshaped_inputs(spec):
  with tf.Graph().as_default():
    placeholders = specs.make_placeholders(spec, batch_size=2)
    inputs = specs.make_constant_numpy(spec, 1, batch_size=3)
    with pytest.raises(ValueError, match="'train/state'"):
      specs.map_feed_dict(placeholders, inputs)


def test_input_signature_drives_a_tf_function(spec):
  signature = specs.make_input_signature(spec)
  assert signature.train.state == tf.TensorSpec((None, 8, 128), tf.float32,
                                                'train/s')
  assert type(signature.train.state) is tf.TensorSpec
  assert signature.train.state.name == 'train/s'

  @tf.function(input_signature=[signature])
  def total(features):
    return tf.reduce_sum(features.train.state) + tf.cast(
        tf.reduce_sum(features.obs), tf.float32)

  for batch in (1, 3):
    values = specs.make_constant_numpy(spec, 1, batch_size=batch,
                                       sequence_length=2)
    tensors = tf.nest.map_structure(tf.constant, values)
    assert total(tensors).numpy() == batch * (8 * 128 + 2 * 3)
  assert len(total.get_concrete_function().structured_input_signature) == 2


@pytest.mark.parametrize('batch_size, sequence_length', [(None, 3), (2, 5)])
def test_make_constant_numpy(spec, batch_size, sequence_length):
  values = specs.make_constant_numpy(spec, 7, batch_size=batch_size,
                                     sequence_length=sequence_length)
  lead = [] if batch_size is None else [batch_size]
  assert values.train.state.shape == tuple(lead + [8, 128])
  assert values.obs.shape == tuple(lead + [sequence_length, 3])
  assert values.obs.dtype == np.int64
  assert np.all(values.train.state == 7)


def test_make_random_numpy_is_seeded_and_typed():
  spec = TensorSpecStruct({
      'image': ExtendedTensorSpec((4, 4, 3), tf.uint8, name='i',
                                  data_format='jpeg'),
      'flag': ExtendedTensorSpec((2,), tf.bool, name='f'),
      'text': ExtendedTensorSpec((), tf.string, name='t'),
      'x': ExtendedTensorSpec((3,), tf.float16, name='x'),
  })
  first = specs.make_random_numpy(spec, batch_size=2, seed=3)
  second = specs.make_random_numpy(spec, batch_size=2, seed=3)
  other = specs.make_random_numpy(spec, batch_size=2, seed=4)
  for path in spec.keys():
    np.testing.assert_array_equal(first[path], second[path])
  assert not np.array_equal(first.image, other.image)
  assert first.image.dtype == np.uint8 and first.image.shape == (2, 4, 4, 3)
  assert first.flag.dtype == bool
  assert isinstance(first.text[0], bytes)
  assert first.x.dtype == np.float16
  specs.validate_and_flatten(spec, first, ignore_batch=True)


def test_numpy_makers_need_known_shapes():
  spec = {'x': ExtendedTensorSpec((None,), tf.float32, name='x')}
  with pytest.raises(ValueError, match="'x'"):
    specs.make_random_numpy(spec)
