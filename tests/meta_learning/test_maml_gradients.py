"""Gradients through the MAML inner loop against a hand-computed case.

Base model y = w * x, squared loss. With A = mean(x_c^2), B = mean(x_c y_c)
on the condition set and C = mean(x_q^2), D = mean(x_q y_q) on the inference
set, one inner step is w' = w - 2 lr (w A - B), and the outer loss
L(w') = mean((w' x_q - y_q)^2) has
  second order: dL/dw  = 2 (w' C - D) (1 - 2 lr A)
  first order:  dL/dw  = 2 (w' C - D)
  learned lr:   dL/dlr = 2 (w' C - D) (-2 (w A - B)).
"""

import numpy as np
import pytest
import tensorflow as tf

from t2r.meta_learning import maml_inner_loop
from t2r.meta_learning import maml_model

from maml_test_models import ScalarLinearModel, meta_batch

W0 = 0.5
LR = 0.1
K = 3


def _task():
  x = np.array([[[1.0], [2.0], [-1.0], [0.5], [1.5]]], np.float32)
  y = np.array([[[2.0], [3.0], [-2.5], [1.0], [2.0]]], np.float32)
  return x, y


def _closed_form():
  x, y = _task()
  xc, yc, xq, yq = x[0, :K, 0], y[0, :K, 0], x[0, K:, 0], y[0, K:, 0]
  a, b = np.mean(xc**2), np.mean(xc * yc)
  c, d = np.mean(xq**2), np.mean(xq * yq)
  w1 = W0 - 2 * LR * (W0 * a - b)
  outer = 2 * (w1 * c - d)
  return {
      'adapted_weight': w1,
      'second_order': outer * (1 - 2 * LR * a),
      'first_order': outer,
      'lr': outer * (-2 * (W0 * a - b)),
      'prediction': w1 * xq,
  }


def _outer_gradients(parallel_tasks='vectorized', **kwargs):
  model = maml_model.MAMLModel(
      ScalarLinearModel(W0), inner_learning_rate=LR,
      num_condition_samples_per_task=K, num_inference_samples_per_task=2,
      parallel_tasks=parallel_tasks, **kwargs)
  features, labels = meta_batch(*_task(), K)
  model.build_from_specs()
  with tf.GradientTape() as tape:
    outputs = model.inference_network_fn(features, labels, 'train')
    loss, _ = model.model_train_fn(features, labels, outputs, 'train')
  variables = model.trainable_variables
  gradients = tape.gradient(loss, variables)
  return model, outputs, {v.name: g.numpy() for v, g in zip(variables,
                                                             gradients)}


def _kernel_gradient(gradients):
  (name,) = [n for n in gradients if 'kernel' in n]
  return float(np.squeeze(gradients[name]))


def test_one_inner_step_gives_the_closed_form_adapted_prediction():
  _, outputs, _ = _outer_gradients()
  np.testing.assert_allclose(
      outputs['adapted/inference_output'].numpy()[0, :, 0],
      _closed_form()['prediction'], rtol=1e-5)


@pytest.mark.parametrize('parallel_tasks', ['vectorized', 'map_fn'])
def test_second_order_gradient_matches_the_closed_form(parallel_tasks):
  _, _, gradients = _outer_gradients(parallel_tasks)
  assert _kernel_gradient(gradients) == pytest.approx(
      _closed_form()['second_order'], rel=1e-5)


def test_first_order_gradient_matches_the_closed_form():
  _, _, gradients = _outer_gradients(first_order=True)
  assert _kernel_gradient(gradients) == pytest.approx(
      _closed_form()['first_order'], rel=1e-5)


def test_first_and_second_order_differ_when_the_inner_hessian_is_nonzero():
  expected = _closed_form()
  assert abs(expected['second_order'] - expected['first_order']) > 0.1
  _, _, second = _outer_gradients()
  _, _, first = _outer_gradients(first_order=True)
  assert _kernel_gradient(second) != pytest.approx(_kernel_gradient(first),
                                                   rel=1e-2)


def test_learned_inner_learning_rate_gets_the_closed_form_gradient():
  model, _, gradients = _outer_gradients(learn_inner_lr=True)
  (lr_name,) = [n for n in gradients if 'inner_lr' in n]
  assert len(model.inner_learning_rates) == 1
  assert float(gradients[lr_name]) == pytest.approx(_closed_form()['lr'],
                                                    rel=1e-5)


def test_inner_loop_takes_the_given_number_of_steps_on_a_quadratic():
  # loss = (w - 3)^2, lr 0.25: every step halves the distance to 3.
  loop = maml_inner_loop.MAMLInnerLoop(num_inner_loop_steps=3)
  weights, losses = loop.adapt(
      lambda ws: tf.reduce_sum(tf.square(ws[0] - 3.0)), [tf.constant([1.0])],
      [0.25])
  np.testing.assert_allclose(weights[0].numpy(), [2.75])
  np.testing.assert_allclose(losses.numpy(), [4.0, 1.0, 0.25, 0.0625])


def test_inner_loop_rejects_mismatched_learning_rates():
  loop = maml_inner_loop.MAMLInnerLoop()
  with pytest.raises(ValueError, match='one learning rate per weight'):
    loop.adapt(lambda ws: tf.reduce_sum(ws[0]), [tf.constant(1.0)],
               [0.1, 0.2])
