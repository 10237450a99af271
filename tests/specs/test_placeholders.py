"""Placeholders, tf.function input signatures and feed dicts from specs."""

import numpy as np
import pytest
import tensorflow as tf

from t2r import specs
from t2r.errors import SpecTypeError
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


@pytest.mark.parametrize('batch_size', [None, 1])
def test_map_feed_dict_ignore_batch_ignores_both_batch_dimensions(
    spec, batch_size):
  with tf.Graph().as_default():
    placeholders = specs.make_placeholders(spec, batch_size=batch_size)
    total = tf.reduce_sum(placeholders.train.state)
    inputs = specs.make_constant_numpy(spec, 1, batch_size=1)
    feed_dict = specs.map_feed_dict(placeholders, inputs, ignore_batch=True)
    with tf.compat.v1.Session() as session:
      assert session.run(total, feed_dict=feed_dict) == 8 * 128


def test_map_feed_dict_ignore_batch_still_checks_the_other_dimensions(spec):
  with tf.Graph().as_default():
    placeholders = specs.make_placeholders(spec, batch_size=1)
    inputs = specs.make_constant_numpy(spec, 1, batch_size=3)
    inputs.train.state = np.ones((3, 8, 127), np.float32)
    with pytest.raises(ValueError, match=r"'train/state'.*expects "
                       r'\(None, 8, 128\) float32 but got \(3, 8, 127\)'):
      specs.map_feed_dict(placeholders, inputs, ignore_batch=True)


def test_map_feed_dict_ignore_batch_needs_a_batch_dimension():
  with tf.Graph().as_default():
    scalar = tf.compat.v1.placeholder(tf.float32, (), name='scalar')
    with pytest.raises(ValueError, match="'x' has shape \\(\\), so there is "
                       'no batch dimension to ignore'):
      specs.map_feed_dict({'x': scalar}, {'x': np.zeros(2, np.float32)},
                          ignore_batch=True)


def test_map_feed_dict_refuses_to_feed_a_placeholder_twice(spec):
  with tf.Graph().as_default():
    placeholders = specs.make_placeholders(spec)
    inputs = specs.make_constant_numpy(spec, 1, batch_size=2)
    feed_dict = specs.map_feed_dict(placeholders, inputs)
    with pytest.raises(ValueError, match="already feeds the placeholder "
                       "'train_s:0' at path 'train/state'"):
      specs.map_feed_dict(placeholders, inputs, feed_dict)


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


@pytest.mark.parametrize('batch_size, shape', [
    (None, [None, 8, 128]), (4, [4, 8, 128]), (np.int64(4), [4, 8, 128])])
@pytest.mark.parametrize('make', [
    specs.make_input_signature, specs.make_batched_spec_structure])
def test_signature_batch_size_none_is_an_unknown_batch_dimension(
    spec, make, batch_size, shape):
  assert make(spec, batch_size=batch_size).train.state.shape.as_list() == shape


def test_batched_spec_structure_keeps_the_spec_fields():
  spec = {'items': ExtendedTensorSpec((3,), tf.int64, name='i',
                                      is_optional=True, dataset_key='d',
                                      varlen_default_value=0)}
  batched = specs.make_batched_spec_structure(spec, batch_size=2)['items']
  assert (batched.name, batched.is_optional, batched.dataset_key) == (
      'i', True, 'd')
  assert batched.varlen_default_value is None


def test_batched_specs_are_marked_as_taken_from_tensors(spec):
  batched = specs.make_batched_spec_structure(spec)
  assert all(s.is_extracted for s in batched.values())


@pytest.mark.parametrize('batch_size, error', [
    (0, ValueError), (-1, ValueError), (-4, ValueError), (True, SpecTypeError),
    (2.0, SpecTypeError)])
@pytest.mark.parametrize('make', [
    specs.make_input_signature, specs.make_batched_spec_structure])
def test_signatures_reject_batch_sizes_without_a_t2r_meaning(
    spec, make, batch_size, error):
  with pytest.raises(error, match=f'{make.__name__} got batch_size='):
    make(spec, batch_size=batch_size)


@pytest.mark.parametrize('batch_size, error', [
    (0, ValueError), (-1, ValueError), (False, SpecTypeError),
    (1.5, SpecTypeError)])
def test_make_placeholders_rejects_batch_sizes_without_a_t2r_meaning(
    spec, batch_size, error):
  with tf.Graph().as_default():
    with pytest.raises(error, match='make_placeholders got batch_size='):
      specs.make_placeholders(spec, batch_size=batch_size)
