"""Restoring a checkpoint that must match the model."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from t2r.train import checkpoints


def _model(width, seed=0):
  tf_keras.utils.set_random_seed(seed)
  model = tf_keras.Sequential([tf_keras.layers.Dense(width)])
  model.build((None, 3))
  return model


def _save(model, directory):
  return tf.train.Checkpoint(model=model).save(str(directory / 'ckpt'))


def test_restore_checkpoint_restores_the_weights(tmp_path):
  saved, restored = _model(2, seed=1), _model(2, seed=2)
  path = _save(saved, tmp_path)
  checkpoints.restore_checkpoint(tf.train.Checkpoint(model=restored), path)
  for expected, actual in zip(saved.get_weights(), restored.get_weights()):
    np.testing.assert_array_equal(actual, expected)


@pytest.mark.parametrize('other_model', [
    lambda: _model(5),  # Other shapes.
    lambda: tf_keras.Sequential([tf_keras.layers.Dense(2),
                                 tf_keras.layers.Dense(1)]),  # More layers.
])
def test_restore_checkpoint_of_another_model_says_what_to_do(tmp_path,
                                                             other_model):
  path = _save(_model(2), tmp_path)
  model = other_model()
  model.build((None, 3))
  with pytest.raises(ValueError,
                     match=r'(?s)does not match the model.*Use a new '):
    checkpoints.restore_checkpoint(tf.train.Checkpoint(model=model), path)


def test_restore_checkpoint_of_deleted_files_is_not_found(tmp_path):
  with pytest.raises(tf.errors.NotFoundError):
    checkpoints.restore_checkpoint(tf.train.Checkpoint(model=_model(2)),
                                   str(tmp_path / 'ckpt-1'))
