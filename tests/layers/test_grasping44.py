"""QT-Opt's Grasping44 critic: the full network, its split and the CPU size."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from t2r import layers

ACTION_SIZE = 5


def _images(batch, size, seed=0):
  return tf.random.stateless_uniform((batch, size, size, 3), seed=(seed, 1))


def _actions(rows, seed=0):
  return tf.random.stateless_uniform((rows, ACTION_SIZE), seed=(seed, 2),
                                     minval=-1.0, maxval=1.0)


def _kernel_shapes(layer):
  return [tuple(v.shape) for v in layer.trainable_weights
          if v.name.endswith('kernel:0')]


def test_full_network_at_472_has_qtopt_shapes_and_layers():
  critic = layers.Grasping44()
  images = _images(1, 472)
  embedding = critic.state_embedding(images, training=False)
  assert embedding.shape == (1, 27, 27, 64)
  assert critic.image_tower.output_spatial_size(472, 472) == (27, 27)
  logits = critic.q_from_state_embedding(embedding, _actions(1),
                                         training=False)
  assert logits.shape == (1, 1)
  assert np.isfinite(logits.numpy()).all()
  assert _kernel_shapes(critic.image_tower) == (
      [(6, 6, 3, 64)] + [(5, 5, 64, 64)] * 6)
  # FC 256 -> FC 64, nine 3x3 convs, 27 -> pool 14 -> three 'valid' 3x3 -> 8.
  assert _kernel_shapes(critic.head) == (
      [(ACTION_SIZE, 256), (256, 64)] + [(3, 3, 64, 64)] * 9 +
      [(8 * 8 * 64, 64), (64, 64), (64, 1)])
  assert critic.count_params() == 1242945
  assert len(critic.losses) == 21  # L2 on every kernel, as in T2R.


def test_small_network_at_64():
  critic = layers.Grasping44Small()
  embedding = critic.state_embedding(_images(3, 64))
  assert embedding.shape == (3, 8, 8, 32)
  assert critic(_images(3, 64), _actions(3)).shape == (3, 1)
  assert _kernel_shapes(critic.head)[-3:] == [(2 * 2 * 32, 32), (32, 32),
                                               (32, 1)]
  assert not critic.losses  # No L2 by default at this size.


def test_tower_once_and_head_per_action_equals_the_whole_network():
  critic = layers.Grasping44Small()
  states, samples = 2, 3
  images, actions = _images(states, 64), _actions(states * samples)
  # Row i * N + j pairs state i with action j.
  whole = critic(tf.repeat(images, samples, axis=0), actions, training=False)

  @tf.function(input_signature=[tf.TensorSpec((None, 64, 64, 3)),
                                tf.TensorSpec((None, ACTION_SIZE))])
  def split(images, actions):
    embedding = critic.state_embedding(images, training=False)
    return critic.q_from_state_embedding(
        tf.repeat(embedding, samples, axis=0), actions, training=False)

  np.testing.assert_allclose(split(images, actions), whole, rtol=1e-5,
                             atol=1e-6)
  # Different actions for the same state get different scores.
  assert np.ptp(whole.numpy()[:samples]) > 0


def test_small_network_learns_from_the_action_in_a_few_steps():
  tf_keras.utils.set_random_seed(0)
  critic = layers.Grasping44Small(filters=8, action_fc_size=16,
                                  fc_sizes=(16,))
  images = tf.repeat(_images(1, 64), 16, axis=0)
  actions = _actions(16, seed=3)
  labels = tf.cast(actions[:, :1] > 0, tf.float32)  # Success iff dx > 0.
  optimizer = tf_keras.optimizers.Adam(0.03)
  losses = []
  for _ in range(8):
    with tf.GradientTape() as tape:
      logits = critic(images, actions, training=True)
      loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(
          labels=labels, logits=logits))
    gradients = tape.gradient(loss, critic.trainable_variables)
    assert all(g is not None for g in gradients)
    optimizer.apply_gradients(zip(gradients, critic.trainable_variables))
    losses.append(float(loss))
  assert losses[-1] < 0.6 * losses[0], losses


def test_head_rejects_an_embedding_too_small_for_its_valid_convolutions():
  # The full tower makes 4x4 features of 64x64 images: 2x2 after the pool,
  # too small for three 'valid' 3x3 convolutions.
  critic = layers.Grasping44()
  embedding = critic.state_embedding(_images(1, 64))
  with pytest.raises(ValueError, match=r"4x4 state embedding is too small.*"
                     r"3 3x3 'valid' convolutions.*final_padding='same'"):
    critic.q_from_state_embedding(embedding, _actions(1))
  same = layers.Grasping44(head=layers.Grasping44Head(final_padding='same'))
  assert same(_images(1, 64), _actions(1)).shape == (1, 1)


def test_head_needs_one_embedding_row_per_action():
  critic = layers.Grasping44Small()
  embedding = critic.state_embedding(_images(2, 64))
  with pytest.raises(ValueError, match='one state embedding row per action.*'
                     'Got 2 embedding rows and 6 actions'):
    critic.q_from_state_embedding(embedding, _actions(6))
  with pytest.raises(ValueError, match=r'\(rows, A\) actions'):
    critic.q_from_state_embedding(embedding, tf.zeros((2, 3, ACTION_SIZE)))


def test_tower_rejects_integer_images():
  with pytest.raises(ValueError, match='float images, got dtype uint8'):
    layers.Grasping44Small()(tf.zeros((1, 64, 64, 3), tf.uint8), _actions(1))


@pytest.mark.parametrize('make, message', [
    (lambda: layers.Grasping44ImageTower(filters=0), 'filters must be a '
     'positive int, got 0'),
    (lambda: layers.Grasping44ImageTower(num_convs=-1), 'num_convs must be a '
     'non-negative int'),
    (lambda: layers.Grasping44ImageTower(batch_norm_momentum=1.0),
     'batch_norm_momentum'),
    (lambda: layers.Grasping44Head(final_padding='full'), 'final_padding '
     'must be one of'),
    (lambda: layers.Grasping44Head(fc_sizes=(64, 0)), 'fc_sizes entries'),
    (lambda: layers.Grasping44Head(l2_regularization=-1.0),
     'l2_regularization must be >= 0'),
    (lambda: layers.Grasping44Small(filters=-8), 'filters must be a positive'),
])
def test_bad_arguments_are_rejected(make, message):
  with pytest.raises(ValueError, match=message):
    make()


def test_configs_round_trip():
  for critic in (layers.Grasping44(head=layers.Grasping44Head(
      fc_sizes=(32,), final_padding='same')),
                 layers.Grasping44Small(filters=16, fc_sizes=(8, 8))):
    restored = type(critic).from_config(critic.get_config())
    assert restored.get_config() == critic.get_config()
