"""Mixture density network head: loss, sampling and mode on known mixtures."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from t2r import layers
from t2r.layers import GaussianMixture


def _known_mixture():
  """Two examples, K = 3 components over D = 2 dimensions."""
  logits = np.array([[0.0, np.log(3.0), -1.0],
                     [2.0, 0.0, 0.5]], np.float32)
  means = np.array([[[-2.0, 0.0], [3.0, 1.0], [0.0, -4.0]],
                    [[1.0, 1.0], [-1.0, 2.0], [5.0, 5.0]]], np.float32)
  scales = np.array([[[0.5, 1.0], [1.0, 0.3], [2.0, 2.0]],
                     [[0.2, 0.2], [1.5, 0.7], [1.0, 3.0]]], np.float32)
  return logits, means, scales


def _weights(logits):
  exp = np.exp(logits - logits.max(axis=-1, keepdims=True))
  return exp / exp.sum(axis=-1, keepdims=True)


def _numpy_density(logits, means, scales, targets):
  """p(x) = sum_k w_k prod_d N(x_d; mu_kd, sigma_kd), in linear space."""
  x = targets[:, None, :].astype(np.float64)
  normal = (np.exp(-0.5 * ((x - means) / scales) ** 2) /
            (np.sqrt(2 * np.pi) * scales))
  return (_weights(logits.astype(np.float64)) * normal.prod(axis=-1)).sum(-1)


def test_head_shapes_and_positive_scales():
  head = layers.MDNHead(num_components=3, output_size=2)
  mixture = head(tf.random.stateless_normal((4, 16), seed=(0, 1)))
  assert isinstance(mixture, GaussianMixture)
  assert mixture.logits.shape == (4, 3)
  assert mixture.means.shape == (4, 3, 2)
  assert mixture.scales.shape == (4, 3, 2)
  assert np.all(mixture.scales.numpy() > 0)


def test_head_keeps_leading_batch_dimensions():
  mixture = layers.MDNHead(2, 5)(tf.zeros((3, 7, 4)))
  assert mixture.logits.shape == (3, 7, 2)
  assert mixture.means.shape == (3, 7, 2, 5)
  mode = layers.gaussian_mixture_approximate_mode(mixture)
  assert mode.shape == (3, 7, 5)
  assert layers.gaussian_mixture_nll(mixture, tf.zeros((3, 7, 5)),
                                     reduce_mean=False).shape == (3, 7)


def test_learned_scales_start_at_one_and_ignore_the_input():
  features = tf.random.stateless_normal((2, 8), seed=(2, 3))
  fixed = layers.MDNHead(2, 3, min_scale=0.0)(features).scales.numpy()
  np.testing.assert_allclose(fixed, np.ones((2, 2, 3)), rtol=1e-6)
  conditioned = layers.MDNHead(2, 3, condition_scales=True)(features).scales
  assert np.abs((conditioned[0] - conditioned[1]).numpy()).max() > 1e-3


def test_nll_equals_the_analytic_mixture_density():
  logits, means, scales = _known_mixture()
  targets = np.array([[2.5, 0.7], [0.9, 1.3]], np.float32)
  mixture = GaussianMixture(logits, means, scales)
  expected = -np.log(_numpy_density(logits, means, scales, targets))
  nll = layers.gaussian_mixture_nll(mixture, targets, reduce_mean=False)
  np.testing.assert_allclose(nll.numpy(), expected, rtol=1e-5)
  np.testing.assert_allclose(
      layers.gaussian_mixture_nll(mixture, targets).numpy(), expected.mean(),
      rtol=1e-5)
  np.testing.assert_allclose(
      layers.gaussian_mixture_log_prob(mixture, targets).numpy(), -expected,
      rtol=1e-5)


def test_one_component_is_the_gaussian_log_likelihood():
  mixture = GaussianMixture(tf.zeros((1, 1)), tf.constant([[[1.0]]]),
                            tf.constant([[[2.0]]]))
  nll = layers.gaussian_mixture_nll(mixture, tf.constant([[4.0]]))
  np.testing.assert_allclose(
      nll.numpy(), 0.5 * np.log(2 * np.pi) + np.log(2.0) + 0.5 * 1.5**2,
      rtol=1e-6)


def test_samples_have_the_mixture_mean_variance_and_weights():
  logits, means, scales = _known_mixture()
  count = 20000
  samples = layers.gaussian_mixture_sample(
      GaussianMixture(logits, means, scales), seed=[3, 4],
      num_samples=count).numpy()
  assert samples.shape == (count, 2, 2)
  weights = _weights(logits)[..., None]
  mean = (weights * means).sum(axis=1)
  variance = (weights * (scales**2 + means**2)).sum(axis=1) - mean**2
  standard_error = np.sqrt(variance / count)
  np.testing.assert_array_less(np.abs(samples.mean(axis=0) - mean),
                               5 * standard_error)
  np.testing.assert_allclose(samples.var(axis=0), variance, rtol=0.06)
  # Example 1's first component (mean (1, 1), scale 0.2) is well separated:
  # its share of the samples is its weight.
  near_first = np.all(np.abs(samples[:, 1] - 1.0) < 0.8, axis=-1)
  np.testing.assert_allclose(near_first.mean(), _weights(logits)[1, 0],
                             atol=0.02)


def test_sampling_repeats_with_a_seed():
  mixture = GaussianMixture(*_known_mixture())
  first = layers.gaussian_mixture_sample(mixture, seed=5).numpy()
  assert first.shape == (2, 2)
  np.testing.assert_array_equal(
      first, layers.gaussian_mixture_sample(mixture, seed=5).numpy())
  np.testing.assert_array_equal(
      first, layers.gaussian_mixture_sample(mixture, seed=[5, 0]).numpy())
  assert not np.allclose(
      first, layers.gaussian_mixture_sample(mixture, seed=6).numpy())
  assert not np.allclose(layers.gaussian_mixture_sample(mixture, None),
                         layers.gaussian_mixture_sample(mixture, None))


def test_sampling_with_a_tensor_seed_in_a_tf_function():
  mixture = GaussianMixture(*_known_mixture())
  sample = tf.function(
      lambda seed: layers.gaussian_mixture_sample(mixture, seed,
                                                  num_samples=3),
      input_signature=[tf.TensorSpec([2], tf.int64)])
  np.testing.assert_array_equal(
      sample(tf.constant([1, 2], tf.int64)),
      layers.gaussian_mixture_sample(mixture, [1, 2], num_samples=3))


def test_mode_is_the_mean_of_the_heaviest_component():
  logits, means, scales = _known_mixture()
  mode = layers.gaussian_mixture_approximate_mode(
      GaussianMixture(logits, means, scales)).numpy()
  # Example 0: weights 1 : 3 : e^-1, component 1; example 1: component 0.
  np.testing.assert_array_equal(mode, [means[0, 1], means[1, 0]])


def test_tiny_scales_stay_finite():
  head = layers.MDNHead(2, 3)
  features = tf.random.stateless_normal((4, 5), seed=(6, 7))
  head(features)
  head.raw_scales.assign(tf.fill((2, 3), -100.0))  # softplus -> 0.
  targets = tf.random.stateless_normal((4, 3), seed=(8, 9))
  with tf.GradientTape() as tape:
    mixture = head(features)
    loss = layers.gaussian_mixture_nll(mixture, targets)
  np.testing.assert_allclose(mixture.scales.numpy(), 1e-4, rtol=1e-6)
  gradients = tape.gradient(loss, head.trainable_variables)
  assert np.isfinite(loss.numpy())
  for gradient in gradients:
    assert np.all(np.isfinite(gradient.numpy()))
  assert np.all(np.isfinite(
      layers.gaussian_mixture_sample(mixture, seed=1).numpy()))


def test_tiny_given_scales_on_and_off_target_have_no_nan():
  means = tf.Variable([[[0.0, 0.0], [10.0, -10.0]]])
  scales = tf.constant([[[1e-6, 1e-6], [1e-6, 1e-6]]])
  for target, positive in (([[0.0, 0.0]], True), ([[3.0, 3.0]], False)):
    with tf.GradientTape() as tape:
      log_prob = layers.gaussian_mixture_log_prob(
          GaussianMixture(tf.constant([[0.0, -50.0]]), means, scales),
          tf.constant(target))
    assert np.isfinite(log_prob.numpy()).all()
    assert (log_prob.numpy() > 0).all() == positive  # A sharp peak: p > 1.
    assert np.isfinite(tape.gradient(log_prob, means).numpy()).all()


def test_learns_a_bimodal_target():
  tf_keras.utils.set_random_seed(0)
  # The same input; the target is -1 or +1 with equal probability.
  features = tf.ones((64, 1))
  targets = tf.constant([[-1.0], [1.0]] * 32)
  head = layers.MDNHead(2, 1, condition_scales=True)
  optimizer = tf_keras.optimizers.Adam(0.1)
  for _ in range(40):
    with tf.GradientTape() as tape:
      loss = layers.gaussian_mixture_nll(head(features), targets)
    gradients = tape.gradient(loss, head.trainable_variables)
    optimizer.apply_gradients(zip(gradients, head.trainable_variables))
  # One Gaussian can at best reach 0.5 * log(2 pi e) = 1.42.
  assert float(loss) < 0.5
  means = np.sort(head(features[:1]).means.numpy().ravel())
  np.testing.assert_allclose(means, [-1.0, 1.0], atol=0.1)


@pytest.mark.parametrize('kwargs, message', [
    (dict(num_components=0, output_size=2), 'num_components must be a '
     'positive int, got 0'),
    (dict(num_components=2, output_size=-1), 'output_size must be a positive '
     'int, got -1'),
    (dict(num_components=2, output_size=2.0), 'output_size'),
    (dict(num_components=2, output_size=2, min_scale=-1.0), 'min_scale'),
])
def test_head_rejects_bad_arguments(kwargs, message):
  with pytest.raises(ValueError, match=message):
    layers.MDNHead(**kwargs)


def test_mismatched_shapes_are_named():
  logits, means, scales = _known_mixture()
  mixture = GaussianMixture(logits, means, scales)
  with pytest.raises(ValueError, match=r'targets must be \(\.\.\., D\) = '
                     r'\(2, 2\).*got \(2, 3\)'):
    layers.gaussian_mixture_nll(mixture, tf.zeros((2, 3)))
  with pytest.raises(ValueError, match=r'logits must be \(\.\.\., K\)'):
    layers.gaussian_mixture_approximate_mode(
        GaussianMixture(logits[:, :2], means, scales))
  with pytest.raises(ValueError, match='scales .* and means'):
    layers.gaussian_mixture_sample(
        GaussianMixture(logits, means, scales[..., :1]), seed=0)
  with pytest.raises(ValueError, match='num_samples must be None or a '
                     'positive int, got 0'):
    layers.gaussian_mixture_sample(mixture, seed=0, num_samples=0)
  with pytest.raises(ValueError, match=r'seed must be .*shape \[2\]'):
    layers.gaussian_mixture_sample(mixture, seed=[1, 2, 3])


def test_config_round_trip():
  head = layers.MDNHead(4, 2, condition_scales=True, min_scale=1e-3)
  assert layers.MDNHead.from_config(
      head.get_config()).get_config() == head.get_config()
