"""FiLM-conditioned towers: BC-Z's ResNet-18 and the small CPU tower."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from t2r import layers

EMBEDDING = 8


def _images(batch, size=32, seed=0):
  return tf.random.stateless_uniform((batch, size, size, 3), seed=(seed, 1))


def _embeddings(batch, seed):
  return tf.random.stateless_normal((batch, EMBEDDING), seed=(seed, 2))


@pytest.fixture(scope='module')
def resnet18():
  resnet = layers.FiLMResNet()
  resnet(_images(1), _embeddings(1, 0))
  return resnet


def _film_kernels(layer):
  return [v for v in layer.trainable_weights
          if '/film' in v.name and 'kernel' in v.name]


def test_resnet18_gives_512_features(resnet18):
  assert resnet18(_images(2, 64), _embeddings(2, 0)).shape == (2, 512)


def test_without_pooling_the_final_map_comes_back():
  resnet = layers.FiLMResNet(block_sizes=(1, 1, 1, 1), widths=(4, 4, 4, 4),
                             pooling=None)
  # 64 -> conv /2 -> pool /2 -> stages /1 /2 /2 /2.
  assert resnet(_images(2, 64), _embeddings(2, 0)).shape == (2, 2, 2, 4)
  assert resnet.output_size == 4


def test_resnet18_has_the_resnet18_v2_weights_plus_a_film_per_block(
    resnet18):
  widths, blocks = (64, 128, 256, 512), 2
  expected, channels = 7 * 7 * 3 * 64, 64
  for width in widths:
    for index in range(blocks):
      expected += 4 * channels  # Pre-activation batch norm (with stats).
      expected += channels * width if index == 0 else 0  # Projection.
      expected += 9 * channels * width + 4 * width + 9 * width * width
      channels = width
  expected += 4 * 512  # Final batch norm.
  film = sum(2 * (EMBEDDING + 1) * w * blocks for w in widths)
  assert len(_film_kernels(resnet18)) == 8  # Every residual block.
  assert resnet18.count_params() == expected + film


def test_different_task_embeddings_give_different_features(resnet18):
  images = tf.concat([_images(1)] * 2, axis=0)
  task_a = tf.concat([_embeddings(1, 1)] * 2, axis=0)
  task_ab = tf.concat([_embeddings(1, 1), _embeddings(1, 2)], axis=0)
  same = resnet18(images, task_a).numpy()
  different = resnet18(images, task_ab).numpy()
  np.testing.assert_allclose(same[0], same[1], rtol=1e-5, atol=1e-6)
  assert np.abs(different[0] - different[1]).max() > 1e-3


def test_zero_initialised_film_starts_as_the_plain_resnet():
  resnet = layers.FiLMResNet(block_sizes=(1, 1), widths=(8, 16),
                             block_strides=(1, 2),
                             film_kernel_initializer='zeros')
  images = _images(2)
  np.testing.assert_allclose(resnet(images, _embeddings(2, 1)),
                             resnet(images, _embeddings(2, 2)), atol=1e-6)


@pytest.mark.parametrize('make', [
    lambda: layers.FiLMResNet(block_sizes=(1, 1), widths=(8, 16),
                              block_strides=(1, 2)),
    lambda: layers.FiLMResNet(block_sizes=(1, 1), widths=(8, 16),
                              block_strides=(1, 2),
                              film_kernel_initializer='zeros'),
    lambda: layers.FiLMConvTower(filters=(8, 8, 8)),
], ids=['resnet', 'resnet_zero_film', 'tower'])
def test_gradient_reaches_every_film_projection(make):
  layer = make()
  images, embeddings = _images(2), _embeddings(2, 3)
  layer(images, embeddings)
  kernels = _film_kernels(layer)
  assert kernels
  with tf.GradientTape() as tape:
    loss = tf.reduce_sum(tf.square(layer(images, embeddings, training=True)))
  for kernel, gradient in zip(kernels, tape.gradient(loss, kernels)):
    assert gradient is not None, kernel.name
    assert np.abs(gradient.numpy()).max() > 0, kernel.name


def test_resnet18_trains_a_few_steps():
  tf_keras.utils.set_random_seed(0)
  resnet = layers.FiLMResNet()
  head = tf_keras.layers.Dense(1)
  images, embeddings = _images(8, 32), _embeddings(8, 4)
  targets = tf.random.stateless_normal((8, 1), seed=(5, 5))
  # A small step: batch statistics of 8 examples, 11M weights.
  optimizer = tf_keras.optimizers.Adam(3e-5)
  losses = []
  for _ in range(4):
    with tf.GradientTape() as tape:
      features = resnet(images, embeddings, training=True)
      loss = tf.reduce_mean(tf.square(head(features) - targets))
    variables = resnet.trainable_variables + head.trainable_variables
    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
    losses.append(float(loss))
  assert losses[-1] < 0.3 * losses[0], losses
  # The batch norms' moving statistics moved in training.
  assert not np.allclose(resnet.final_bn.moving_mean.numpy(), 0.0)


@pytest.mark.parametrize('pooling, shape', [
    ('spatial_softmax', (3, 64)), ('mean', (3, 32)), (None, (3, 32, 32, 32))])
def test_tower_output_shapes(pooling, shape):
  tower = layers.FiLMConvTower(pooling=pooling)
  assert tower(_images(3, 64), _embeddings(3, 0)).shape == shape
  assert tower.output_size == shape[-1]


def test_tower_features_follow_the_task_embedding():
  tower = layers.FiLMConvTower()
  images = tf.concat([_images(1)] * 2, axis=0)
  two_tasks = tf.concat([_embeddings(1, 5), _embeddings(1, 6)], axis=0)
  features = tower(images, two_tasks).numpy()
  assert np.abs(features[0] - features[1]).max() > 1e-3


def test_tower_learns_a_task_dependent_target():
  tf_keras.utils.set_random_seed(0)
  # The image is the same for both tasks: only FiLM can tell them apart.
  images = tf.repeat(_images(1, 16), 8, axis=0)
  tasks = tf.tile(tf.eye(2, EMBEDDING), (4, 1))
  targets = tf.tile(tf.constant([[1.0], [-1.0]]), (4, 1))
  tower = layers.FiLMConvTower(filters=(8, 8), kernel_sizes=(3, 3),
                               strides=(2, 1))
  head = tf_keras.layers.Dense(1)
  optimizer = tf_keras.optimizers.Adam(0.02)
  losses = []
  for _ in range(15):
    with tf.GradientTape() as tape:
      loss = tf.reduce_mean(tf.square(head(tower(images, tasks)) - targets))
    variables = tower.trainable_variables + head.trainable_variables
    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
    losses.append(float(loss))
  assert losses[-1] < 0.05 * losses[0], losses


def test_film_stages_can_be_turned_off():
  resnet = layers.FiLMResNet(block_sizes=(1, 1), widths=(8, 8),
                             block_strides=(1, 1), film_stages=(False, True))
  resnet(_images(1), _embeddings(1, 0))
  assert len(_film_kernels(resnet)) == 1
  plain = layers.FiLMResNet(block_sizes=(1,), widths=(8,), block_strides=(1,),
                            film_stages=(False,))
  assert plain(_images(2)).shape == (2, 8)  # No conditioning needed.


def test_l2_regularization_adds_a_loss_per_kernel():
  tower = layers.FiLMConvTower(l2_regularization=1e-4)
  tower(_images(1), _embeddings(1, 0))
  assert len(tower.losses) == 3


@pytest.mark.parametrize('kwargs, message', [
    (dict(block_sizes=(2, 2), widths=(8, 16, 32), block_strides=(1, 2)),
     r"lengths \{'block_sizes': 2, 'widths': 3"),
    (dict(widths=(64, -1, 256, 512)), 'widths must be a non-empty sequence '
     'of positive ints'),
    (dict(kernel_size=0), 'kernel_size, conv_stride and first_pool_stride'),
    (dict(first_pool_size=-1), 'first_pool_size must be'),
    (dict(pooling='max'), 'pooling must be one of'),
    (dict(batch_norm_momentum=1.0), 'batch_norm_momentum'),
    (dict(l2_regularization=-1.0), 'l2_regularization must be >= 0'),
])
def test_resnet_rejects_bad_arguments(kwargs, message):
  with pytest.raises(ValueError, match=message):
    layers.FiLMResNet(**kwargs)


@pytest.mark.parametrize('kwargs, message', [
    (dict(filters=(8, 8), kernel_sizes=(3,), strides=(1, 1)),
     r"lengths \{'filters': 2, 'kernel_sizes': 1"),
    (dict(strides=(2, 0, 1)), 'strides must be'),
    (dict(normalization='batch'), 'normalization must be one of'),
    (dict(pooling='max'), 'pooling must be one of'),
])
def test_tower_rejects_bad_arguments(kwargs, message):
  with pytest.raises(ValueError, match=message):
    layers.FiLMConvTower(**kwargs)


@pytest.mark.parametrize('images, conditioning, message', [
    (tf.zeros((2, 16, 16, 3), tf.uint8), _embeddings(2, 0),
     'float images in \\[0, 1\\], got dtype uint8'),
    (tf.zeros((2, 16, 3)), _embeddings(2, 0), r'got shape \(2, 16, 3\)'),
    (_images(2, 16), None, 'needs a \\(batch, K\\) conditioning'),
    (_images(2, 16), tf.zeros((2, 4, 1)), 'conditioning must be'),
    (_images(2, 16), _embeddings(3, 0), '2 images but 3 conditioning rows'),
])
@pytest.mark.parametrize('make', [
    lambda: layers.FiLMResNet(block_sizes=(1,), widths=(4,),
                              block_strides=(1,)),
    layers.FiLMConvTower,
], ids=['resnet', 'tower'])
def test_calls_reject_bad_inputs(make, images, conditioning, message):
  with pytest.raises(ValueError, match=message):
    make()(images, conditioning)


def test_configs_round_trip():
  for layer in (layers.FiLMResNet(widths=(8, 16, 32, 64), pooling=None),
                layers.FiLMConvTower(filters=(4, 4), kernel_sizes=(3, 3),
                                     strides=(1, 1), pooling='mean')):
    restored = type(layer).from_config(layer.get_config())
    assert restored.get_config() == layer.get_config()
