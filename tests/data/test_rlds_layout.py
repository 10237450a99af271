"""rlds_layout: the default keys both directions agree on, and the checks."""

import pytest
import tensorflow as tf

from t2r import specs
from t2r.data import rlds_layout

Spec = specs.ExtendedTensorSpec


def test_export_keys_are_found_again_by_the_default_matching():
  for spec, path in (
      (Spec((4, 4, 3), tf.uint8, name='image', is_sequence=True), 'image'),
      (Spec((7,), tf.float32, name='action', is_sequence=True), 'a/action'),
      (Spec((), tf.string, name='task'), 'features/task')):
    key = rlds_layout.default_export_key(path, spec)
    assert key in rlds_layout.default_candidates(path, spec)


def test_step_fields_stay_beside_the_observation():
  action = Spec((7,), tf.float32, name='action', is_sequence=True)
  state = Spec((7,), tf.float32, name='state', is_sequence=True)
  assert rlds_layout.default_export_key('action', action) == 'steps/action'
  assert (rlds_layout.default_export_key('state', state) ==
          'steps/observation/state')


def test_a_scalar_reads_as_shape_one_but_not_as_another_size():
  key_spec = tf.TensorSpec((), tf.float32)
  rlds_layout.check_key_spec("'reward'", Spec((1,), tf.float32), 'steps/r',
                             key_spec, 'the dataset')
  with pytest.raises(ValueError, match=r'expects \(2,\) float32'):
    rlds_layout.check_key_spec("'reward'", Spec((2,), tf.float32), 'steps/r',
                               key_spec, 'the dataset')


def test_bools_cast_to_numbers_but_floats_not_to_ints():
  flag = tf.TensorSpec((), tf.bool)
  rlds_layout.check_key_spec("'done'", Spec((), tf.float32), 'steps/d', flag,
                             'the dataset')
  with pytest.raises(ValueError, match='declare the spec as float32'):
    rlds_layout.check_key_spec("'x'", Spec((), tf.int64), 'steps/x',
                               tf.TensorSpec((), tf.float32), 'the dataset')


def test_an_ambiguous_default_match_asks_for_a_key_map():
  available = {'steps/state': tf.TensorSpec((2,), tf.float32),
               'steps/observation/state': tf.TensorSpec((2,), tf.float32)}
  flat = specs.TensorSpecStruct(state=Spec((2,), tf.float32, name='state'))
  with pytest.raises(ValueError, match='matches several keys'):
    rlds_layout.resolve_key_sources(flat, 'features', available, None, 1,
                                    'the dataset')
