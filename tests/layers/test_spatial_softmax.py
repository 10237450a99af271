"""SpatialSoftmax turns feature maps into expected keypoint coordinates."""

import gin
import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from t2r.layers import BuildSpatialSoftmax
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
  # Seeded: an unlucky initialization can stall the fit (seen once in CI).
  tf_keras.utils.set_random_seed(0)
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


# BuildSpatialSoftmax, Tensor2Robot's function.


def test_build_spatial_softmax_returns_keypoints_and_the_softmax():
  features = tf.random.stateless_normal((2, 4, 6, 3), seed=[0, 1])
  keypoints, softmax = BuildSpatialSoftmax(features)
  assert keypoints.shape == (2, 6)
  assert softmax.shape == (2, 4, 6, 3)
  np.testing.assert_allclose(tf.reduce_sum(softmax, axis=[1, 2]),
                             np.ones((2, 3)), rtol=1e-5)


def test_keypoints_are_x_then_y_per_channel():
  features = np.zeros((1, 5, 5, 2), np.float32)
  features[0, 0, 4, 0] = 100.0  # Channel 0: top right.
  features[0, 4, 0, 1] = 100.0  # Channel 1: bottom left.
  keypoints, _ = BuildSpatialSoftmax(features)
  np.testing.assert_allclose(keypoints[0], [1.0, -1.0, -1.0, 1.0], atol=1e-4)


def test_the_softmax_map_follows_the_features():
  features = np.zeros((1, 3, 3, 1), np.float32)
  features[0, 1, 2, 0] = 100.0
  _, softmax = BuildSpatialSoftmax(features)
  assert np.unravel_index(np.argmax(softmax[0, ..., 0]), (3, 3)) == (1, 2)


def test_the_layer_gives_the_function_keypoints_at_its_temperature():
  features = tf.random.stateless_normal((2, 4, 4, 3), seed=[2, 3])
  layer = SpatialSoftmax(initial_temperature=0.5)
  np.testing.assert_allclose(
      layer(features), BuildSpatialSoftmax(features, temperature=0.5)[0],
      rtol=1e-6)


def test_a_lower_temperature_sharpens_the_softmax():
  features = tf.random.stateless_normal((1, 4, 4, 1), seed=[4, 5])
  _, warm = BuildSpatialSoftmax(features, temperature=1.0)
  _, cold = BuildSpatialSoftmax(features, temperature=0.1)
  assert float(tf.reduce_max(cold)) > float(tf.reduce_max(warm))


def test_gumbel_softmax_keeps_the_shapes_as_in_t2r():
  features = tf.random.stateless_normal((3, 4, 4, 2), seed=[6, 7])
  keypoints, softmax = BuildSpatialSoftmax(features)
  gumbel_keypoints, gumbel_softmax = BuildSpatialSoftmax(
      features, spatial_gumbel_softmax=True)
  assert gumbel_keypoints.shape == keypoints.shape
  assert gumbel_softmax.shape == softmax.shape
  np.testing.assert_allclose(tf.reduce_sum(gumbel_softmax, axis=[1, 2]),
                             np.ones((3, 2)), rtol=1e-5)


def test_gumbel_samples_repeat_with_a_seed_and_differ_without():
  features = tf.zeros((2, 4, 4, 2))

  def sample(seed):
    return BuildSpatialSoftmax(features, spatial_gumbel_softmax=True,
                               seed=seed)[0].numpy()

  np.testing.assert_array_equal(sample(1), sample(1))
  assert not np.allclose(sample(1), sample(2))
  assert not np.allclose(sample(None), sample(None))
  # Without noise, uniform features give the center.
  np.testing.assert_allclose(BuildSpatialSoftmax(features)[0], 0, atol=1e-6)


def test_build_spatial_softmax_needs_batched_feature_maps():
  with pytest.raises(ValueError, match=r'got \(4, 4, 1\)'):
    BuildSpatialSoftmax(tf.zeros((4, 4, 1)))


def test_gin_binds_the_function_but_not_the_layer():
  features = tf.zeros((1, 4, 4, 1))
  gin.clear_config()
  try:
    gin.bind_parameter('BuildSpatialSoftmax.spatial_gumbel_softmax', True)
    gin.bind_parameter('BuildSpatialSoftmax.seed', 3)
    sampled, _ = BuildSpatialSoftmax(features)
    layer_keypoints = SpatialSoftmax()(features)
  finally:
    gin.clear_config()
  assert not np.allclose(sampled, 0.0)
  np.testing.assert_allclose(layer_keypoints, 0.0, atol=1e-6)
