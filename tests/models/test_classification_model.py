"""ClassificationModel: logits, cross entropy and accuracy."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from t2r import models
from t2r import specs

NUM_CLASSES = 3


def _classifier_cls(label_spec):

  class Classifier(models.ClassificationModel):

    def __init__(self, **kwargs):
      super().__init__(**kwargs)
      self.head = tf_keras.layers.Dense(NUM_CLASSES)

    def get_feature_specification(self, mode):
      return specs.TensorSpecStruct(
          state=specs.ExtendedTensorSpec((8,), tf.float32, name='s'))

    def get_label_specification(self, mode):
      return specs.TensorSpecStruct(label=label_spec)

    def a_func(self, features, mode, config=None, params=None):
      return {'logits': self.head(features.state)}

  return Classifier


def _data(label_format):
  """Separable classes: the class is the argmax of the first 3 features."""
  rng = np.random.default_rng(0)
  states = rng.normal(size=(240, 8)).astype(np.float32)
  classes = np.argmax(states[:, :NUM_CLASSES], axis=1)
  if label_format == 'ids':
    labels = classes.astype(np.int64)
    spec = specs.ExtendedTensorSpec((), tf.int64, name='y')
  elif label_format == 'ids_1':
    labels = classes.astype(np.int32)[:, None]
    spec = specs.ExtendedTensorSpec((1,), tf.int32, name='y')
  else:
    labels = np.eye(NUM_CLASSES, dtype=np.float32)[classes]
    spec = specs.ExtendedTensorSpec((NUM_CLASSES,), tf.float32, name='y')
  dataset = tf.data.Dataset.from_tensor_slices(
      (specs.TensorSpecStruct(state=states),
       specs.TensorSpecStruct(label=labels))).batch(24)
  return spec, dataset


@pytest.mark.parametrize('label_format', ['ids', 'ids_1', 'one_hot'])
def test_learns_a_separable_problem(label_format, fast_adam):
  spec, dataset = _data(label_format)
  model = _classifier_cls(spec)(create_optimizer_fn=fast_adam())
  model.compile()
  initial = model.evaluate(dataset, verbose=0, return_dict=True)
  model.fit(dataset, epochs=8, verbose=0)
  final = model.evaluate(dataset, verbose=0, return_dict=True)
  assert set(final) == {'loss', 'accuracy'}
  assert final['loss'] < initial['loss'] / 2
  assert final['accuracy'] > 0.9


def test_outputs_probabilities_and_class():
  spec, _ = _data('ids')
  model = _classifier_cls(spec)()
  outputs = model(
      specs.TensorSpecStruct(state=np.eye(8, dtype=np.float32)[:4]))
  assert set(outputs) == {'logits', 'probabilities', 'class'}
  np.testing.assert_allclose(np.sum(outputs['probabilities'], axis=1),
                             np.ones(4), rtol=1e-6)
  np.testing.assert_array_equal(outputs['class'],
                                np.argmax(outputs['logits'], axis=1))


def test_one_hot_labels_must_match_the_number_of_classes():
  _, dataset = _data('one_hot')
  wrong_spec = specs.ExtendedTensorSpec((NUM_CLASSES,), tf.float32, name='y')
  model = _classifier_cls(wrong_spec)()
  model.head = tf_keras.layers.Dense(NUM_CLASSES + 1)
  model.compile()
  with pytest.raises(ValueError, match=r'num_classes,\) = \(4,\)'):
    model.evaluate(dataset, verbose=0)
