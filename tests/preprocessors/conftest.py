"""A small model spec shared by the preprocessor tests."""

import pytest
import tensorflow as tf

from t2r import specs
from t2r.modes import ModeKeys

IMAGE_SHAPE = (6, 8, 3)


class TinyModelSpecs:
  """Stands in for a T2RModel's get_feature/label_specification methods."""

  def __init__(self, image_shape=IMAGE_SHAPE):
    self.image_shape = image_shape
    self.calls = []

  def get_feature_specification(self, mode):
    self.calls.append(mode)
    spec = specs.TensorSpecStruct()
    spec['state/image'] = specs.ExtendedTensorSpec(
        self.image_shape, tf.float32, name='image')
    spec['state/pose'] = specs.ExtendedTensorSpec((4,), tf.float32,
                                                  name='pose')
    spec['state/extra'] = specs.ExtendedTensorSpec(
        (2,), tf.float32, name='extra', is_optional=True)
    return spec

  def get_label_specification(self, mode):
    del mode
    spec = specs.TensorSpecStruct()
    spec['action'] = specs.ExtendedTensorSpec((2,), tf.float32, name='action')
    return spec


@pytest.fixture
def model():
  return TinyModelSpecs()


@pytest.fixture
def batch(model):
  """A batch of 2 features and labels matching the model's specs."""
  features = specs.make_random_numpy(
      model.get_feature_specification(ModeKeys.TRAIN), batch_size=2, seed=0)
  labels = specs.make_random_numpy(
      model.get_label_specification(ModeKeys.TRAIN), batch_size=2, seed=1)
  return features, labels
