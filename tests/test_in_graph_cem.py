"""t2r.cem: the in-graph CEM for a batch of states, and its two noises.

The numpy `cross_entropy_method` is tested in tests/policies/test_cem.py
(through `t2r.policies.cem`, which re-exports it), including that it and the
exported in-graph CEM choose the same action from the same noise.
"""

import numpy as np
import pytest
import tensorflow as tf

from t2r import cem
from t2r.policies import cem as policies_cem

TARGETS = np.array([[0.3, -0.6], [-0.8, 0.1], [2.0, 0.0]], np.float32)


def _quadratic_score(targets):
  """Scores candidate rows i * N + j against targets[i]."""

  def score_fn(actions):
    repeated = tf.repeat(tf.constant(targets), 64, axis=0)
    return -tf.reduce_sum(tf.square(actions - repeated), axis=-1)

  return score_fn


@pytest.mark.parametrize('noise', ['per_state', 'batch'])
def test_finds_each_state_maximum_in_the_box(noise):
  noise_fn = (cem.per_state_noise(tf.constant([0, 1, 2], tf.int64))
              if noise == 'per_state' else
              cem.batch_noise(tf.constant([5, 0], tf.int64), 3))
  actions, scores = cem.in_graph_cross_entropy_method(
      _quadratic_score(TARGETS), noise_fn, [-1, -1], [1, 1])
  assert actions.shape == (3, 2) and scores.shape == (3,)
  np.testing.assert_allclose(actions.numpy(), np.clip(TARGETS, -1, 1),
                             atol=0.1)
  np.testing.assert_allclose(
      scores.numpy(),
      -np.sum((actions.numpy() - TARGETS)**2, axis=1), rtol=1e-5)


def test_batch_noise_is_a_function_of_the_seed_and_the_round():
  first = cem.batch_noise(tf.constant([1, 2], tf.int64), 4)
  again = cem.batch_noise(tf.constant([1, 2], tf.int64), 4)
  other = cem.batch_noise(tf.constant([1, 3], tf.int64), 4)
  assert first(0, 8, 2).shape == (4, 8, 2)
  np.testing.assert_array_equal(first(1, 8, 2), again(1, 8, 2))
  assert not np.array_equal(first(0, 8, 2), first(1, 8, 2))
  assert not np.array_equal(first(0, 8, 2), other(0, 8, 2))


def test_per_state_noise_of_a_state_does_not_depend_on_the_batch():
  alone = cem.per_state_noise(tf.constant([7], tf.int64))(2, 8, 1)
  batched = cem.per_state_noise(tf.constant([3, 7], tf.int64))(2, 8, 1)
  np.testing.assert_array_equal(alone[0], batched[1])


def test_in_graph_cem_checks_its_arguments():
  noise_fn = cem.per_state_noise(tf.constant([0], tf.int64))
  with pytest.raises(ValueError, match='action_low < action_high'):
    cem.in_graph_cross_entropy_method(lambda a: a[:, 0], noise_fn, [1], [0])
  with pytest.raises(ValueError, match='must not exceed num_samples'):
    cem.in_graph_cross_entropy_method(lambda a: a[:, 0], noise_fn, [0], [1],
                                      num_samples=4, num_elites=5)


def test_the_policies_module_still_exports_the_algorithm():
  assert policies_cem.cross_entropy_method is cem.cross_entropy_method
  assert (policies_cem.in_graph_cross_entropy_method is
          cem.in_graph_cross_entropy_method)
  assert policies_cem.CEM_SEED_INPUT == 'cem_seed'
