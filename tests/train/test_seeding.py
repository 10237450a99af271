"""set_job_seed: one seed for TensorFlow, numpy and Python."""

import random

import numpy as np
import pytest
import tensorflow as tf

from t2r.train import seeding


def _draws():
  return (random.random(), float(np.random.uniform()),
          float(tf.random.uniform(())))


def test_same_seed_same_draws_everywhere():
  seeding.set_job_seed(11)
  first = _draws()
  seeding.set_job_seed(11)
  assert _draws() == first


def test_different_seeds_different_draws():
  seeding.set_job_seed(1)
  first = _draws()
  seeding.set_job_seed(2)
  assert all(a != b for a, b in zip(first, _draws()))


@pytest.mark.parametrize('seed', [-1, 2**32, 1.5, True, '3', None])
def test_invalid_seed_raises(seed):
  with pytest.raises(ValueError, match=r'seed must be an int in \[0, 2\*\*32\)'):
    seeding.set_job_seed(seed)
