"""init_from_checkpoint: warm start the weights of one model from another's."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from t2r import specs


@pytest.fixture
def trained(linear_model_cls, linear_dataset, fast_adam):
  """A model trained for a few steps (so its weights are not initial)."""
  model = linear_model_cls(create_optimizer_fn=fast_adam())
  model.compile()
  model.fit(linear_dataset.take(3), epochs=1, verbose=0)
  return model


def _kernel(model):
  return model.dense.kernel.numpy()


def test_restores_weights_from_a_training_checkpoint(linear_model_cls,
                                                     trained, tmp_path):
  # The layout train_eval_model writes: the model and its optimizer.
  manager = tf.train.CheckpointManager(
      tf.train.Checkpoint(model=trained, optimizer=trained.optimizer),
      str(tmp_path), max_to_keep=1)
  manager.save()
  model = linear_model_cls()
  model.init_from_checkpoint(str(tmp_path))  # A directory: its latest.
  np.testing.assert_array_equal(_kernel(model), _kernel(trained))


def test_restores_weights_saved_by_the_model_itself(linear_model_cls, trained,
                                                    tmp_path):
  trained.save_weights(str(tmp_path / 'weights'))
  model = linear_model_cls()
  model.init_from_checkpoint(str(tmp_path / 'weights'))
  np.testing.assert_array_equal(_kernel(model), _kernel(trained))
  np.testing.assert_array_equal(model.dense.bias.numpy(),
                                trained.dense.bias.numpy())


def test_warm_start_restores_weights_but_not_the_global_step(
    linear_model_cls, trained, tmp_path):
  path = tf.train.Checkpoint(model=trained, optimizer=trained.optimizer).write(
      str(tmp_path / 'ckpt'))
  model = linear_model_cls(init_from_checkpoint_path=path)
  model.compile()
  model.optimizer.build(model.trainable_variables)
  np.testing.assert_array_equal(_kernel(model), _kernel(trained))
  assert trained.global_step.numpy() == 3
  assert model.global_step.numpy() == 0


def test_constructor_path_is_applied_once_at_compile(linear_model_cls, trained,
                                                     tmp_path):
  path = tf.train.Checkpoint(model=trained).write(str(tmp_path / 'ckpt'))
  model = linear_model_cls(init_from_checkpoint_path=path)
  assert not model.weights
  model.compile()
  model.dense.kernel.assign(tf.zeros_like(model.dense.kernel))
  model.compile()
  assert not _kernel(model).any()


@pytest.fixture
def deeper_model_cls(linear_model_cls):
  """LinearModel with one more layer, which the linear checkpoint lacks."""

  class Deeper(linear_model_cls):

    def __init__(self, **kwargs):
      super().__init__(**kwargs)
      self.extra = tf_keras.layers.Dense(2)

    def inference_network_fn(self, features, labels, mode, config=None,
                             params=None):
      return {'action': self.extra(self.dense(features.state))}

  return Deeper


def test_missing_weights_fail_clearly(deeper_model_cls, trained, tmp_path):
  path = tf.train.Checkpoint(model=trained).write(str(tmp_path / 'ckpt'))
  with pytest.raises(ValueError, match=r"lacks these weights of the model: "
                     r"\['dense_\d+/bias:0', 'dense_\d+/kernel:0'\]. Pass "
                     'allow_partial_restore=True'):
    deeper_model_cls().init_from_checkpoint(path)


def test_partial_restore_keeps_initial_values_of_missing_weights(
    deeper_model_cls, trained, tmp_path):
  path = tf.train.Checkpoint(model=trained).write(str(tmp_path / 'ckpt'))
  model = deeper_model_cls(init_from_checkpoint_path=path,
                           allow_partial_restore=True)
  model.build_from_specs()
  initial_extra = model.extra.kernel.numpy()
  model.compile()
  np.testing.assert_array_equal(_kernel(model), _kernel(trained))
  np.testing.assert_array_equal(model.extra.kernel.numpy(), initial_extra)


def test_shape_mismatch_fails_clearly_even_when_partial(linear_model_cls,
                                                        trained, tmp_path):

  class Wider(linear_model_cls):

    def __init__(self, **kwargs):
      super().__init__(**kwargs)
      self.dense = tf_keras.layers.Dense(3)

    def get_label_specification(self, mode):
      spec = super().get_label_specification(mode)
      spec.action = specs.ExtendedTensorSpec((3,), tf.float32, name='a')
      return spec

  path = tf.train.Checkpoint(model=trained).write(str(tmp_path / 'ckpt'))
  with pytest.raises(ValueError, match='other layer shapes'):
    Wider().init_from_checkpoint(path, allow_partial_restore=True)


@pytest.mark.parametrize('name', ['missing_ckpt', 'empty_dir'])
def test_missing_checkpoint_fails_clearly(linear_model_cls, tmp_path, name):
  (tmp_path / 'empty_dir').mkdir()
  with pytest.raises(ValueError, match='[Nn]o checkpoint'):
    linear_model_cls().init_from_checkpoint(str(tmp_path / name))


def test_restored_model_predicts_like_the_original(linear_model_cls, trained,
                                                   linear_data, tmp_path):
  path = tf.train.Checkpoint(model=trained).write(str(tmp_path / 'ckpt'))
  model = linear_model_cls()
  model.init_from_checkpoint(path)
  features, _ = linear_data
  np.testing.assert_allclose(
      model(features)['action'], trained(features)['action'], rtol=1e-6)
