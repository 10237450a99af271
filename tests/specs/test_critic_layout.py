"""The critic layout: finding the action, default bounds, state rows."""

import numpy as np
import pytest
import tensorflow as tf

from t2r import specs


def _spec(shape, name, **kwargs):
  return specs.ExtendedTensorSpec(shape, tf.float32, name=name, **kwargs)


def _critic_spec(actions=None):
  """'state/target' (2,) and the given {action path: spec}."""
  spec = specs.TensorSpecStruct()
  spec['state/target'] = _spec((2,), 'target')
  spec.update(actions or {})
  return spec


@pytest.mark.parametrize('path,expected', [
    ('action', True),
    ('action/move', True),
    ('action/arm/move', True),
    ('actions', False),
    ('state/action', False),
])
def test_action_paths_are_action_and_its_subtree(path, expected):
  assert specs.is_action_path(path) is expected


@pytest.mark.parametrize('spec,expected', [
    (_critic_spec({'action': _spec((2,), 'a')}), 'action'),
    (_critic_spec({'action/move': _spec((2,), 'move')}), 'action/move'),
    (_critic_spec({'action/move': _spec((2,), 'move'),
                   'action/gripper': _spec((1,), 'g', is_optional=True)}),
     'action/move'),
], ids=['top_level', 'nested', 'optional_ignored'])
def test_the_one_required_action_feature_is_found(spec, expected):
  assert specs.find_action_path(spec) == expected


def test_a_nested_spec_structure_is_accepted():
  nested = {'state': {'target': _spec((2,), 't')},
            'action': {'move': _spec((2,), 'm')}}
  assert specs.find_action_path(nested) == 'action/move'


def test_action_path_names_any_required_feature():
  spec = _critic_spec({'action/move': _spec((2,), 'm'),
                       'action/gripper': _spec((1,), 'g')})
  assert specs.find_action_path(spec, 'action/gripper') == 'action/gripper'


@pytest.mark.parametrize('spec,action_path,message', [
    (_critic_spec({'action/move': _spec((2,), 'm'),
                   'action/gripper': _spec((1,), 'g')}), None,
     r"Policy found 2 action features \['action/move', 'action/gripper'\] "
     r"among the critic features \['state/target', 'action/move', "
     r"'action/gripper'\] but optimizes exactly one.*"
     r"action_path='action/move'"),
    (_critic_spec(), None,
     r"Policy found no action feature among the critic features "
     r"\['state/target'\]: expected a feature 'action' or one "
     r"'action/...'.*action_path="),
    (_critic_spec({'action': _spec((2,), 'a')}), 'action/move',
     r"Policy got action_path='action/move' but the critic has no required "
     r"feature 'action/move'; its features are \['state/target', 'action'\]"),
], ids=['two_actions', 'no_action', 'unknown_action_path'])
def test_an_ambiguous_or_missing_action_fails_clearly(spec, action_path,
                                                      message):
  with pytest.raises(ValueError, match=message):
    specs.find_action_path(spec, action_path, who='MyPolicy')


def test_split_gives_the_state_and_the_action_spec():
  move = _spec((2,), 'move')
  spec = _critic_spec({'action/move': move})
  spec['state/extra'] = _spec((1,), 'extra', is_optional=True)
  layout = specs.split_state_action(spec)
  assert layout.state_spec.keys() == ['state/target']
  assert layout.action_path == 'action/move'
  assert layout.action_spec == move


def test_default_bounds_are_minus_one_to_one_in_every_dimension():
  low, high = specs.default_action_bounds(_spec((3,), 'move'))
  np.testing.assert_array_equal(low, [-1, -1, -1])
  np.testing.assert_array_equal(high, [1, 1, 1])
  assert low.dtype == high.dtype == np.float32


@pytest.mark.parametrize('shape,shown', [
    ((None,), r'\(None,\)'),
    ((2, 2), r'\(2, 2\)'),
    ((), r'\(\)'),
])
def test_default_bounds_need_a_vector_of_known_size(shape, shown):
  with pytest.raises(ValueError,
                     match=rf"CEMPolicy cannot default its action bounds.*"
                     rf"'action/move' has shape {shown}.*Pass action_low and "
                     'action_high'):
    specs.default_action_bounds(_spec(shape, 'move'), 'action/move')


@pytest.mark.parametrize('shape,size', [((2,), 2), ((None,), 5)])
def test_bounds_fit_a_vector_of_their_size(shape, size):
  specs.check_action_size(_spec(shape, 'move'), size)


@pytest.mark.parametrize('shape', [(3,), (2, 1)])
def test_bounds_of_another_size_fail_clearly(shape):
  with pytest.raises(ValueError,
                     match=r"'action/move' has shape .* but the CEMPolicy "
                     'action bounds have 2 entries'):
    specs.check_action_size(_spec(shape, 'move'), 2, 'action/move')


@pytest.mark.parametrize('value', [np.zeros(2), np.zeros((1, 2))])
def test_one_state_gets_a_batch_axis_of_one(value):
  state_spec = specs.TensorSpecStruct({'state/target': _spec((2,), 't')})
  batched = specs.as_state_batch({'state/target': value}, state_spec)
  assert batched['state/target'].shape == (1, 2)


def test_a_batch_of_states_is_rejected():
  state_spec = specs.TensorSpecStruct({'state/target': _spec((2,), 't')})
  with pytest.raises(ValueError,
                     match=r"'state/target' has shape \(3, 2\); expected the "
                     r'spec shape \(2,\) or a batch of one'):
    specs.as_state_batch({'state/target': np.zeros((3, 2))}, state_spec)


@pytest.mark.parametrize('to_value', [np.asarray, tf.constant],
                         ids=['numpy', 'tensor'])
def test_tiling_pairs_row_i_times_n_plus_j_with_state_i(to_value):
  state = {'state/target': to_value(np.array([[1.0, 2.0], [3.0, 4.0]]))}
  tiled = specs.tile_state(state, 3)['state/target']
  assert isinstance(tiled, np.ndarray) == isinstance(
      state['state/target'], np.ndarray)
  np.testing.assert_array_equal(np.asarray(tiled)[:, 0], [1, 1, 1, 3, 3, 3])


def test_tiling_works_in_a_graph_with_unknown_rows():
  repeat = tf.function(lambda x: specs.repeat_rows(x, 2),
                       input_signature=[tf.TensorSpec([None], tf.int32)])
  np.testing.assert_array_equal(repeat(tf.constant([5, 6])), [5, 5, 6, 6])


@pytest.mark.parametrize('action_batch_size,expected', [(None, 8), (8, 1)])
def test_the_caller_repeats_the_state_unless_the_critic_does(
    action_batch_size, expected):
  assert specs.caller_state_repeats(action_batch_size, 8) == expected


def test_a_critic_repeating_another_number_of_times_fails_clearly():
  with pytest.raises(ValueError,
                     match='action_batch_size=4 times but MyExport scores 8'):
    specs.caller_state_repeats(4, 8, who='MyExport')


# -- The TD transition layout -------------------------------------------------


@pytest.mark.parametrize('path,expected', [
    ('next_state', True),
    ('next_state/pose', True),
    ('state/pose', False),
    ('next_states/pose', False),
])
def test_next_state_paths_are_next_state_and_its_subtree(path, expected):
  assert specs.is_next_state_path(path) is expected


def test_next_state_path_mirrors_the_state_path():
  assert specs.next_state_path('state/arm/pose') == 'next_state/arm/pose'
  assert specs.next_state_path('state') == 'next_state'


def test_a_feature_outside_the_state_has_no_next_state_path():
  with pytest.raises(ValueError, match=r"'action/move' is not under 'state'"):
    specs.next_state_path('action/move')


def test_next_state_specs_copy_the_state_specs_under_next_names():
  state = specs.TensorSpecStruct()
  state['pose'] = _spec((3,), 'pose')
  state['image'] = specs.ExtendedTensorSpec(
      (8, 8, 3), tf.uint8, name='state/image', data_format='jpeg',
      is_optional=True)
  state['unnamed'] = specs.ExtendedTensorSpec((1,), tf.int64)
  next_state = specs.next_state_specification(state)
  assert list(next_state.keys()) == ['pose', 'image', 'unnamed']
  assert [spec.name for spec in next_state.values()] == [
      'next_pose', 'next_state/image', 'next_unnamed']
  image = next_state['image']
  assert (image.shape, image.dtype, image.data_format, image.is_optional) == (
      (8, 8, 3), tf.uint8, 'jpeg', True)


def test_transition_labels_are_float32_scalar_reward_and_done():
  labels = specs.transition_label_specification()
  assert [(path, spec.shape, spec.dtype, spec.name)
          for path, spec in labels.items()] == [
              ('reward', (), tf.float32, 'reward'),
              ('done', (), tf.float32, 'done')]


def test_next_state_features_are_renamed_as_state_features():
  features = {'state/pose': 1, 'action': 2, 'next_state/pose': 3,
              'next_state/arm/angle': 4}
  assert specs.next_state_as_state(features) == {'state/pose': 3,
                                                 'state/arm/angle': 4}
