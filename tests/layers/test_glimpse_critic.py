"""PlaneGlimpseCritic: Q(glimpse at the grasp pose, action)."""

import numpy as np
import pytest
import tensorflow as tf

from t2r.layers.glimpse_critic import PlaneGlimpseCritic
from t2r.layers.glimpse_critic import random_flips


def _inputs(rows=3, seed=0):
  rng = np.random.default_rng(seed)
  images = rng.uniform(size=(rows, 64, 64, 3)).astype(np.float32)
  actions = np.concatenate([
      rng.uniform((0.45, -0.1, -1.5), (0.65, 0.1, 1.5), (rows, 3)),
      rng.normal(size=(rows, 5))], axis=1).astype(np.float32)
  return tf.constant(images), tf.constant(actions)


def test_one_logit_per_action_row(camera):
  images, actions = _inputs()
  assert PlaneGlimpseCritic(*camera)(images, actions).shape == (3, 1)


def test_state_embedding_then_head_equals_the_whole_call(camera):
  critic = PlaneGlimpseCritic(*camera)
  images, actions = _inputs()
  whole = critic(images, actions).numpy()
  split = critic.q_from_state_embedding(critic.state_embedding(images),
                                        actions).numpy()
  np.testing.assert_allclose(split, whole, rtol=1e-6)


def test_the_score_depends_on_what_lies_under_the_grasp(camera):
  critic = PlaneGlimpseCritic(*camera)
  images, actions = _inputs(rows=1)
  elsewhere = actions.numpy().copy()
  elsewhere[0, :2] += (0.08, 0.08)
  here, there = critic(tf.concat([images, images], 0),
                       tf.concat([actions, elsewhere], 0)).numpy()[:, 0]
  assert here != pytest.approx(there, abs=1e-6)


def test_l2_regularization_adds_one_loss_per_kernel(camera):
  critic = PlaneGlimpseCritic(*camera, conv_filters=(8, 8), fc_sizes=(16,),
                              l2_regularization=1e-4)
  critic(*_inputs())
  # 2 convs, patch FC, vector FC, 1 hidden FC, logit.
  assert len(critic.losses) == 6


def test_random_flips_give_each_patch_one_of_its_four_symmetries():
  tf.random.set_seed(0)
  patches = np.random.default_rng(0).uniform(size=(64, 4, 4, 1))
  flipped = random_flips(tf.constant(patches, tf.float32)).numpy()
  symmetries = [lambda p: p, lambda p: p[::-1], lambda p: p[:, ::-1],
                lambda p: p[::-1, ::-1]]
  seen = set()
  for patch, out in zip(patches, flipped):
    matches = [i for i, symmetry in enumerate(symmetries)
               if np.allclose(symmetry(patch), out)]
    assert len(matches) == 1
    seen.add(matches[0])
  assert seen == {0, 1, 2, 3}


def test_flip_augmentation_acts_in_training_only(camera):
  tf.random.set_seed(0)
  critic = PlaneGlimpseCritic(*camera, flip_augmentation=True)
  images, actions = _inputs(rows=32)
  plain = critic(images, actions).numpy()
  np.testing.assert_array_equal(critic(images, actions, training=False),
                                plain)
  augmented = critic(images, actions, training=True).numpy()
  assert not np.allclose(augmented, plain, atol=1e-6)


def test_the_config_round_trips(camera):
  critic = PlaneGlimpseCritic(*camera, glimpse_size=8, conv_filters=(8, 8),
                              patch_fc_size=16, fc_sizes=(16, 8),
                              flip_augmentation=True)
  images, actions = _inputs()
  critic(images, actions)
  clone = PlaneGlimpseCritic.from_config(critic.get_config())
  clone(images, actions)
  clone.set_weights(critic.get_weights())
  np.testing.assert_allclose(clone(images, actions).numpy(),
                             critic(images, actions).numpy(), rtol=1e-6)


@pytest.mark.parametrize('kwargs, message', [
    ({'conv_filters': (8, 0)}, 'conv_filters must be positive ints'),
    ({'fc_sizes': (True,)}, 'fc_sizes must be positive ints'),
    ({'l2_regularization': -1.0}, 'l2_regularization must be >= 0'),
    ({'glimpse_size': 0}, 'size must be a positive int'),
])
def test_bad_arguments_are_clear_value_errors(camera, kwargs, message):
  with pytest.raises(ValueError, match=message):
    PlaneGlimpseCritic(*camera, **kwargs)


def test_a_non_bool_flip_augmentation_is_a_type_error(camera):
  with pytest.raises(TypeError, match='flip_augmentation must be a bool'):
    PlaneGlimpseCritic(*camera, flip_augmentation='yes')
