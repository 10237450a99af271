"""The global step of a job and every-N-steps intervals."""

import pytest
import tensorflow as tf
import tf_keras

from t2r.train import train_steps


@pytest.mark.parametrize('previous, step, every_n, expected', [
    (0, 10, 10, True),
    (10, 19, 10, False),
    (19, 25, 10, True),
    (5, 5, 10, False),
    (25, 40, 10, True),
])
def test_crossed(previous, step, every_n, expected):
  assert train_steps.crossed(previous, step, every_n) == expected


def test_global_step_is_the_optimizer_iterations_as_an_int():
  model = tf_keras.Sequential([tf_keras.layers.Dense(1)])
  model.compile(optimizer='sgd', loss='mse')
  model.optimizer.iterations.assign(41)
  step = train_steps.global_step(model)
  assert step == 41 and isinstance(step, int)


def test_global_step_counts_training_steps():
  model = tf_keras.Sequential([tf_keras.layers.Dense(1)])
  model.compile(optimizer='sgd', loss='mse')
  x = tf.ones((6, 2))
  model.fit(x, x[:, :1], batch_size=2, epochs=2, verbose=0)
  assert train_steps.global_step(model) == 6
