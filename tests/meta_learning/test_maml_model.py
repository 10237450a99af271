"""MAMLModel: derived specs, meta-training on linear tasks, argument checks."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from t2r import models
from t2r.meta_learning import maml_model

from maml_test_models import (MlpModel, ScalarLinearModel, linear_task_dataset,
                              linear_tasks, meta_batch)

K, N = 5, 5


def _held_out_losses(model, seed=1, num_tasks=64):
  """Mean squared error on held-out tasks: (unadapted, adapted)."""
  x, y, _ = linear_tasks(np.random.default_rng(seed), num_tasks, K + N)
  features, labels = meta_batch(x, y, K)
  outputs = model(features)
  target = labels['meta_labels/y']
  return tuple(
      float(np.mean((outputs[f'{which}/inference_output'].numpy() - target)
                    **2)) for which in ('unadapted', 'adapted'))


@pytest.fixture(scope='module')
def trained():
  """A MAML MLP meta-trained on random linear functions (2 x 150 steps)."""
  tf_keras.utils.set_random_seed(0)
  model = maml_model.MAMLModel(
      MlpModel(32), inner_learning_rate=0.1, num_condition_samples_per_task=K,
      num_inference_samples_per_task=N,
      create_optimizer_fn=lambda: models.create_adam_optimizer(3e-3))
  model.build_from_specs()
  before = _held_out_losses(model)
  model.compile()
  history = model.fit(linear_task_dataset(0, 16, K, N), steps_per_epoch=150,
                      epochs=2, verbose=0)
  return model, before, history.history


def test_feature_specs_are_the_base_specs_per_role_and_sample():
  model = maml_model.MAMLModel(ScalarLinearModel(), num_condition_samples_per_task=3,
                               num_inference_samples_per_task=4)
  spec = model.get_feature_specification('train')
  assert {path: (s.shape.as_list(), s.name) for path, s in spec.items()} == {
      'condition/features/x': ([3, 1], 'condition/features/x'),
      'condition/labels/y': ([3, 1], 'condition/labels/y'),
      'inference/features/x': ([4, 1], 'inference/features/x'),
  }
  labels = model.get_label_specification('eval')
  assert {p: s.shape.as_list() for p, s in labels.items()} == {
      'meta_labels/y': [4, 1]}


def test_predict_specs_accept_any_number_of_samples():
  model = maml_model.MAMLModel(ScalarLinearModel(), num_condition_samples_per_task=3,
                               num_inference_samples_per_task=4)
  spec = model.get_feature_specification('infer')
  assert {s.shape.as_list()[0] for s in spec.values()} == {None}


def test_outer_loss_falls_during_meta_training(trained):
  model, (before_unadapted, before_adapted), history = trained
  assert history['loss'][1] < history['loss'][0]
  _, after_adapted = _held_out_losses(model)
  assert after_adapted < 0.5 * min(before_unadapted, before_adapted)


def test_adaptation_beats_the_unadapted_model_on_held_out_tasks(trained):
  model, _, _ = trained
  unadapted, adapted = _held_out_losses(model)
  assert adapted < 0.5 * unadapted


def test_inner_loss_falls_within_each_task(trained):
  model, _, _ = trained
  x, y, _ = linear_tasks(np.random.default_rng(2), 8, K + N)
  inner = model(meta_batch(x, y, K)[0])['inner_losses'].numpy()
  assert inner.shape == (8, 2)
  assert np.all(inner[:, 1] < inner[:, 0])


def test_vectorized_and_map_fn_tasks_give_the_same_outputs(trained):
  model, _, _ = trained
  mapped = maml_model.MAMLModel(
      model.base_model, inner_learning_rate=0.1,
      num_condition_samples_per_task=K, num_inference_samples_per_task=N,
      parallel_tasks='map_fn')
  x, y, _ = linear_tasks(np.random.default_rng(3), 4, K + N)
  features, _ = meta_batch(x, y, K)
  np.testing.assert_allclose(mapped(features)['adapted/inference_output'],
                             model(features)['adapted/inference_output'],
                             rtol=1e-5, atol=1e-6)


def test_base_weights_are_restored_after_a_call(trained):
  model, _, _ = trained
  x, y, _ = linear_tasks(np.random.default_rng(4), 2, K + N)
  model(meta_batch(x, y, K)[0])
  kernel = model.base_model.out.kernel
  assert isinstance(kernel, tf.Variable)
  assert kernel is model.base_model.out.trainable_weights[0]


def test_rejects_a_base_model_that_is_no_t2r_model():
  with pytest.raises(TypeError, match='wraps a T2RModel'):
    maml_model.MAMLModel(tf_keras.layers.Dense(1))


@pytest.mark.parametrize('kwargs, message', [
    ({'num_inner_loop_steps': 0}, 'num_inner_loop_steps'),
    ({'inner_learning_rate': -1.0}, 'inner_learning_rate'),
    ({'num_condition_samples_per_task': 0}, 'num_condition_samples_per_task'),
    ({'parallel_tasks': 'pfor'}, 'parallel_tasks'),
])
def test_rejects_invalid_arguments(kwargs, message):
  with pytest.raises(ValueError, match=message):
    maml_model.MAMLModel(ScalarLinearModel(), **kwargs)


def test_adapted_variables_selects_the_inner_loop_variables():
  model = maml_model.MAMLModel(MlpModel(4), adapted_variables='^out/',
                               num_condition_samples_per_task=K,
                               num_inference_samples_per_task=N)
  model.build_from_specs()
  adapted = {v.name for v in model.adapted_variables}
  all_names = {v.name for v in model.base_model.trainable_variables}
  assert adapted and adapted < all_names


def test_adapted_variables_matching_nothing_is_reported():
  model = maml_model.MAMLModel(MlpModel(4), adapted_variables='no_such_layer',
                               num_condition_samples_per_task=K,
                               num_inference_samples_per_task=N)
  with pytest.raises(ValueError, match='no_such_layer.*matches none'):
    model.build_from_specs()


def test_compile_warm_starts_the_base_model_from_its_checkpoint(tmp_path):
  pretrained = ScalarLinearModel(initial_weight=2.0)
  pretrained.build_from_specs()
  prefix = tf.train.Checkpoint(pretrained).write(str(tmp_path / 'ckpt'))
  model = maml_model.MAMLModel(
      ScalarLinearModel(initial_weight=0.5, init_from_checkpoint_path=prefix),
      num_condition_samples_per_task=K, num_inference_samples_per_task=N)
  model.compile()
  assert float(np.squeeze(model.base_model.dense.kernel.numpy())) == 2.0
