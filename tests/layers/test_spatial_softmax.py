"""SpatialSoftmax turns feature maps into expected keypoint coordinates."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from t2r.layers import SpatialSoftmax


@pytest.mark.parametrize('row, col, expected_x, expected_y', [
    (0, 0, -1.0, -1.0), (4, 4, 1.0, 1.0), (0, 4, 1.0, -1.0), (2, 2, 0.0, 0.0)])
def test_a_peak_gives_its_position(row, col, expected_x, expected_y):
  features = np.zeros((1, 5, 5, 1), np.float32)
  features[0, row, col, 0] = 100.0
  keypoints = SpatialSoftmax()(features).numpy()
  np.testing.assert_allclose(keypoints[0], [expected_x, expected_y], atol=1e-4)


def test_uniform_features_give_the_center():
  keypoints = SpatialSoftmax()(tf.zeros((3, 4, 6, 2))).numpy()
  np.testing.assert_allclose(keypoints, np.zeros((3, 4)), atol=1e-6)


def test_output_shape_and_unknown_batch():
  layer = SpatialSoftmax()
  function = tf.function(layer, input_signature=[
      tf.TensorSpec((None, 8, 8, 3), tf.float32)])
  assert function(tf.zeros((5, 8, 8, 3))).shape == (5, 6)


def test_temperature_is_trainable_by_default():
  layer = SpatialSoftmax(initial_temperature=2.0)
  layer.build((None, 4, 4, 1))
  assert layer.trainable_weights == [layer.temperature]
  frozen = SpatialSoftmax(trainable_temperature=False)
  frozen.build((None, 4, 4, 1))
  assert not frozen.trainable_weights


def test_learns_to_locate_a_bright_spot():
  rng = np.random.default_rng(0)
  positions = rng.integers(0, 8, size=(256, 2))
  images = np.zeros((256, 8, 8, 1), np.float32)
  images[np.arange(256), positions[:, 0], positions[:, 1], 0] = 1.0
  targets = (positions[:, ::-1] / 7.0 * 2 - 1).astype(np.float32)
  model = tf_keras.Sequential([
      tf_keras.Input((8, 8, 1)),
      tf_keras.layers.Conv2D(4, 1),
      SpatialSoftmax(initial_temperature=0.1),
      tf_keras.layers.Dense(2),
  ])
  model.compile(optimizer=tf_keras.optimizers.Adam(0.05), loss='mse')
  history = model.fit(images, targets, epochs=30, batch_size=64, verbose=0)
  assert history.history['loss'][-1] < 0.1 * history.history['loss'][0]


def test_rejects_unknown_spatial_dims():
  with pytest.raises(ValueError, match='known height'):
    SpatialSoftmax().build((None, None, 4, 1))


def test_config_round_trip():
  layer = SpatialSoftmax(initial_temperature=0.5, trainable_temperature=False)
  restored = SpatialSoftmax.from_config(layer.get_config())
  assert restored.get_config() == layer.get_config()
