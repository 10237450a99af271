"""A tiny plain tf-keras model that writes a summary, and a fit helper.

For the tests of the callbacks and evaluation, which work with any compiled
tf-keras model.
"""

import numpy as np
import tensorflow as tf
import tf_keras

from t2r.train import train_steps
import event_files


def _summarize_inputs(x):
  tf.summary.scalar('input_mean', tf.reduce_mean(x))
  return x


def model() -> tf_keras.Model:
  """A compiled Dense(1) model that summarizes 'input_mean' in each step."""
  tiny = tf_keras.Sequential([
      tf_keras.layers.Lambda(_summarize_inputs),
      tf_keras.layers.Dense(1)
  ])
  tiny.compile(optimizer='sgd', loss='mse')
  return tiny


def dataset() -> tf.data.Dataset:
  """Endless batches of two examples of 3 features and 1 target."""
  x = np.ones((2, 3), np.float32)
  return tf.data.Dataset.from_tensors((x, x[:, :1])).repeat()


def fit(tiny: tf_keras.Model, callbacks, steps_per_epoch: int,
        epochs: int) -> int:
  """Fits `tiny` on `dataset()`; returns the global step."""
  tiny.fit(dataset(), steps_per_epoch=steps_per_epoch, epochs=epochs,
           callbacks=callbacks, verbose=0)
  return train_steps.global_step(tiny)


def input_mean_steps(directory):
  """The steps of the model's summary (its tag has the layer's name scope)."""
  tags = event_files.steps_by_tag(directory)
  return [step for tag, steps in tags.items() if tag.endswith('input_mean')
          for step in steps]
