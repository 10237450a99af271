"""NoOpPreprocessor: in specs == out specs == the model's specs."""

import collections

import numpy as np
import pytest
import tensorflow as tf

from preprocessors import NoOpPreprocessor
from t2r import specs
from t2r.errors import SpecTypeError
from t2r.modes import ModeKeys


@pytest.mark.parametrize('mode', ModeKeys.ALL)
def test_specs_are_the_models(model, mode):
  preprocessor = NoOpPreprocessor(model.get_feature_specification,
                                  model.get_label_specification)
  for getter in (preprocessor.get_in_feature_specification,
                 preprocessor.get_out_feature_specification):
    specs.assert_equal(model.get_feature_specification(mode), getter(mode))
  for getter in (preprocessor.get_in_label_specification,
                 preprocessor.get_out_label_specification):
    specs.assert_equal(model.get_label_specification(mode), getter(mode))


_Required = collections.namedtuple('_Required', ['images', 'actions'])


@pytest.mark.parametrize('structure, leaf', [
    ({'test': 1}, "'test' is a int"),
    (_Required(images=np.zeros(10), actions='action'), "'images' is a ndarray"),
], ids=['int_in_a_dict', 'array_in_a_namedtuple'])
@pytest.mark.parametrize('argument', ['model_feature_specification_fn',
                                      'model_label_specification_fn'])
def test_spec_fns_returning_non_specs_are_rejected(model, argument, structure,
                                                   leaf):
  spec_fns = {'model_feature_specification_fn': model.get_feature_specification,
              'model_label_specification_fn': model.get_label_specification}
  spec_fns[argument] = lambda mode: structure
  # T2R raised ValueError here; SpecTypeError is also a TypeError.
  with pytest.raises(SpecTypeError, match=leaf):
    NoOpPreprocessor(**spec_fns)


def test_returns_the_batch_unchanged(model, batch):
  preprocessor = NoOpPreprocessor(model.get_feature_specification,
                                  model.get_label_specification)
  features, labels = preprocessor.preprocess(*batch, ModeKeys.TRAIN)
  for path, value in batch[0].items():
    np.testing.assert_array_equal(features[path], value)
  np.testing.assert_array_equal(labels['action'], batch[1]['action'])


def test_keeps_the_layout_of_a_namedtuple_spec():
  Sample = collections.namedtuple('Sample', ['state', 'action'])
  spec = Sample(
      state=specs.ExtendedTensorSpec((3,), tf.float32, name='state'),
      action=specs.ExtendedTensorSpec((1,), tf.int64, name='action'))
  preprocessor = NoOpPreprocessor(lambda mode: spec, lambda mode: {})
  values = Sample(state=tf.zeros((5, 3)), action=tf.ones((5, 1), tf.int64))
  features, labels = preprocessor.preprocess(values, None, ModeKeys.EVAL)
  assert isinstance(features, Sample)
  assert labels is None
  np.testing.assert_array_equal(features.action, values.action)


def test_sequence_features_carry_a_time_dimension():
  spec = {'joints': specs.ExtendedTensorSpec((2,), tf.float32, name='joints',
                                             is_sequence=True)}
  preprocessor = NoOpPreprocessor(lambda mode: spec)
  features, _ = preprocessor.preprocess({'joints': tf.zeros((4, 7, 2))}, None,
                                        ModeKeys.TRAIN)
  assert features['joints'].shape == (4, 7, 2)
  with pytest.raises(ValueError, match=r'expects \(None, None, 2\)'):
    preprocessor.preprocess({'joints': tf.zeros((4, 2))}, None,
                            ModeKeys.TRAIN)
