"""TensorSpecStruct: flat storage, hierarchical views, TF interoperability.

The hierarchical examples are those of the original Tensor2Robot README.
"""

import collections
import copy

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from t2r.specs import ExtendedTensorSpec
from t2r.specs import SpecStructKeyError
from t2r.specs import TensorSpecStruct
from t2r.specs import copy_tensorspec


@pytest.fixture
def simple_spec():
  spec = TensorSpecStruct()
  spec['state'] = ExtendedTensorSpec(shape=(8, 128), dtype=tf.float32, name='s')
  spec['action'] = ExtendedTensorSpec(shape=(8), dtype=tf.float32, name='a')
  return spec


@pytest.fixture
def hierarchical_spec(simple_spec):
  spec = TensorSpecStruct()
  spec.train = copy_tensorspec(simple_spec, prefix='train')
  spec.val = copy_tensorspec(simple_spec, prefix='val')
  return spec


def test_readme_hierarchical_example(simple_spec, hierarchical_spec):
  assert hierarchical_spec.train.state == simple_spec.state
  assert hierarchical_spec.train.action == simple_spec.action
  assert hierarchical_spec.keys() == [
      'train/state', 'train/action', 'val/state', 'val/action'
  ]
  assert hierarchical_spec.train.keys() == ['state', 'action']
  assert hierarchical_spec.train.state.name == 'train/s'
  assert hierarchical_spec.val.keys() == ['state', 'action']
  assert hierarchical_spec.val.state.name == 'val/s'


def test_readme_manual_test_hierarchy(simple_spec, hierarchical_spec):
  for key, value in simple_spec.items():
    hierarchical_spec['test/' + key] = ExtendedTensorSpec.from_spec(
        value, name='something_random/' + value.name)
  assert hierarchical_spec.keys() == [
      'train/state', 'train/action', 'val/state', 'val/action', 'test/state',
      'test/action'
  ]
  for group in ('train', 'val', 'test'):
    assert hierarchical_spec[group].keys() == ['state', 'action']
  assert hierarchical_spec.test.state.name == 'something_random/s'


def test_readme_modify_with_from_spec(hierarchical_spec):
  hierarchical_spec.train.state = ExtendedTensorSpec.from_spec(
      hierarchical_spec.train.state, shape=(4, 128), is_optional=True)
  assert hierarchical_spec['train/state'].shape.as_list() == [4, 128]
  assert hierarchical_spec['train/state'].is_optional
  assert hierarchical_spec.keys()[0] == 'train/state'


def test_view_items_are_the_stored_objects(hierarchical_spec):
  assert hierarchical_spec.train.state is hierarchical_spec['train/state']


def test_view_writes_through_to_parent(hierarchical_spec):
  train = hierarchical_spec.train
  train.extra = ExtendedTensorSpec((1,), tf.int64, name='e')
  assert hierarchical_spec['train/extra'].name == 'e'


def test_parent_writes_show_in_live_view(hierarchical_spec):
  train = hierarchical_spec.train
  hierarchical_spec['train/extra'] = ExtendedTensorSpec((1,), tf.int64)
  del hierarchical_spec['train/action']
  assert train.keys() == ['state', 'extra']
  assert dict(train).keys() == {'state', 'extra'}


def test_delete_through_view_removes_from_parent(hierarchical_spec):
  del hierarchical_spec.val['action']
  assert 'val/action' not in hierarchical_spec.keys()
  del hierarchical_spec.train
  assert hierarchical_spec.keys() == ['val/state']


@pytest.mark.parametrize('make_value', [
    lambda s: {'state': s, 'nested': {'action': s}},
    lambda s: collections.namedtuple('Pair', ['state', 'nested'])(
        s, {'action': s}),
    lambda s: TensorSpecStruct({'state': s, 'nested/action': s}),
])
def test_assigning_a_structure_expands_into_paths(make_value):
  spec = TensorSpecStruct()
  spec.group = make_value(ExtendedTensorSpec((1,), tf.float32))
  assert spec.keys() == ['group/state', 'group/nested/action']


def test_assigning_a_structure_replaces_the_old_group():
  spec = TensorSpecStruct({'group/old': 1, 'other': 2})
  spec.group = {'new': 3}
  assert spec.keys() == ['other', 'group/new']


@pytest.mark.parametrize('empty', [{}, TensorSpecStruct(), {'a': {}}])
def test_assigning_an_empty_structure_raises(empty):
  spec = TensorSpecStruct()
  with pytest.raises(ValueError, match='empty'):
    spec.train = empty


def test_missing_key_is_both_key_error_and_attribute_error(simple_spec):
  with pytest.raises(KeyError):
    simple_spec['missing']
  with pytest.raises(AttributeError):
    simple_spec.missing
  with pytest.raises(SpecStructKeyError, match="'missing'.*state"):
    simple_spec.missing
  assert not hasattr(simple_spec, 'missing')
  assert simple_spec.get('missing') is None


def test_leaf_and_group_paths_cannot_clash():
  spec = TensorSpecStruct({'a': 1, 'b/c': 2})
  with pytest.raises(ValueError, match="'a' already holds a leaf"):
    spec['a/x'] = 3
  with pytest.raises(ValueError, match='is a group'):
    spec['b'] = 4


@pytest.mark.parametrize('key', ['', '/a', 'a/', 'a//b'])
def test_invalid_paths_raise(key):
  with pytest.raises(ValueError, match='Invalid TensorSpecStruct path'):
    TensorSpecStruct()[key] = 1


def test_is_a_real_ordered_dict():
  spec = TensorSpecStruct([('b', 1), ('a', 2)])
  assert isinstance(spec, dict)
  assert list(spec) == ['b', 'a']
  assert dict(spec) == {'b': 1, 'a': 2}
  assert {**spec} == {'b': 1, 'a': 2}


def test_holds_numpy_arrays_and_reads_hierarchically():
  data = TensorSpecStruct({'train/state': np.ones(3)})
  np.testing.assert_array_equal(data.train.state, np.ones(3))


def test_copies_are_independent(hierarchical_spec):
  for duplicate in (hierarchical_spec.copy(), copy.copy(hierarchical_spec),
                    copy.deepcopy(hierarchical_spec)):
    del duplicate['train']
    assert 'train/state' in hierarchical_spec.keys()


def test_to_dict_nests_groups():
  spec = TensorSpecStruct({'a/b': 1, 'a/c': 2, 'd': 3})
  assert spec.to_dict() == {'a': {'b': 1, 'c': 2}, 'd': 3}


@pytest.fixture
def tensors():
  return TensorSpecStruct({
      'train/state': tf.constant([[1.0, 2.0]]),
      'train/action': tf.constant([[3]]),
  })


def test_tf_nest_round_trip_keeps_type(tensors):
  doubled = tf.nest.map_structure(lambda t: t * 2, tensors)
  assert isinstance(doubled, TensorSpecStruct)
  assert doubled.keys() == tensors.keys()
  np.testing.assert_array_equal(doubled.train.state, [[2.0, 4.0]])


def test_tf_nest_sees_a_view_correctly(tensors):
  view = tensors.train
  tensors['train/extra'] = tf.constant([0])
  assert len(tf.nest.flatten(view)) == 3


def test_passes_through_tf_function(tensors):
  @tf.function
  def add_one(features):
    assert isinstance(features, TensorSpecStruct)
    return tf.nest.map_structure(lambda t: t + 1, features)

  result = add_one(tensors)
  assert isinstance(result, TensorSpecStruct)
  np.testing.assert_array_equal(result.train.action, [[4]])


def test_passes_through_tf_data(tensors):
  dataset = tf.data.Dataset.from_tensor_slices(tensors).map(
      lambda features: tf.nest.map_structure(lambda t: t * 10, features))
  element = next(iter(dataset))
  assert isinstance(element, TensorSpecStruct)
  np.testing.assert_array_equal(element.train.state, [10.0, 20.0])


def test_passes_through_tf_keras_fit():
  features = TensorSpecStruct({'x/a': np.ones((8, 2), np.float32)})
  labels = np.ones((8, 1), np.float32)
  seen_types = []

  class Model(tf_keras.Model):

    def __init__(self):
      super().__init__()
      self.dense = tf_keras.layers.Dense(1)

    def call(self, inputs):
      seen_types.append(type(inputs))
      return self.dense(inputs.x.a)

  model = Model()
  model.compile(optimizer='sgd', loss='mse')
  dataset = tf.data.Dataset.from_tensor_slices((features, labels)).batch(4)
  model.fit(dataset, epochs=1, verbose=0)
  assert seen_types and all(t is TensorSpecStruct for t in seen_types)
