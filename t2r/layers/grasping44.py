"""QT-Opt's Grasping44 critic, split into an image tower and a Q head.

Grasping44 (Kalashnikov et al. 2018; Tensor2Robot's `research/qtopt/
networks.py`, `Grasping44FlexibleGraspParams`) scores a grasp action for an
image:

  image (472 x 472 x 3)
  -> conv 64@6x6 stride 2 (then batch norm without scale, ReLU)
  -> max-pool 3x3 stride 3 -> six conv 64@5x5 -> max-pool 3x3 stride 3
                                                ... the image tower, 27x27x64
  action -> FC 256 (batch norm without scale, ReLU) -> FC 64
  -> broadcast-added to the image features over all positions
  -> six conv 64@3x3 -> max-pool 2x2 stride 2 -> three conv 64@3x3 'valid'
  -> flatten -> FC 64 -> FC 64 -> one logit          ... the Q head

Every convolution and hidden FC has batch norm (decay 0.9997, epsilon 1e-3)
and a ReLU; weights start from a truncated normal with stddev 0.01 and carry
T2R's L2 regularization (slim's `l2_regularizer(7e-5)`, `7e-5 * sum(w^2) /
2`, which is tf-keras' `l2(3.5e-5)`). Pooling is 'same'.

The image tower does not see the action, so a CEM policy that scores many
candidate actions per state runs it once per state and only the head per
candidate: `Grasping44.state_embedding` and `Grasping44.q_from_state_embedding`
are what a `CriticModel`'s `state_embedding_fn` / `q_from_state_embedding_fn`
hooks call (see `t2r.models.critic_model`). `Grasping44Small` keeps the
structure at 64x64 with fewer filters and layers, for CPU runs.
"""

import math
from typing import Optional, Sequence

import gin
import tensorflow as tf
import tf_keras

PADDINGS = ('same', 'valid')


def _positive_int(value, argument: str, who: str, allow_zero: bool = False
                  ) -> int:
  minimum = 0 if allow_zero else 1
  if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
    kind = 'a non-negative' if allow_zero else 'a positive'
    raise ValueError(f'{who} {argument} must be {kind} int, got {value!r}.')
  return value


def _output_size(size: int, kernel: int, stride: int, padding: str) -> int:
  if padding == 'same':
    return math.ceil(size / stride)
  return max(0, math.ceil((size - kernel + 1) / stride))


class _Common:
  """Initializer, regularizer and batch-norm settings shared by the parts."""

  def __init__(self, who: str, batch_norm: bool, batch_norm_momentum: float,
               batch_norm_epsilon: float, l2_regularization: float,
               weight_stddev: Optional[float]):
    if not 0 <= batch_norm_momentum < 1 or not batch_norm_epsilon > 0:
      raise ValueError(
          f'{who} needs 0 <= batch_norm_momentum < 1 and batch_norm_epsilon '
          f'> 0, got {batch_norm_momentum} and {batch_norm_epsilon}.')
    if not l2_regularization >= 0:
      raise ValueError(f'{who} l2_regularization must be >= 0, got '
                       f'{l2_regularization!r}.')
    if weight_stddev is not None and not weight_stddev > 0:
      raise ValueError(f'{who} weight_stddev must be > 0 or None, got '
                       f'{weight_stddev!r}.')
    self.batch_norm = bool(batch_norm)
    self.momentum = float(batch_norm_momentum)
    self.epsilon = float(batch_norm_epsilon)
    self.l2 = float(l2_regularization)
    self.stddev = None if weight_stddev is None else float(weight_stddev)

  def config(self):
    return dict(batch_norm=self.batch_norm,
                batch_norm_momentum=self.momentum,
                batch_norm_epsilon=self.epsilon,
                l2_regularization=self.l2, weight_stddev=self.stddev)

  def kernel_args(self):
    return dict(
        kernel_initializer=(
            tf_keras.initializers.TruncatedNormal(stddev=self.stddev)
            if self.stddev is not None else 'glorot_uniform'),
        kernel_regularizer=(tf_keras.regularizers.l2(self.l2)
                            if self.l2 else None))

  def norm(self, name: str, scale: bool = True):
    if not self.batch_norm:
      return None
    return tf_keras.layers.BatchNormalization(
        momentum=self.momentum, epsilon=self.epsilon, scale=scale, name=name)


class _Unit(tf_keras.layers.Layer):
  """conv or dense -> batch norm (optional) -> ReLU (optional)."""

  def __init__(self, linear: tf_keras.layers.Layer,
               norm: Optional[tf_keras.layers.Layer], relu: bool = True,
               **kwargs):
    super().__init__(**kwargs)
    self.linear = linear
    self.norm = norm
    self._relu = relu

  def call(self, inputs, training=None):
    net = self.linear(inputs)
    if self.norm is not None:
      net = self.norm(net, training=training)
    return tf.nn.relu(net) if self._relu else net


def _conv_unit(common: _Common, filters: int, kernel_size: int, name: str,
               strides: int = 1, padding: str = 'same',
               norm_scale: bool = True) -> _Unit:
  norm = common.norm(f'{name}_bn', scale=norm_scale)
  return _Unit(tf_keras.layers.Conv2D(
      filters, kernel_size, strides=strides, padding=padding,
      use_bias=norm is None, name=name, **common.kernel_args()), norm,
               name=f'{name}_unit')


def _dense_unit(common: _Common, units: int, name: str, relu: bool = True,
                norm: bool = True, norm_scale: bool = True,
                bias: bool = False) -> _Unit:
  norm_layer = common.norm(f'{name}_bn', scale=norm_scale) if norm else None
  return _Unit(tf_keras.layers.Dense(units,
                                     use_bias=bias or norm_layer is None,
                                     name=name, **common.kernel_args()),
               norm_layer, relu=relu, name=f'{name}_unit')


@gin.configurable
class Grasping44ImageTower(tf_keras.layers.Layer):
  """The state tower of Grasping44: image -> (batch, h, w, filters) features.

  The defaults are QT-Opt's: conv 64@6x6 stride 2, max-pool 3/3, six conv
  64@5x5, max-pool 3/3 (472x472 images give 27x27x64).

  Example:
    >>> tower = Grasping44ImageTower()
    >>> tower(tf.zeros((1, 472, 472, 3))).shape
    TensorShape([1, 27, 27, 64])

  Args:
    filters: Filters of every convolution.
    first_kernel_size: Kernel size of the first convolution.
    first_stride: Its stride.
    first_pool_size: Size of the max pooling after it.
    first_pool_stride: Its stride.
    num_convs: Convolutions between the two poolings.
    kernel_size: Their kernel size.
    pool_size: Size of the last max pooling.
    pool_stride: Its stride.
    batch_norm: Batch norm after every convolution (the first one without a
      learned scale, as in T2R). Without it the convolutions get biases.
    batch_norm_momentum: Moving-average decay of the batch norms.
    batch_norm_epsilon: Their epsilon.
    l2_regularization: tf-keras L2 factor on the kernels (T2R's slim
      7e-5 is 3.5e-5 here).
    weight_stddev: Stddev of the truncated-normal kernel initializer; None
      uses glorot uniform.
    **kwargs: Standard `tf_keras.layers.Layer` arguments.

  Call arguments:
    images: (batch, height, width, channels) float images (T2R fed [0, 1]
      images; the first batch norm makes the scale uncritical).
    training: Batch norm mode.

  Returns:
    The (batch, h, w, filters) state embedding.

  Raises:
    ValueError: For non-positive sizes or bad batch-norm settings; when
      called, for images that are not float (batch, H, W, C).
  """

  def __init__(self,
               filters: int = 64,
               first_kernel_size: int = 6,
               first_stride: int = 2,
               first_pool_size: int = 3,
               first_pool_stride: int = 3,
               num_convs: int = 6,
               kernel_size: int = 5,
               pool_size: int = 3,
               pool_stride: int = 3,
               batch_norm: bool = True,
               batch_norm_momentum: float = 0.9997,
               batch_norm_epsilon: float = 1e-3,
               l2_regularization: float = 3.5e-5,
               weight_stddev: Optional[float] = 0.01,
               **kwargs):
    super().__init__(**kwargs)
    who = 'Grasping44ImageTower'
    self._sizes = dict(
        filters=_positive_int(filters, 'filters', who),
        first_kernel_size=_positive_int(first_kernel_size,
                                        'first_kernel_size', who),
        first_stride=_positive_int(first_stride, 'first_stride', who),
        first_pool_size=_positive_int(first_pool_size, 'first_pool_size',
                                      who),
        first_pool_stride=_positive_int(first_pool_stride,
                                        'first_pool_stride', who),
        num_convs=_positive_int(num_convs, 'num_convs', who,
                                allow_zero=True),
        kernel_size=_positive_int(kernel_size, 'kernel_size', who),
        pool_size=_positive_int(pool_size, 'pool_size', who),
        pool_stride=_positive_int(pool_stride, 'pool_stride', who))
    self._common = _Common(who, batch_norm, batch_norm_momentum,
                           batch_norm_epsilon, l2_regularization,
                           weight_stddev)
    common, sizes = self._common, self._sizes
    # T2R: conv1_1 has a bias and no normalizer; a separate batch norm
    # without scale and the ReLU follow it.
    self.conv1 = _Unit(
        tf_keras.layers.Conv2D(
            filters, first_kernel_size, strides=first_stride, padding='same',
            name='conv1', **common.kernel_args()),
        common.norm('conv1_bn', scale=False), name='conv1_unit')
    self.convs = [_conv_unit(common, filters, sizes['kernel_size'],
                             f'conv{i + 2}')
                  for i in range(sizes['num_convs'])]

  @property
  def filters(self) -> int:
    return self._sizes['filters']

  def output_spatial_size(self, height: int, width: int):
    """The (h, w) of the embedding for (height, width) images."""
    s = self._sizes
    out = []
    for size in (height, width):
      size = _output_size(size, s['first_kernel_size'], s['first_stride'],
                          'same')
      size = _output_size(size, s['first_pool_size'],
                          s['first_pool_stride'], 'same')
      out.append(_output_size(size, s['pool_size'], s['pool_stride'], 'same'))
    return tuple(out)

  def build(self, input_shape):
    input_shape = tf.TensorShape(input_shape)
    if input_shape.rank != 4 or input_shape[-1] is None:
      raise ValueError(
          'Grasping44ImageTower expects (batch, height, width, channels) '
          f'images with known channels, got shape {input_shape}.')
    super().build(input_shape)

  def call(self, images: tf.Tensor, training=None) -> tf.Tensor:
    images = tf.convert_to_tensor(images)
    if not images.dtype.is_floating:
      raise ValueError(
          'Grasping44ImageTower expects float images, got dtype '
          f'{images.dtype.name}. Convert them first, e.g. '
          'tf.image.convert_image_dtype(images, tf.float32).')
    s = self._sizes
    net = self.conv1(images, training=training)
    net = tf.nn.max_pool2d(net, s['first_pool_size'], s['first_pool_stride'],
                           'SAME')
    for conv in self.convs:
      net = conv(net, training=training)
    return tf.nn.max_pool2d(net, s['pool_size'], s['pool_stride'], 'SAME')

  def get_config(self):
    return dict(super().get_config(), **self._sizes, **self._common.config())


@gin.configurable
class Grasping44Head(tf_keras.layers.Layer):
  """The Q head of Grasping44: (state embedding, action) -> logit.

  The action goes through FC `action_fc_size` (batch norm without scale,
  ReLU) and FC C (batch norm, ReLU), C being the embedding's channels, and
  is added to the embedding at every position; then `num_convs`
  convolutions, a max pooling, `num_final_convs` convolutions, a flatten,
  the `fc_sizes` hidden layers and a linear layer of `num_outputs` logits.
  The defaults are QT-Opt's (256, six 3x3, 2/2, three 3x3 'valid', (64,
  64), 1).

  Example:
    >>> head = Grasping44Head()
    >>> head(tf.zeros((8, 27, 27, 64)), tf.zeros((8, 5))).shape
    TensorShape([8, 1])

  Args:
    action_fc_size: Width of the action's first FC layer.
    filters: Filters of the head's convolutions; None uses the embedding's
      channels (QT-Opt: 64).
    num_convs: Convolutions ('same') before the pooling.
    kernel_size: Kernel size of all head convolutions.
    pool_size: Size of the max pooling.
    pool_stride: Its stride.
    num_final_convs: Convolutions after the pooling.
    final_padding: Their padding, 'valid' (QT-Opt) or 'same'.
    fc_sizes: Hidden FC layers after the flatten.
    num_outputs: Logits per row (1 for a Q logit).
    batch_norm: Batch norm after every convolution and hidden FC.
    batch_norm_momentum: Moving-average decay of the batch norms.
    batch_norm_epsilon: Their epsilon.
    l2_regularization: tf-keras L2 factor on the kernels.
    weight_stddev: Stddev of the truncated-normal kernel initializer; None
      uses glorot uniform.
    **kwargs: Standard `tf_keras.layers.Layer` arguments.

  Call arguments:
    state_embedding: (rows, h, w, C) embedding with known h, w, C: the
      image tower's output, repeated once per candidate action (row i * N +
      j pairs state i with action j).
    actions: (rows, A) actions, one per embedding row.
    training: Batch norm mode.

  Returns:
    (rows, num_outputs) logits.

  Raises:
    ValueError: For non-positive sizes or an unknown `final_padding`; when
      called, for an embedding that is not (rows, h, w, C) with known h, w,
      C, actions that are not (rows, A), different row counts, or an
      embedding too small for the pooling and the final convolutions.
  """

  def __init__(self,
               action_fc_size: int = 256,
               filters: Optional[int] = None,
               num_convs: int = 6,
               kernel_size: int = 3,
               pool_size: int = 2,
               pool_stride: int = 2,
               num_final_convs: int = 3,
               final_padding: str = 'valid',
               fc_sizes: Sequence[int] = (64, 64),
               num_outputs: int = 1,
               batch_norm: bool = True,
               batch_norm_momentum: float = 0.9997,
               batch_norm_epsilon: float = 1e-3,
               l2_regularization: float = 3.5e-5,
               weight_stddev: Optional[float] = 0.01,
               **kwargs):
    super().__init__(**kwargs)
    who = 'Grasping44Head'
    if final_padding not in PADDINGS:
      raise ValueError(f'{who} final_padding must be one of {PADDINGS}, got '
                       f'{final_padding!r}.')
    fc_sizes = tuple(fc_sizes)
    for size in fc_sizes:
      _positive_int(size, 'fc_sizes entries', who)
    self._sizes = dict(
        action_fc_size=_positive_int(action_fc_size, 'action_fc_size', who),
        filters=(None if filters is None else
                 _positive_int(filters, 'filters', who)),
        num_convs=_positive_int(num_convs, 'num_convs', who,
                                allow_zero=True),
        kernel_size=_positive_int(kernel_size, 'kernel_size', who),
        pool_size=_positive_int(pool_size, 'pool_size', who),
        pool_stride=_positive_int(pool_stride, 'pool_stride', who),
        num_final_convs=_positive_int(num_final_convs, 'num_final_convs', who,
                                      allow_zero=True),
        final_padding=final_padding, fc_sizes=fc_sizes,
        num_outputs=_positive_int(num_outputs, 'num_outputs', who))
    self._common = _Common(who, batch_norm, batch_norm_momentum,
                           batch_norm_epsilon, l2_regularization,
                           weight_stddev)

  def build(self, embedding_shape, actions_shape=None):
    embedding_shape = tf.TensorShape(embedding_shape)
    if embedding_shape.rank != 4 or None in embedding_shape[1:]:
      raise ValueError(
          'Grasping44Head expects a (rows, h, w, C) state embedding with '
          f'known h, w and C, got shape {embedding_shape}.')
    s, common = self._sizes, self._common
    height, width, channels = embedding_shape[1:]
    filters = s['filters'] or channels
    final = []
    for size in (height, width):
      size = _output_size(size, s['pool_size'], s['pool_stride'], 'same')
      for _ in range(s['num_final_convs']):
        size = _output_size(size, s['kernel_size'], 1, s['final_padding'])
      final.append(size)
    if min(final) < 1:
      raise ValueError(
          f'Grasping44Head: a {height}x{width} state embedding is too small '
          f'for a {s["pool_size"]}/{s["pool_stride"]} pooling and '
          f'{s["num_final_convs"]} {s["kernel_size"]}x{s["kernel_size"]} '
          f'{s["final_padding"]!r} convolutions (they would leave '
          f'{final[0]}x{final[1]}). Use larger images, fewer final '
          "convolutions or final_padding='same'.")
    # T2R: fcgrasp is linear with a bias, then batch norm without scale.
    self.action_fc1 = _dense_unit(common, s['action_fc_size'], 'fcgrasp',
                                  norm_scale=False, bias=True)
    self.action_fc2 = _dense_unit(common, channels, 'fcgrasp2')
    self.convs = [_conv_unit(common, filters, s['kernel_size'],
                             f'head_conv{i + 1}')
                  for i in range(s['num_convs'])]
    self.final_convs = [
        _conv_unit(common, filters, s['kernel_size'], f'final_conv{i + 1}',
                   padding=s['final_padding'])
        for i in range(s['num_final_convs'])]
    self.fcs = [_dense_unit(common, size, f'fc{i}')
                for i, size in enumerate(s['fc_sizes'])]
    self.logit = _dense_unit(common, s['num_outputs'], 'logit', relu=False,
                             norm=False)
    super().build(embedding_shape)

  def call(self, state_embedding: tf.Tensor, actions: tf.Tensor,
           training=None) -> tf.Tensor:
    actions = tf.cast(tf.convert_to_tensor(actions), state_embedding.dtype)
    if actions.shape.rank != 2 or actions.shape[-1] is None:
      raise ValueError(
          'Grasping44Head expects (rows, A) actions with a known A, got shape '
          f'{actions.shape}.')
    rows, action_rows = state_embedding.shape[0], actions.shape[0]
    message = ('Grasping44Head needs one state embedding row per action: '
               'repeat the embedding once per candidate action (tf.repeat(e, '
               'N, axis=0)).')
    if rows is not None and action_rows is not None and rows != action_rows:
      raise ValueError(f'{message} Got {rows} embedding rows and '
                       f'{action_rows} actions.')
    check = tf.debugging.assert_equal(
        tf.shape(state_embedding)[0], tf.shape(actions)[0], message=message)
    with tf.control_dependencies([check]):
      context = self.action_fc2(self.action_fc1(actions, training=training),
                                training=training)
    net = state_embedding + context[:, None, None, :]
    for conv in self.convs:
      net = conv(net, training=training)
    s = self._sizes
    net = tf.nn.max_pool2d(net, s['pool_size'], s['pool_stride'], 'SAME')
    for conv in self.final_convs:
      net = conv(net, training=training)
    net = tf.reshape(net, [-1, math.prod(net.shape[1:])])
    for fc in self.fcs:
      net = fc(net, training=training)
    return self.logit(net, training=training)

  def get_config(self):
    return dict(super().get_config(), **self._sizes, **self._common.config())


@gin.configurable
class Grasping44(tf_keras.layers.Layer):
  """QT-Opt's Grasping44 critic: an image tower and a per-action Q head.

  `call(images, actions)` is the whole network on matching rows; a critic
  that scores N candidate actions per state runs `state_embedding` once
  per state, repeats it N times and runs `q_from_state_embedding` (the
  same numbers as `call` on the repeated images, for one tower pass per
  state instead of per candidate).

  Example:
    >>> critic = Grasping44()
    >>> critic(tf.zeros((1, 472, 472, 3)), tf.zeros((1, 5))).shape
    TensorShape([1, 1])
    >>> images, actions = tf.zeros((2, 472, 472, 3)), tf.zeros((2 * 64, 5))
    >>> embedding = critic.state_embedding(images)  # Once per state.
    >>> critic.q_from_state_embedding(tf.repeat(embedding, 64, axis=0),
    ...                               actions).shape
    TensorShape([128, 1])

  A `CriticModel`'s hooks call these two methods:
  `state_embedding_fn(features, mode)` returns
  `state_embedding(features.state.image, training=mode == ModeKeys.TRAIN)`
  and `q_from_state_embedding_fn(embedding, features, mode)` returns
  `q_from_state_embedding(embedding, features.action, training=...)`.

  Args:
    image_tower: The state tower; None builds QT-Opt's
      `Grasping44ImageTower()` (gin bindings of that class apply).
    head: The Q head; None builds `Grasping44Head()`.
    **kwargs: Standard `tf_keras.layers.Layer` arguments.

  Call arguments:
    images: (rows, H, W, C) float images.
    actions: (rows, A) actions, one per image.
    training: Batch norm mode.

  Returns:
    (rows, num_outputs) logits (the Q logit: Q = sigmoid(logit) for QT-Opt's
    log loss).

  Raises:
    ValueError: See `Grasping44ImageTower` and `Grasping44Head`.
  """

  def __init__(self,
               image_tower: Optional[Grasping44ImageTower] = None,
               head: Optional[Grasping44Head] = None,
               **kwargs):
    super().__init__(**kwargs)
    self.image_tower = (image_tower if image_tower is not None else
                        Grasping44ImageTower(name='image_tower'))
    self.head = head if head is not None else Grasping44Head(name='head')

  def state_embedding(self, images: tf.Tensor, training=None) -> tf.Tensor:
    """The (batch, h, w, C) image features, one row per state."""
    return self.image_tower(images, training=training)

  def q_from_state_embedding(self, state_embedding: tf.Tensor,
                             actions: tf.Tensor, training=None) -> tf.Tensor:
    """(rows, num_outputs) logits; the embedding has one row per action."""
    logits = self.head(state_embedding, actions, training=training)
    # Both parts are built now, also when `call` never ran (count_params).
    self.built = self.image_tower.built
    return logits

  def call(self, images: tf.Tensor, actions: tf.Tensor,
           training=None) -> tf.Tensor:
    return self.q_from_state_embedding(
        self.state_embedding(images, training=training), actions,
        training=training)

  def get_config(self):
    return dict(super().get_config(),
                image_tower=self.image_tower.get_config(),
                head=self.head.get_config())

  @classmethod
  def from_config(cls, config):
    config = dict(config)
    config['image_tower'] = Grasping44ImageTower.from_config(
        config['image_tower'])
    config['head'] = Grasping44Head.from_config(config['head'])
    return cls(**config)


@gin.configurable
class Grasping44Small(Grasping44):
  """Grasping44's structure scaled down for 64x64 images on CPU.

  conv `filters`@6x6 stride 2, max-pool 2/2, `tower_convs` conv 3x3, max-pool
  2/2 (64x64 images give an 8x8 embedding); the action through FC
  `action_fc_size` -> FC `filters`, added; `head_convs` conv 3x3, max-pool
  2/2, `final_convs` conv 3x3 'valid', the `fc_sizes` FCs and one logit.

  Example:
    >>> critic = Grasping44Small()
    >>> critic(tf.zeros((4, 64, 64, 3)), tf.zeros((4, 5))).shape
    TensorShape([4, 1])

  Args:
    filters: Filters of every convolution (and width of the action's
      second FC).
    action_fc_size: Width of the action's first FC layer.
    tower_convs: Convolutions between the tower's two poolings.
    head_convs: Convolutions of the head before its pooling.
    final_convs: 'valid' convolutions after the head's pooling.
    fc_sizes: Hidden FC layers of the head.
    batch_norm: Batch norm after every convolution and hidden FC.
    batch_norm_momentum: Moving-average decay (0.99: the moving statistics
      settle within a short CPU run, unlike QT-Opt's 0.9997).
    l2_regularization: tf-keras L2 factor on the kernels.
    **kwargs: Standard `tf_keras.layers.Layer` arguments.

  Raises:
    ValueError: See `Grasping44ImageTower` and `Grasping44Head`.
  """

  def __init__(self,
               filters: int = 32,
               action_fc_size: int = 64,
               tower_convs: int = 2,
               head_convs: int = 2,
               final_convs: int = 1,
               fc_sizes: Sequence[int] = (32, 32),
               batch_norm: bool = True,
               batch_norm_momentum: float = 0.99,
               l2_regularization: float = 0.0,
               **kwargs):
    common = dict(batch_norm=batch_norm,
                  batch_norm_momentum=batch_norm_momentum,
                  l2_regularization=l2_regularization)
    self._small_config = dict(
        filters=filters, action_fc_size=action_fc_size,
        tower_convs=tower_convs, head_convs=head_convs,
        final_convs=final_convs, fc_sizes=tuple(fc_sizes), **common)
    super().__init__(
        image_tower=Grasping44ImageTower(
            filters=filters, first_kernel_size=6, first_stride=2,
            first_pool_size=2, first_pool_stride=2, num_convs=tower_convs,
            kernel_size=3, pool_size=2, pool_stride=2, name='image_tower',
            **common),
        head=Grasping44Head(
            action_fc_size=action_fc_size, num_convs=head_convs,
            kernel_size=3, pool_size=2, pool_stride=2,
            num_final_convs=final_convs, final_padding='valid',
            fc_sizes=fc_sizes, name='head', **common),
        **kwargs)

  def get_config(self):
    config = tf_keras.layers.Layer.get_config(self)
    return dict(config, **self._small_config)

  @classmethod
  def from_config(cls, config):
    return cls(**config)
