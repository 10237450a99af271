"""Mixture density networks: a mixture of Gaussians over a D-dim output.

Bishop (1994); Tensor2Robot's `layers/mdn.py` (used by BC-Z as an action
head). A dense layer predicts, per example, the logits of K mixture
components and their means; the per-dimension scales are either learned
variables (T2R's default, initialised so that softplus gives 1) or predicted
from the input too. Scales are `softplus(raw) + min_scale` (T2R's min_sigma
1e-4), so they are always positive and the likelihood stays finite.

The functions work on a `GaussianMixture` from any source, with no
TensorFlow Probability dependency:
`gaussian_mixture_log_prob` / `gaussian_mixture_nll` (the loss),
`gaussian_mixture_sample` (stateless, seeded) and
`gaussian_mixture_approximate_mode` (the mean of the most likely
component, T2R's inference output).
"""

import math
import numbers
from typing import NamedTuple, Optional, Sequence, Union

import gin
import numpy as np
import tensorflow as tf
import tf_keras

Seed = Union[None, int, Sequence[int], tf.Tensor]


class GaussianMixture(NamedTuple):
  """A batch of mixtures of K diagonal Gaussians over D dimensions.

  Attributes:
    logits: (..., K) unnormalized log mixture weights.
    means: (..., K, D) component means.
    scales: (..., K, D) positive component standard deviations.
  """
  logits: tf.Tensor
  means: tf.Tensor
  scales: tf.Tensor


def _check_mixture(mixture: GaussianMixture, who: str) -> GaussianMixture:
  logits, means, scales = (tf.convert_to_tensor(t) for t in mixture)
  if means.shape.rank is None or means.shape.rank < 2:
    raise ValueError(f'{who}: means must be (..., K, D), got shape '
                     f'{means.shape}.')
  if not scales.shape.is_compatible_with(means.shape):
    raise ValueError(f'{who}: scales {scales.shape} and means {means.shape} '
                     'must have the same (..., K, D) shape.')
  if not logits.shape.is_compatible_with(means.shape[:-1]):
    raise ValueError(
        f'{who}: logits must be (..., K) = {means.shape[:-1]} for means of '
        f'shape {means.shape}, got {logits.shape}.')
  return GaussianMixture(logits, means, tf.cast(scales, means.dtype))


@gin.configurable
class MDNHead(tf_keras.layers.Layer):
  """Predicts a mixture of K diagonal Gaussians over a D-dim output.

  Example:
    >>> head = MDNHead(num_components=3, output_size=2)
    >>> mixture = head(tf.ones((4, 16)))
    >>> mixture.logits.shape, mixture.means.shape, mixture.scales.shape
    (TensorShape([4, 3]), TensorShape([4, 3, 2]), TensorShape([4, 3, 2]))
    >>> loss = gaussian_mixture_nll(mixture, tf.zeros((4, 2)))
    >>> action = gaussian_mixture_approximate_mode(mixture)  # (4, 2)

  Args:
    num_components: K, the number of Gaussians (1 is Gaussian regression
      with a learned variance).
    output_size: D, the dimension of the modelled output.
    condition_scales: Predict the scales from the input (True), or learn
      one scale per component and dimension independent of the input (False,
      T2R's default).
    min_scale: Added to softplus(raw scale): the smallest scale, which keeps
      the likelihood finite.
    **kwargs: Standard `tf_keras.layers.Layer` arguments.

  Call arguments:
    inputs: (..., F) features; any number of leading batch dimensions.

  Returns:
    A `GaussianMixture` of logits (..., K), means (..., K, D) and scales
    (..., K, D).

  Raises:
    ValueError: If `num_components` or `output_size` is not a positive int,
      `min_scale` is negative, or (when called) the features' last dimension
      is unknown.
  """

  def __init__(self,
               num_components: int,
               output_size: int,
               condition_scales: bool = False,
               min_scale: float = 1e-4,
               **kwargs):
    super().__init__(**kwargs)
    for argument, value in (('num_components', num_components),
                            ('output_size', output_size)):
      if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f'MDNHead {argument} must be a positive int, got '
                         f'{value!r}.')
    if not min_scale >= 0:
      raise ValueError(f'MDNHead min_scale must be >= 0, got {min_scale!r}.')
    self._num_components = num_components
    self._output_size = output_size
    self._condition_scales = bool(condition_scales)
    self._min_scale = float(min_scale)
    self.params: Optional[tf_keras.layers.Dense] = None
    self.raw_scales: Optional[tf.Variable] = None

  @property
  def num_components(self) -> int:
    return self._num_components

  @property
  def output_size(self) -> int:
    return self._output_size

  def build(self, input_shape):
    input_shape = tf.TensorShape(input_shape)
    if input_shape.rank is None or input_shape[-1] is None:
      raise ValueError('MDNHead needs features with a known last dimension, '
                       f'got shape {input_shape}.')
    k, d = self._num_components, self._output_size
    # softplus(log(e - 1)) = 1: unit scales at initialisation.
    unit = float(np.log(np.e - 1.0))
    if self._condition_scales:
      bias = np.concatenate([np.zeros(k + k * d), np.full(k * d, unit)])
      self.params = tf_keras.layers.Dense(
          k + 2 * k * d, name='mdn_params',
          bias_initializer=tf_keras.initializers.Constant(bias))
    else:
      self.params = tf_keras.layers.Dense(k + k * d, name='mdn_params')
      self.raw_scales = self.add_weight(
          name='mdn_raw_scales', shape=(k, d),
          initializer=tf_keras.initializers.Constant(unit))
    super().build(input_shape)

  def call(self, inputs: tf.Tensor) -> GaussianMixture:
    k, d = self._num_components, self._output_size
    params = self.params(inputs)
    batch_shape = tf.shape(params)[:-1]
    shape = tf.concat([batch_shape, [k, d]], axis=0)
    logits = params[..., :k]
    means = tf.reshape(params[..., k:k + k * d], shape)
    if self._condition_scales:
      raw = tf.reshape(params[..., k + k * d:], shape)
    else:
      raw = tf.broadcast_to(tf.cast(self.raw_scales, params.dtype), shape)
    scales = tf.nn.softplus(raw) + self._min_scale
    # Static shapes for the leading dimensions that are known.
    static = params.shape[:-1]
    means.set_shape(static.concatenate([k, d]))
    scales.set_shape(static.concatenate([k, d]))
    return GaussianMixture(logits, means, scales)

  def get_config(self):
    return dict(super().get_config(), num_components=self._num_components,
                output_size=self._output_size,
                condition_scales=self._condition_scales,
                min_scale=self._min_scale)


def gaussian_mixture_log_prob(mixture: GaussianMixture,
                              targets: tf.Tensor) -> tf.Tensor:
  """The log density of `targets` under each example's mixture.

  Computed in log space (log-softmax weights, log-sum-exp over components):
  finite for scales down to the float32 range of 1 / scale ** 2.

  Example:
    >>> mixture = GaussianMixture(tf.zeros((1, 2)), tf.zeros((1, 2, 1)),
    ...                           tf.ones((1, 2, 1)))
    >>> gaussian_mixture_log_prob(mixture, tf.zeros((1, 1)))  # log N(0; 0, 1)
    <tf.Tensor: shape=(1,), dtype=float32, numpy=array([-0.9189385], ...)>

  Args:
    mixture: A `GaussianMixture` with batch shape (...).
    targets: (..., D) values.

  Returns:
    (...) log densities.

  Raises:
    ValueError: If the mixture's parts or the targets have mismatched
      shapes.
  """
  logits, means, scales = _check_mixture(mixture, 'gaussian_mixture_log_prob')
  targets = tf.cast(tf.convert_to_tensor(targets), means.dtype)
  if not targets.shape.is_compatible_with(
      means.shape[:-2].concatenate(means.shape[-1:])):
    raise ValueError(
        f'gaussian_mixture_log_prob: targets must be (..., D) = '
        f'{means.shape[:-2].concatenate(means.shape[-1:])} for means of '
        f'shape {means.shape} (..., K, D), got {targets.shape}.')
  z = (targets[..., None, :] - means) / scales
  dims = tf.cast(tf.shape(means)[-1], means.dtype)
  component_log_prob = (-0.5 * tf.reduce_sum(tf.square(z), axis=-1) -
                        tf.reduce_sum(tf.math.log(scales), axis=-1) -
                        0.5 * dims * math.log(2.0 * math.pi))
  log_weights = tf.nn.log_softmax(tf.cast(logits, means.dtype), axis=-1)
  return tf.reduce_logsumexp(log_weights + component_log_prob, axis=-1)


@gin.configurable
def gaussian_mixture_nll(mixture: GaussianMixture,
                         targets: tf.Tensor,
                         reduce_mean: bool = True) -> tf.Tensor:
  """The negative log-likelihood loss of `targets` (T2R's `MDNDecoder.loss`).

  Example:
    >>> loss = gaussian_mixture_nll(MDNHead(5, 7)(features), labels.action)

  Args:
    mixture: A `GaussianMixture` with batch shape (...).
    targets: (..., D) values.
    reduce_mean: Average over all batch dimensions (the training loss), or
      return the per-example (...) NLL.

  Returns:
    The scalar mean NLL, or the (...) NLL per example.

  Raises:
    ValueError: If the shapes do not match (see `gaussian_mixture_log_prob`).
  """
  nll = -gaussian_mixture_log_prob(mixture, targets)
  return tf.reduce_mean(nll) if reduce_mean else nll


def _seed_tensor(seed: Seed) -> tf.Tensor:
  if seed is None:
    return tf.random.uniform([2], 0, 2**31 - 1, dtype=tf.int64)
  if isinstance(seed, numbers.Integral):
    return tf.constant([int(seed), 0], tf.int64)
  seed = tf.cast(tf.convert_to_tensor(seed), tf.int64)
  if seed.shape.rank != 1 or seed.shape[0] not in (None, 2):
    raise ValueError(
        f'seed must be an int, None or a shape [2] integer tensor, got shape '
        f'{seed.shape}.')
  return seed


def gaussian_mixture_sample(mixture: GaussianMixture,
                            seed: Seed = None,
                            num_samples: Optional[int] = None) -> tf.Tensor:
  """Draws from each example's mixture: a component, then its Gaussian.

  Stateless: the same seed gives the same samples (on the same device).

  Example:
    >>> mixture = MDNHead(2, 3)(tf.ones((4, 8)))
    >>> gaussian_mixture_sample(mixture, seed=7).shape
    TensorShape([4, 3])
    >>> gaussian_mixture_sample(mixture, seed=[7, 1], num_samples=10).shape
    TensorShape([10, 4, 3])

  Args:
    mixture: A `GaussianMixture` with batch shape (...).
    seed: An int or a shape [2] integer tensor (stateless sampling); None
      draws a seed from TensorFlow's global random state.
    num_samples: None for one sample per example, or S for S samples.

  Returns:
    (..., D) samples, or (S, ..., D) with `num_samples`.

  Raises:
    ValueError: For a `num_samples` that is not a positive int, a seed of
      the wrong shape, or mismatched mixture shapes.
  """
  if num_samples is not None and (isinstance(num_samples, bool) or
                                  not isinstance(num_samples, int) or
                                  num_samples < 1):
    raise ValueError('gaussian_mixture_sample num_samples must be None or a '
                     f'positive int, got {num_samples!r}.')
  logits, means, scales = _check_mixture(mixture, 'gaussian_mixture_sample')
  seeds = tf.random.experimental.stateless_split(_seed_tensor(seed), 2)
  count = 1 if num_samples is None else num_samples
  k, d = tf.shape(means)[-2], tf.shape(means)[-1]
  batch_shape = tf.shape(means)[:-2]
  flat_logits = tf.reshape(tf.cast(logits, tf.float32), [-1, k])  # (M, K)
  flat_means = tf.reshape(means, [-1, k, d])
  flat_scales = tf.reshape(scales, [-1, k, d])
  components = tf.random.stateless_categorical(flat_logits, count, seeds[0])
  one_hot = tf.one_hot(tf.transpose(components), k, dtype=means.dtype)
  chosen_means = tf.einsum('smk,mkd->smd', one_hot, flat_means)
  chosen_scales = tf.einsum('smk,mkd->smd', one_hot, flat_scales)
  noise = tf.random.stateless_normal(tf.shape(chosen_means), seeds[1],
                                     dtype=means.dtype)
  samples = chosen_means + chosen_scales * noise
  samples = tf.reshape(samples, tf.concat([[count], batch_shape, [d]], 0))
  return samples[0] if num_samples is None else samples


def gaussian_mixture_approximate_mode(mixture: GaussianMixture) -> tf.Tensor:
  """The mean of each example's most likely component (T2R's mode).

  An approximation of the mixture's mode: exact when the components are
  well separated relative to their scales.

  Example:
    >>> mixture = GaussianMixture(tf.constant([[0.0, 2.0]]),
    ...                           tf.constant([[[-1.0], [3.0]]]),
    ...                           tf.ones((1, 2, 1)))
    >>> gaussian_mixture_approximate_mode(mixture).numpy()
    array([[3.]], dtype=float32)

  Args:
    mixture: A `GaussianMixture` with batch shape (...).

  Returns:
    (..., D) means of the components with the largest logit.

  Raises:
    ValueError: If the mixture's parts have mismatched shapes.
  """
  logits, means, _ = _check_mixture(mixture,
                                    'gaussian_mixture_approximate_mode')
  heaviest = tf.one_hot(tf.argmax(logits, axis=-1), tf.shape(means)[-2],
                        dtype=means.dtype)
  return tf.reduce_sum(heaviest[..., None] * means, axis=-2)
