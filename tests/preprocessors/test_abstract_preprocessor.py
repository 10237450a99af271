"""AbstractPreprocessor: validates input and output of every batch."""

import numpy as np
import pytest
import tensorflow as tf

from preprocessors import AbstractPreprocessor
from preprocessors import NoOpPreprocessor
from t2r import specs
from t2r.errors import SpecTypeError
from t2r.modes import ModeKeys


class _DropsPose(NoOpPreprocessor):
  """A buggy preprocessor: loses a feature the model needs."""

  def _preprocess_fn(self, features, labels, mode):
    del features['state/pose']
    return features, labels


class _CastsImage(NoOpPreprocessor):
  """A buggy preprocessor: returns the image with the wrong dtype."""

  def _preprocess_fn(self, features, labels, mode):
    features['state/image'] = tf.cast(features['state/image'], tf.float64)
    return features, labels


class _LosesLabels(NoOpPreprocessor):

  def _preprocess_fn(self, features, labels, mode):
    return features, None


def _noop(model):
  return NoOpPreprocessor(model.get_feature_specification,
                          model.get_label_specification)


def test_is_abstract():
  with pytest.raises(TypeError):
    AbstractPreprocessor()  # pylint: disable=abstract-class-instantiated


def test_constructor_checks_every_mode_of_the_spec_fns(model):
  _noop(model)
  assert set(model.calls) >= set(ModeKeys.ALL)


@pytest.mark.parametrize('argument', ['model_feature_specification_fn',
                                      'model_label_specification_fn'])
def test_constructor_rejects_a_non_callable_spec_fn(model, argument):
  # SpecTypeError: a TypeError, and the ValueError T2R code catches.
  with pytest.raises(SpecTypeError,
                     match=f'{argument} must be a callable mode -> spec '
                     'structure, got TensorSpecStruct'):
    NoOpPreprocessor(**{argument: model.get_label_specification(
        ModeKeys.TRAIN)})


def test_constructor_rejects_specs_reusing_a_name():

  def clashing(mode):
    del mode
    return {'a': specs.ExtendedTensorSpec((2,), tf.float32, name='x'),
            'b': specs.ExtendedTensorSpec((3,), tf.float32, name='x')}

  with pytest.raises(ValueError, match="share the name 'x'"):
    NoOpPreprocessor(clashing)


def test_spec_fns_can_be_set_after_construction(model, batch):
  preprocessor = NoOpPreprocessor()
  preprocessor.model_feature_specification_fn = model.get_feature_specification
  preprocessor.model_label_specification_fn = model.get_label_specification
  features, _ = preprocessor.preprocess(*batch, ModeKeys.TRAIN)
  assert 'state/image' in features


def test_missing_spec_fn_is_a_clear_error():
  with pytest.raises(ValueError,
                     match='has no model_feature_specification_fn.*'
                     'model.get_feature_specification'):
    NoOpPreprocessor().get_in_feature_specification(ModeKeys.TRAIN)


def test_is_model_device_tpu_is_kept(model):
  preprocessor = NoOpPreprocessor(model.get_feature_specification,
                                  is_model_device_tpu=True)
  assert preprocessor.is_model_device_tpu


def test_unknown_mode_is_rejected(model, batch):
  with pytest.raises(ValueError, match="Unknown mode 'training'"):
    _noop(model).preprocess(*batch, 'training')


def test_missing_feature_names_path_and_spec_name(model, batch):
  features, labels = batch
  del features['state/pose']
  with pytest.raises(ValueError) as error:
    _noop(model).preprocess(features, labels, ModeKeys.TRAIN)
  message = str(error.value)
  assert "'state/pose' (name 'pose')" in message
  assert 'input features' in message
  assert 'get_in_feature_specification' in message


def test_missing_optional_feature_is_fine(model, batch):
  features, labels = batch
  del features['state/extra']
  out_features, _ = _noop(model).preprocess(features, labels, ModeKeys.TRAIN)
  assert 'state/extra' not in out_features


@pytest.mark.parametrize('bad_value, expected', [
    (np.zeros((2, 5), np.float32), r'expects \(None, 4\) float32 but got '
     r'\(2, 5\) float32'),
    (np.zeros((2, 4), np.int32), 'cast it to float32'),
    (np.zeros((4,), np.float32), 'lack the batch dimension'),
])
def test_wrong_shape_or_dtype_names_path_and_spec_name(model, batch,
                                                       bad_value, expected):
  features, labels = batch
  features['state/pose'] = bad_value
  with pytest.raises(ValueError, match=expected) as error:
    _noop(model).preprocess(features, labels, ModeKeys.EVAL)
  assert "'state/pose' (name 'pose')" in str(error.value)


def test_wrong_label_is_reported_as_input_labels(model, batch):
  features, labels = batch
  labels['action'] = np.zeros((2, 3), np.float32)
  with pytest.raises(ValueError,
                     match="input labels.*'action' \\(name 'action'\\)"):
    _noop(model).preprocess(features, labels, ModeKeys.TRAIN)


@pytest.mark.parametrize('buggy, expected', [
    (_DropsPose, "'state/pose' \\(name 'pose'\\) is missing"),
    (_CastsImage, "'state/image' \\(name 'image'\\).*cast it to float32"),
])
def test_bad_output_blames_the_preprocessor(model, batch, buggy, expected):
  preprocessor = buggy(model.get_feature_specification,
                       model.get_label_specification)
  with pytest.raises(ValueError, match=expected) as error:
    preprocessor.preprocess(*batch, ModeKeys.TRAIN)
  message = str(error.value)
  assert 'output features' in message
  assert f'bug in {buggy.__name__}._preprocess_fn' in message


def test_losing_the_labels_is_an_error(model, batch):
  preprocessor = _LosesLabels(model.get_feature_specification,
                              model.get_label_specification)
  with pytest.raises(ValueError, match='returned labels None'):
    preprocessor.preprocess(*batch, ModeKeys.TRAIN)


def test_labels_may_be_none(model, batch):
  features, _ = batch
  out_features, out_labels = _noop(model).preprocess(features, None,
                                                     ModeKeys.PREDICT)
  assert out_labels is None
  np.testing.assert_array_equal(out_features['state/pose'],
                                features['state/pose'])


def test_undeclared_features_are_dropped(model, batch):
  features, labels = batch
  features['debug/step'] = np.zeros((2,), np.int64)
  out_features, _ = _noop(model).preprocess(features, labels, ModeKeys.TRAIN)
  assert 'debug/step' not in out_features
  assert 'state/pose' in out_features


def test_works_in_a_dataset_map_with_unknown_batch_size(model, batch):
  preprocessor = _noop(model)
  dataset = tf.data.Dataset.from_tensor_slices(batch).batch(2)
  assert dataset.element_spec[0]['state/pose'].shape.as_list() == [None, 4]
  dataset = dataset.map(
      lambda f, l: preprocessor.preprocess(f, l, ModeKeys.TRAIN))
  features, labels = next(iter(dataset))
  np.testing.assert_allclose(features['state/pose'], batch[0]['state/pose'])
  np.testing.assert_allclose(labels['action'], batch[1]['action'])


def test_validation_runs_while_tracing_a_tf_function(model, batch):
  preprocessor = _DropsPose(model.get_feature_specification,
                            model.get_label_specification)
  traced = tf.function(
      lambda f, l: preprocessor.preprocess(f, l, ModeKeys.TRAIN))
  with pytest.raises(ValueError, match="'state/pose'"):
    traced(*batch)
