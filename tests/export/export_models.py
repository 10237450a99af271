"""Tiny models with one and with two record streams (dataset keys)."""

import tensorflow as tf
import tf_keras

from t2r import models
from t2r import specs


class TinyModel(models.RegressionModel):
  """Dense over a pose and a PNG image, optionally from two record streams."""

  def __init__(self, two_streams=False, **kwargs):
    super().__init__(**kwargs)
    self._two_streams = two_streams
    self.dense = tf_keras.layers.Dense(2)

  def get_feature_specification(self, mode):
    camera = 'camera' if self._two_streams else ''
    spec = specs.TensorSpecStruct()
    spec['state/pose'] = specs.ExtendedTensorSpec((3,), tf.float32,
                                                  name='robot/pose')
    spec['state/image'] = specs.ExtendedTensorSpec(
        (4, 4, 3), tf.uint8, name='image', data_format='png',
        dataset_key=camera)
    spec['state/extra'] = specs.ExtendedTensorSpec(
        (1,), tf.float32, name='extra', is_optional=True)
    return spec

  def get_label_specification(self, mode):
    return specs.TensorSpecStruct(
        action=specs.ExtendedTensorSpec((2,), tf.float32, name='action'))

  def a_func(self, features, mode, config=None, params=None):
    image = tf.reshape(tf.cast(features.state.image, tf.float32), [-1, 48])
    return {
        'inference_output':
            self.dense(tf.concat([features.state.pose, image / 255.0], -1)),
        'stats/mean_pose': tf.reduce_mean(features.state.pose, axis=-1),
    }


def make_model(two_streams=False, seed=0):
  tf_keras.utils.set_random_seed(seed)
  model = TinyModel(two_streams=two_streams)
  model.compile()
  model.build_from_specs()
  return model
