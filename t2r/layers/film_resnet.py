"""FiLM-conditioned image towers: BC-Z's ResNet-18 and a small CPU tower.

BC-Z (Jang et al. 2021) conditions its image tower on the task embedding with
FiLM (Perez et al. 2018) in every residual block: the embedding goes through
a linear projection to a per-channel (gamma, beta) per block, and the block's
features become `(1 + gamma) * x + beta`. Its configuration in Tensor2Robot
(`research/bcz`, `layers/resnet.py`, `layers/film_resnet_model.py`) is a
pre-activation ("v2") ResNet-18: a 7x7 stride-2 convolution with 64 filters,
3x3 stride-2 max pooling, four stages of two basic blocks with 64, 128, 256
and 512 filters and strides 1, 2, 2, 2, batch norm (decay 0.997, epsilon
1e-5), FiLM on every block, then batch norm, ReLU and a global mean. Each
stage's first block has a 1x1 projection shortcut, as in T2R (also where the
channels and stride do not change). `FiLMResNet`'s defaults are that
configuration.

`FiLMConvTower` is the small CPU variant: a few convolutions, each followed by
a parameter-free layer normalization, FiLM and ReLU, then a spatial softmax
(or a global mean).

Both take float images in [0, 1] (what `tf.image.convert_image_dtype` makes
of uint8 images). The scale is not critical (the ResNet batch-normalizes
before its first residual branch, the small tower normalizes after every
convolution), but keep training and inference on the same range.
"""

from typing import Optional, Sequence, Tuple

import gin
import tensorflow as tf
import tf_keras

from t2r.layers.film import FiLM
from t2r.layers.spatial_softmax import SpatialSoftmax

RESNET_POOLINGS = ('mean', None)
TOWER_POOLINGS = ('spatial_softmax', 'mean', None)
TOWER_NORMALIZATIONS = ('layer', 'none')


def _positive_ints(values: Sequence[int], argument: str, who: str,
                   allow_zero: bool = False) -> Tuple[int, ...]:
  """Returns `values` as a tuple of ints, or raises a ValueError naming it."""
  try:
    values = tuple(values)
  except TypeError:
    raise ValueError(
        f'{who} {argument} must be a sequence of ints, got {values!r}.'
    ) from None
  minimum = 0 if allow_zero else 1
  if not values or any(
      isinstance(v, bool) or not isinstance(v, int) or v < minimum
      for v in values):
    kind = 'non-negative' if allow_zero else 'positive'
    raise ValueError(
        f'{who} {argument} must be a non-empty sequence of {kind} ints, got '
        f'{values!r}.')
  return values


def _check_images(images: tf.Tensor, who: str) -> tf.Tensor:
  images = tf.convert_to_tensor(images)
  if images.shape.rank != 4 or images.shape[-1] is None:
    raise ValueError(
        f'{who} expects (batch, height, width, channels) images with known '
        f'channels, got shape {images.shape}.')
  if not images.dtype.is_floating:
    raise ValueError(
        f'{who} expects float images in [0, 1], got dtype {images.dtype.name}'
        '. Convert them first, e.g. tf.image.convert_image_dtype(images, '
        'tf.float32).')
  return images


def _check_conditioning(images: tf.Tensor, conditioning: Optional[tf.Tensor],
                        who: str) -> tf.Tensor:
  if conditioning is None:
    raise ValueError(
        f'{who} has FiLM layers and needs a (batch, K) conditioning tensor '
        '(e.g. the task embedding); got None.')
  conditioning = tf.convert_to_tensor(conditioning)
  if conditioning.shape.rank != 2:
    raise ValueError(
        f'{who} conditioning must be (batch, K), got shape '
        f'{conditioning.shape}.')
  image_rows, rows = images.shape[0], conditioning.shape[0]
  if image_rows is not None and rows is not None and image_rows != rows:
    raise ValueError(
        f'{who} got {image_rows} images but {rows} conditioning rows; pass '
        'one conditioning vector per image.')
  return conditioning


def _regularizer(l2_regularization: float, who: str):
  if l2_regularization < 0:
    raise ValueError(f'{who} l2_regularization must be >= 0, got '
                     f'{l2_regularization}.')
  return (tf_keras.regularizers.l2(l2_regularization)
          if l2_regularization else None)


class _FixedPaddingConv2D(tf_keras.layers.Layer):
  """A bias-free convolution whose padding depends on the kernel size only.

  Strided convolutions pad (k - 1) // 2 before and the rest after, then run
  'valid' (the official TF ResNet's `conv2d_fixed_padding`); stride 1 is
  'same'.
  """

  def __init__(self, filters: int, kernel_size: int, strides: int,
               kernel_regularizer=None, **kwargs):
    super().__init__(**kwargs)
    self._kernel_size = kernel_size
    self._strides = strides
    self.conv = tf_keras.layers.Conv2D(
        filters, kernel_size, strides=strides,
        padding='same' if strides == 1 else 'valid', use_bias=False,
        kernel_initializer=tf_keras.initializers.VarianceScaling(),
        kernel_regularizer=kernel_regularizer, name='conv')

  def call(self, inputs: tf.Tensor) -> tf.Tensor:
    if self._strides > 1:
      total = self._kernel_size - 1
      begin, end = total // 2, total - total // 2
      inputs = tf.pad(inputs, [[0, 0], [begin, end], [begin, end], [0, 0]])
    return self.conv(inputs)


class _PreActivationFiLMBlock(tf_keras.layers.Layer):
  """A ResNet v2 basic block with FiLM after its second batch norm.

  `shortcut + conv(relu(film(bn(conv(relu(bn(x)))))))`, the projection
  shortcut (1x1, strided) reading relu(bn(x)) as in T2R's
  `_building_block_v2`.
  """

  def __init__(self, filters: int, strides: int, projection: bool,
               use_film: bool, film_kernel_initializer: str,
               batch_norm_momentum: float, batch_norm_epsilon: float,
               kernel_regularizer=None, **kwargs):
    super().__init__(**kwargs)

    def batch_norm(name):
      return tf_keras.layers.BatchNormalization(
          momentum=batch_norm_momentum, epsilon=batch_norm_epsilon, name=name)

    self.bn1 = batch_norm('bn1')
    self.conv1 = _FixedPaddingConv2D(filters, 3, strides, kernel_regularizer,
                                     name='conv1')
    self.bn2 = batch_norm('bn2')
    self.film = (FiLM(kernel_initializer=film_kernel_initializer, name='film')
                 if use_film else None)
    self.conv2 = _FixedPaddingConv2D(filters, 3, 1, kernel_regularizer,
                                     name='conv2')
    self.projection = (_FixedPaddingConv2D(filters, 1, strides,
                                           kernel_regularizer,
                                           name='projection')
                       if projection else None)

  def call(self, inputs: tf.Tensor, conditioning: Optional[tf.Tensor] = None,
           training=None) -> tf.Tensor:
    shortcut = inputs
    net = tf.nn.relu(self.bn1(inputs, training=training))
    if self.projection is not None:
      shortcut = self.projection(net)
    net = self.bn2(self.conv1(net), training=training)
    if self.film is not None:
      net = self.film(net, conditioning)
    net = self.conv2(tf.nn.relu(net))
    return net + shortcut


@gin.configurable
class FiLMResNet(tf_keras.layers.Layer):
  """A pre-activation ResNet with FiLM conditioning in its residual blocks.

  The defaults are BC-Z's image tower: ResNet-18 v2 with FiLM in all eight
  blocks, ending in a global mean over positions: (batch, 512) features.
  Each block's FiLM is a linear projection of `conditioning` to that block's
  (gamma, beta), applied as `(1 + gamma) * x + beta` after the block's second
  batch norm (`t2r.layers.FiLM`; one projection per block is the same as
  T2R's one projection per stage split into blocks).

  Example:
    >>> resnet = FiLMResNet()
    >>> images = tf.zeros((2, 64, 64, 3))      # Floats in [0, 1].
    >>> task_embedding = tf.ones((2, 16))
    >>> resnet(images, task_embedding).shape
    TensorShape([2, 512])
    >>> FiLMResNet(pooling=None)(images, task_embedding).shape
    TensorShape([2, 2, 2, 512])

  Args:
    block_sizes: Residual blocks per stage ((2, 2, 2, 2) is ResNet-18,
      (3, 4, 6, 3) ResNet-34).
    widths: Filters per stage, one per entry of `block_sizes`.
    block_strides: Stride of each stage's first block.
    kernel_size: Kernel size of the initial convolution.
    conv_stride: Stride of the initial convolution.
    first_pool_size: Size of the max pooling after the initial convolution;
      0 skips it.
    first_pool_stride: Its stride.
    film_stages: One bool per stage: whether that stage's blocks have FiLM
      (T2R's `enabled_block_layers`); None puts FiLM in every block. With no
      FiLM at all the network ignores `conditioning` (may be None).
    film_kernel_initializer: Initializer of the FiLM projections. The default
      'glorot_uniform' (T2R's) lets the conditioning act from the first
      step; 'zeros' starts every block as the unconditioned ResNet.
    batch_norm_momentum: Moving-average decay of the batch norms.
    batch_norm_epsilon: Their epsilon.
    l2_regularization: tf-keras L2 factor on the convolution kernels
      (`l2 * sum(w ** 2)`, added to the layer's losses); 0 for none.
    pooling: 'mean' returns (batch, widths[-1]) features (the mean over
      positions); None returns the final (batch, h, w, widths[-1]) map.
    **kwargs: Standard `tf_keras.layers.Layer` arguments.

  Call arguments:
    images: (batch, height, width, channels) float images in [0, 1].
    conditioning: (batch, K) conditioning, e.g. the task embedding.
    training: Batch norm mode (batch statistics when True).

  Returns:
    (batch, widths[-1]) features, or the feature map if `pooling` is None.

  Raises:
    ValueError: For negative or zero sizes, argument sequences whose lengths
      differ, an unknown `pooling`; when called, for images that are not
      float (batch, H, W, C) or conditioning that is not (batch, K) with as
      many rows as images.
  """

  def __init__(self,
               block_sizes: Sequence[int] = (2, 2, 2, 2),
               widths: Sequence[int] = (64, 128, 256, 512),
               block_strides: Sequence[int] = (1, 2, 2, 2),
               kernel_size: int = 7,
               conv_stride: int = 2,
               first_pool_size: int = 3,
               first_pool_stride: int = 2,
               film_stages: Optional[Sequence[bool]] = None,
               film_kernel_initializer: str = 'glorot_uniform',
               batch_norm_momentum: float = 0.997,
               batch_norm_epsilon: float = 1e-5,
               l2_regularization: float = 0.0,
               pooling: Optional[str] = 'mean',
               **kwargs):
    super().__init__(**kwargs)
    who = 'FiLMResNet'
    self._block_sizes = _positive_ints(block_sizes, 'block_sizes', who)
    self._widths = _positive_ints(widths, 'widths', who)
    self._block_strides = _positive_ints(block_strides, 'block_strides', who)
    (self._kernel_size, self._conv_stride, self._first_pool_stride) = (
        _positive_ints((kernel_size, conv_stride, first_pool_stride),
                       'kernel_size, conv_stride and first_pool_stride', who))
    (self._first_pool_size,) = _positive_ints(
        (first_pool_size,), 'first_pool_size', who, allow_zero=True)
    stages = len(self._block_sizes)
    if film_stages is None:
      film_stages = (True,) * stages
    self._film_stages = tuple(bool(s) for s in film_stages)
    lengths = {'block_sizes': stages, 'widths': len(self._widths),
               'block_strides': len(self._block_strides),
               'film_stages': len(self._film_stages)}
    if len(set(lengths.values())) != 1:
      raise ValueError(
          f'{who} needs one entry per stage in block_sizes, widths, '
          f'block_strides and film_stages; got lengths {lengths}.')
    if pooling not in RESNET_POOLINGS:
      raise ValueError(f'{who} pooling must be one of {RESNET_POOLINGS}, got '
                       f'{pooling!r}.')
    if not 0 <= batch_norm_momentum < 1 or batch_norm_epsilon <= 0:
      raise ValueError(
          f'{who} needs 0 <= batch_norm_momentum < 1 and batch_norm_epsilon '
          f'> 0, got {batch_norm_momentum} and {batch_norm_epsilon}.')
    self._film_kernel_initializer = film_kernel_initializer
    self._batch_norm_momentum = float(batch_norm_momentum)
    self._batch_norm_epsilon = float(batch_norm_epsilon)
    self._l2_regularization = float(l2_regularization)
    self._pooling = pooling
    regularizer = _regularizer(self._l2_regularization, who)

    self.initial_conv = _FixedPaddingConv2D(
        self._widths[0], self._kernel_size, self._conv_stride, regularizer,
        name='initial_conv')
    self.blocks = []
    for stage, (num_blocks, width, stride, film) in enumerate(zip(
        self._block_sizes, self._widths, self._block_strides,
        self._film_stages)):
      for index in range(num_blocks):
        self.blocks.append(_PreActivationFiLMBlock(
            width, stride if index == 0 else 1, projection=index == 0,
            use_film=film, film_kernel_initializer=film_kernel_initializer,
            batch_norm_momentum=self._batch_norm_momentum,
            batch_norm_epsilon=self._batch_norm_epsilon,
            kernel_regularizer=regularizer,
            name=f'block_layer{stage + 1}_{index + 1}'))
    self.final_bn = tf_keras.layers.BatchNormalization(
        momentum=self._batch_norm_momentum, epsilon=self._batch_norm_epsilon,
        name='final_bn')

  @property
  def output_size(self) -> int:
    """Channels of the output features (the last stage's width)."""
    return self._widths[-1]

  def call(self, images: tf.Tensor, conditioning: Optional[tf.Tensor] = None,
           training=None) -> tf.Tensor:
    images = _check_images(images, 'FiLMResNet')
    if any(self._film_stages):
      conditioning = _check_conditioning(images, conditioning, 'FiLMResNet')
    net = self.initial_conv(images)
    if self._first_pool_size:
      net = tf.nn.max_pool2d(net, self._first_pool_size,
                             self._first_pool_stride, 'SAME')
    for block in self.blocks:
      net = block(net, conditioning, training=training)
    net = tf.nn.relu(self.final_bn(net, training=training))
    if self._pooling == 'mean':
      net = tf.reduce_mean(net, axis=[1, 2])
    return net

  def get_config(self):
    return dict(
        super().get_config(), block_sizes=self._block_sizes,
        widths=self._widths, block_strides=self._block_strides,
        kernel_size=self._kernel_size, conv_stride=self._conv_stride,
        first_pool_size=self._first_pool_size,
        first_pool_stride=self._first_pool_stride,
        film_stages=self._film_stages,
        film_kernel_initializer=self._film_kernel_initializer,
        batch_norm_momentum=self._batch_norm_momentum,
        batch_norm_epsilon=self._batch_norm_epsilon,
        l2_regularization=self._l2_regularization, pooling=self._pooling)


@gin.configurable
class FiLMConvTower(tf_keras.layers.Layer):
  """A small FiLM-conditioned conv tower for CPU runs.

  Every convolution ('same' padding) is followed by a parameter-free layer
  normalization over (height, width, channels), FiLM from `conditioning`
  (whose dense bias doubles as the per-channel affine of the normalization)
  and a ReLU; then a spatial softmax (per-channel expected x, y in [-1, 1]),
  a global mean, or nothing.

  Example:
    >>> tower = FiLMConvTower()
    >>> tower(tf.zeros((2, 64, 64, 3)), tf.ones((2, 8))).shape
    TensorShape([2, 64])
    >>> FiLMConvTower(pooling='mean')(tf.zeros((2, 64, 64, 3)),
    ...                               tf.ones((2, 8))).shape
    TensorShape([2, 32])

  Args:
    filters: Filters of each convolution.
    kernel_sizes: Kernel size of each convolution.
    strides: Stride of each convolution.
    normalization: 'layer' (normalize each example's map, then FiLM) or
      'none' (the convolutions get a bias instead).
    pooling: 'spatial_softmax' gives (batch, 2 * filters[-1]) keypoints,
      'mean' (batch, filters[-1]), None the (batch, h, w, filters[-1]) map.
    film_kernel_initializer: Initializer of the FiLM projections
      ('glorot_uniform': the conditioning acts from the first step).
    l2_regularization: tf-keras L2 factor on the convolution kernels.
    **kwargs: Standard `tf_keras.layers.Layer` arguments.

  Call arguments:
    images: (batch, height, width, channels) float images in [0, 1].
    conditioning: (batch, K) conditioning, e.g. the task embedding.
    training: Unused (nothing behaves differently in training); accepted
      for the same call signature as `FiLMResNet`.

  Returns:
    The pooled features (see `pooling`).

  Raises:
    ValueError: For zero or negative sizes, `filters`, `kernel_sizes` and
      `strides` of different lengths, an unknown `normalization` or
      `pooling`; when called, for non-float or non-(batch, H, W, C) images
      or a conditioning that is not (batch, K) with one row per image.
  """

  def __init__(self,
               filters: Sequence[int] = (32, 32, 32),
               kernel_sizes: Sequence[int] = (5, 3, 3),
               strides: Sequence[int] = (2, 1, 1),
               normalization: str = 'layer',
               pooling: Optional[str] = 'spatial_softmax',
               film_kernel_initializer: str = 'glorot_uniform',
               l2_regularization: float = 0.0,
               **kwargs):
    super().__init__(**kwargs)
    who = 'FiLMConvTower'
    self._filters = _positive_ints(filters, 'filters', who)
    self._kernel_sizes = _positive_ints(kernel_sizes, 'kernel_sizes', who)
    self._strides = _positive_ints(strides, 'strides', who)
    lengths = {'filters': len(self._filters),
               'kernel_sizes': len(self._kernel_sizes),
               'strides': len(self._strides)}
    if len(set(lengths.values())) != 1:
      raise ValueError(f'{who} needs one entry per convolution in filters, '
                       f'kernel_sizes and strides; got lengths {lengths}.')
    if normalization not in TOWER_NORMALIZATIONS:
      raise ValueError(f'{who} normalization must be one of '
                       f'{TOWER_NORMALIZATIONS}, got {normalization!r}.')
    if pooling not in TOWER_POOLINGS:
      raise ValueError(f'{who} pooling must be one of {TOWER_POOLINGS}, got '
                       f'{pooling!r}.')
    self._normalization = normalization
    self._pooling = pooling
    self._film_kernel_initializer = film_kernel_initializer
    self._l2_regularization = float(l2_regularization)
    regularizer = _regularizer(self._l2_regularization, who)
    self.convs = [
        tf_keras.layers.Conv2D(
            f, k, strides=s, padding='same',
            use_bias=normalization == 'none',
            kernel_regularizer=regularizer, name=f'conv{i + 1}')
        for i, (f, k, s) in enumerate(
            zip(self._filters, self._kernel_sizes, self._strides))]
    self.films = [FiLM(kernel_initializer=film_kernel_initializer,
                       name=f'film{i + 1}')
                  for i in range(len(self._filters))]
    self.spatial_softmax = (SpatialSoftmax(name='spatial_softmax')
                            if pooling == 'spatial_softmax' else None)

  @property
  def output_size(self) -> int:
    """Size of the pooled features (channels of the map if unpooled)."""
    factor = 2 if self._pooling == 'spatial_softmax' else 1
    return factor * self._filters[-1]

  def call(self, images: tf.Tensor, conditioning: Optional[tf.Tensor] = None,
           training=None) -> tf.Tensor:
    del training  # Nothing behaves differently in training.
    net = _check_images(images, 'FiLMConvTower')
    conditioning = _check_conditioning(net, conditioning, 'FiLMConvTower')
    for conv, film in zip(self.convs, self.films):
      net = conv(net)
      if self._normalization == 'layer':
        mean, variance = tf.nn.moments(net, axes=[1, 2, 3], keepdims=True)
        net = (net - mean) * tf.math.rsqrt(variance + 1e-5)
      net = tf.nn.relu(film(net, conditioning))
    if self._pooling == 'spatial_softmax':
      return self.spatial_softmax(net)
    if self._pooling == 'mean':
      return tf.reduce_mean(net, axis=[1, 2])
    return net

  def get_config(self):
    return dict(
        super().get_config(), filters=self._filters,
        kernel_sizes=self._kernel_sizes, strides=self._strides,
        normalization=self._normalization, pooling=self._pooling,
        film_kernel_initializer=self._film_kernel_initializer,
        l2_regularization=self._l2_regularization)

