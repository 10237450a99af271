"""FiLM: per-feature scale and shift predicted from a conditioning vector."""

import numpy as np
import pytest
import tensorflow as tf

from t2r import layers


def test_zero_initialised_film_is_the_identity():
  features = tf.random.stateless_normal((3, 5), seed=(1, 2))
  out = layers.FiLM()(features, tf.ones((3, 4)))
  np.testing.assert_allclose(out.numpy(), features.numpy())


@pytest.mark.parametrize('shape', [(2, 8), (2, 4, 4, 8), (2, 3, 4, 4, 8)])
def test_output_keeps_the_feature_shape(shape):
  out = layers.FiLM(kernel_initializer='glorot_uniform')(
      tf.ones(shape), tf.ones((2, 3)))
  assert out.shape == shape


def test_modulation_is_scale_and_shift_of_the_dense_projection():
  film = layers.FiLM(kernel_initializer='glorot_uniform')
  features = tf.random.stateless_normal((2, 4, 4, 3), seed=(3, 4))
  conditioning = tf.random.stateless_normal((2, 5), seed=(5, 6))
  out = film(features, conditioning).numpy()
  gamma_beta = film.trainable_variables[0].numpy()
  projected = conditioning.numpy() @ gamma_beta + film.trainable_variables[
      1].numpy()
  gamma, beta = projected[:, :3], projected[:, 3:]
  expected = (features.numpy() * (1 + gamma[:, None, None]) +
              beta[:, None, None])
  np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


def test_conditioning_must_be_a_matrix():
  with pytest.raises(ValueError, match=r'conditioning must be \(batch, K\)'):
    layers.FiLM()(tf.ones((2, 8)), tf.ones((2, 3, 1)))


def test_gradient_reaches_the_features_through_the_conditioning():
  film = layers.FiLM(kernel_initializer='glorot_uniform')
  features = tf.Variable(tf.ones((1, 4)))
  with tf.GradientTape() as tape:
    out = tf.reduce_sum(film(features, tf.constant([[2.0, -1.0]])))
  gradient = tape.gradient(out, features).numpy()
  assert not np.allclose(gradient, 1.0)  # 1 + gamma(c), not the identity.
