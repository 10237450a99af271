"""Checking numpy features against specs and keying them for a function."""

import numpy as np
import pytest
import tensorflow as tf

from t2r import specs
from t2r.predictors.feature_feeder import FeatureFeeder

Spec = specs.ExtendedTensorSpec


@pytest.fixture
def feeder():
  return FeatureFeeder(specs.TensorSpecStruct({
      'state/pose': Spec((3,), tf.float32, name='robot/pose'),
      'action': Spec((2,), tf.int64, name='a'),
  }))


def _features(pose_batch=(2,), action_batch=(2,)):
  return {
      'state/pose': np.zeros(pose_batch + (3,), np.float32),
      'action': np.zeros(action_batch + (2,), np.int64),
  }


def test_paths_are_the_spec_paths_in_order(feeder):
  assert feeder.paths == ['state/pose', 'action']


def test_a_batch_is_passed_on_as_it_is(feeder):
  features = _features()
  inputs = feeder(features)
  assert inputs['state/pose'] is features['state/pose']


def test_one_example_gets_a_batch_dimension(feeder):
  inputs = feeder(_features(pose_batch=(), action_batch=()))
  assert inputs['state/pose'].shape == (1, 3)
  assert inputs['action'].shape == (1, 2)


def test_the_batch_dimension_is_added_per_feature(feeder):
  # A CEM policy passes one state and a batch of candidate actions.
  inputs = feeder(_features(pose_batch=(), action_batch=(5,)))
  assert inputs['state/pose'].shape == (1, 3)
  assert inputs['action'].shape == (5, 2)


def test_input_keys_name_the_arguments():
  feeder = FeatureFeeder({'state': Spec((1,), tf.float32)},
                         input_keys={'state': 'state_input'})
  assert list(feeder({'state': np.zeros(1, np.float32)})) == ['state_input']


def test_paths_without_an_input_key_keep_their_path(feeder):
  assert list(feeder(_features())) == ['state/pose', 'action']


def test_features_the_specs_do_not_declare_are_ignored(feeder):
  features = dict(_features(), extra=np.zeros(4))
  assert 'extra' not in feeder(features)


@pytest.mark.parametrize('wrap', [
    lambda flat: {'state': {'pose': flat['state/pose']},
                  'action': flat['action']},
    specs.TensorSpecStruct,
])
def test_nested_features_are_flattened_by_path(feeder, wrap):
  flat = _features()
  inputs = feeder(wrap(flat))
  np.testing.assert_array_equal(inputs['state/pose'], flat['state/pose'])


def test_lists_of_the_right_dtype_are_accepted():
  feeder = FeatureFeeder({'ids': Spec((2,), tf.int64)})
  np.testing.assert_array_equal(feeder({'ids': [3, 4]})['ids'], [[3, 4]])


@pytest.mark.parametrize('value, shape', [
    (np.zeros((4, 3), np.float32), (1, 4, 3)),  # One example of 4 steps.
    (np.zeros((2, 5, 3), np.float32), (2, 5, 3)),  # A batch of 5 steps.
])
def test_sequence_features_take_any_number_of_steps(value, shape):
  feeder = FeatureFeeder({'obs': Spec((3,), tf.float32, is_sequence=True)})
  assert feeder({'obs': value})['obs'].shape == shape


@pytest.mark.parametrize('value', [
    [b'a', b'b'], ['a', 'b'], np.array([b'a', b'b'], dtype=object)])
def test_string_features_take_bytes_str_or_objects(value):
  feeder = FeatureFeeder({'text': Spec((), tf.string)})
  assert feeder({'text': value})['text'].shape == (2,)


def test_a_missing_feature_names_its_path_name_and_expected_array(feeder):
  features = _features()
  del features['state/pose']
  with pytest.raises(
      ValueError,
      match=r"Feature 'state/pose' \(name 'robot/pose'\) is missing: predict "
      r"got \['action'\].*Pass an array of shape \(3,\) \(float32\)"):
    feeder(features)


@pytest.mark.parametrize('path, value, message', [
    ('state/pose', np.zeros((2, 3), np.float64),
     r"'state/pose'.*float64.*cast it to float32"),
    ('state/pose', np.zeros((2, 4), np.float32),
     r"'state/pose'.*expects \(None, 3\) float32.*\(2, 4\)"),
    ('action', np.zeros((2, 1, 2), np.int64), r"'action'.*\(2, 1, 2\)"),
])
def test_a_mismatching_feature_fails_with_the_spec_and_the_value(
    feeder, path, value, message):
  features = _features()
  features[path] = value
  with pytest.raises(ValueError, match=message):
    feeder(features)


def test_features_must_be_a_dict(feeder):
  with pytest.raises(TypeError, match=r"dict of numpy arrays keyed by "
                     r"feature path \['state/pose', 'action'\], got ndarray"):
    feeder(np.zeros((1, 3)))


def test_critic_actions_may_hold_a_multiple_of_the_state_batch():
  feeder = FeatureFeeder({
      'state/target': Spec((2,), tf.float32, name='t'),
      'action/move': Spec((3,), tf.float32, name='m'),
  })
  inputs = feeder({'state/target': np.zeros((2, 2), np.float32),
                   'action/move': np.zeros((8, 3), np.float32)})
  assert (inputs['state/target'].shape[0], inputs['action/move'].shape[0]) == (
      2, 8)


def test_critic_actions_that_are_no_multiple_of_the_state_batch_are_an_error():
  feeder = FeatureFeeder({
      'state/target': Spec((2,), tf.float32, name='t'),
      'action/move': Spec((3,), tf.float32, name='m'),
  })
  with pytest.raises(ValueError, match=(
      r"different batch sizes: 'action/move' \(name 'm'\): 3, "
      r"'state/target' \(name 't'\): 2")):
    feeder({'state/target': np.zeros((2, 2), np.float32),
            'action/move': np.zeros((3, 3), np.float32)})


def test_bytes_keep_their_trailing_nul_bytes():
  # A serialized tf.train.Example may end with b'\x00' (an int64 0), which
  # numpy's fixed-size bytes dtype would drop.
  feeder = FeatureFeeder({'records': Spec((), tf.string, name='records')})
  inputs = feeder({'records': [b'\x0a\x00', b'abc']})
  assert list(inputs['records']) == [b'\x0a\x00', b'abc']
