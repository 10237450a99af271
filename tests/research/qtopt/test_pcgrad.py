"""PCGrad: the projection, and one training step through a T2RModel."""

import itertools

import gin
import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from research.qtopt import pcgrad
from t2r import models
from t2r import specs

LEARNING_RATE = 0.1


def reference_pcgrad(task_vectors, order=None):
  """The paper's Algorithm 1 on flat numpy vectors (one row per task)."""
  task_vectors = np.asarray(task_vectors, np.float64)
  order = range(len(task_vectors)) if order is None else order
  projected = []
  for i, g in enumerate(task_vectors):
    g = g.copy()
    for j in order:
      other = task_vectors[j]
      if j != i and g @ other < 0:
        g -= (g @ other) / (other @ other) * other
    projected.append(g)
  return np.sum(projected, axis=0)


def combine(task_gradients, **kwargs):
  return [
      None if g is None else g.numpy()
      for g in pcgrad.project_conflicting_gradients(
          [[tf.constant(g, tf.float32) if g is not None else None
            for g in task] for task in task_gradients], **kwargs)
  ]


# -- The projection -----------------------------------------------------------


def test_conflicting_gradients_lose_their_component_along_each_other():
  # g0 . g1 = -1: g0 -> g0 + g1 / 2 = [0.5, 0.5], g1 -> g1 + g0 = [0, 1].
  result, = combine([[[1., 0.]], [[-1., 1.]]])
  np.testing.assert_allclose(result, [0.5, 1.5], atol=1e-6)


def test_non_conflicting_gradients_sum_unchanged():
  for g0, g1 in (([1., 0.], [1., 1.]), ([1., 0.], [0., 2.])):  # dot > 0, = 0
    result, = combine([[g0], [g1]])
    np.testing.assert_allclose(result, np.add(g0, g1), atol=1e-6)


def test_dot_products_run_over_all_variables():
  # Per variable both conflict; over the concatenation too (dot = -2).
  g0 = [[1., 0.], [-1., 1.]]
  g1 = [[-1., -1.], [1., 0.]]
  expected = reference_pcgrad([np.concatenate(g0), np.concatenate(g1)])
  np.testing.assert_allclose(np.concatenate(combine([g0, g1])), expected,
                             atol=1e-6)
  np.testing.assert_allclose(expected, [0., -5 / 3, 0., 5 / 3], atol=1e-6)


def test_per_variable_reproduces_t2r_numbers():
  # T2R's pcgrad_test: [0.5, -1.5] and [0.5, 1.5] for these gradients.
  result = combine([[[1., 0.], [-1., 1.]], [[-1., -1.], [1., 0.]]],
                   per_variable=True)
  np.testing.assert_allclose(result[0], [0.5, -1.5], atol=1e-6)
  np.testing.assert_allclose(result[1], [0.5, 1.5], atol=1e-6)


def test_none_gradients_count_as_zero_and_stay_none_if_all_none():
  result = combine([[[1., 0.], [3., 4.], None],
                    [[-1., 1.], None, None]])
  expected = reference_pcgrad([[1., 0., 3., 4.], [-1., 1., 0., 0.]])
  np.testing.assert_allclose(np.concatenate(result[:2]), expected, atol=1e-6)
  assert result[2] is None


def test_shapes_and_dtypes_are_preserved_in_a_tf_function():
  rng = np.random.default_rng(0)
  shapes = [(), (3,), (2, 3), (2, 1, 2)]
  tasks = [[rng.normal(size=s) for s in shapes] for _ in range(3)]

  @tf.function
  def run(tasks):
    return pcgrad.project_conflicting_gradients(tasks)

  result = run([[tf.constant(g, tf.float64) for g in task] for task in tasks])
  assert [r.shape for r in result] == [tf.TensorShape(s) for s in shapes]
  assert all(r.dtype == tf.float64 for r in result)
  flat = np.concatenate([np.ravel(r.numpy()) for r in result])
  expected = reference_pcgrad(
      [np.concatenate([np.ravel(g) for g in task]) for task in tasks])
  np.testing.assert_allclose(flat, expected, rtol=1e-10)


def test_a_seed_gives_a_reproducible_random_order():
  # Three tasks whose projections depend on the order.
  tasks = [[[1., 0.]], [[-1., 2.]], [[-1., -3.]]]
  vectors = [task[0] for task in tasks]
  per_order = {order: reference_pcgrad(vectors, order)
               for order in itertools.permutations(range(3))}
  results = []
  for seed in range(8):
    first, = combine(tasks, seed=seed)
    again, = combine(tasks, seed=tf.constant([seed, 0], tf.int64))
    np.testing.assert_array_equal(first, again)
    assert any(np.allclose(first, r, atol=1e-5) for r in per_order.values())
    results.append(tuple(np.round(first, 4)))
  assert len(set(results)) > 1  # The seed does change the order.
  fixed, = combine(tasks)
  np.testing.assert_allclose(fixed, per_order[(0, 1, 2)], atol=1e-5)


def test_pcgrad_draws_a_new_order_each_step():
  tasks = [[tf.constant([1., 0.])], [tf.constant([-1., 2.])],
           [tf.constant([-1., -3.])]]
  combiner = pcgrad.PCGrad(seed=1)
  by_step = [tuple(np.round(combiner(tasks, step)[0].numpy(), 4))
             for step in range(8)]
  assert by_step[0] == tuple(np.round(combiner(tasks, 0)[0].numpy(), 4))
  assert len(set(by_step)) > 1


@pytest.mark.parametrize('task_gradients, error, match', [
    ([], ValueError, 'at least one task'),
    ([[tf.ones(2)], [tf.ones(2), tf.ones(1)]], ValueError, r'\[1, 2\]'),
    (tf.ones((2, 2)), TypeError, 'one list of gradients per task'),
    ([tf.ones(2)], TypeError, r'task_gradients\[0\] is a'),
    ([[tf.ones(2)], [tf.ones(3)]], ValueError, 'variable 0 differ'),
    ([[tf.ones(2, tf.int32)]], TypeError, 'floating point'),
    ([['abc']], TypeError, 'expected a gradient tensor'),
])
def test_bad_task_gradients_raise(task_gradients, error, match):
  with pytest.raises(error, match=match):
    pcgrad.project_conflicting_gradients(task_gradients)


def test_bad_seeds_raise():
  tasks = [[tf.ones(2)], [tf.ones(2)]]
  with pytest.raises(ValueError, match=r'shape \[2\]'):
    pcgrad.project_conflicting_gradients(tasks, seed=tf.constant([1, 2, 3]))
  with pytest.raises(TypeError, match='seed'):
    pcgrad.project_conflicting_gradients(tasks, seed='0')
  with pytest.raises(TypeError, match='seed'):
    pcgrad.PCGrad(seed=1.5)


# -- Training a T2RModel ------------------------------------------------------


class TwoTaskLinear(models.T2RModel):
  """pred = x . w + b; task k: mean squared error to label y_k."""

  def __init__(self, kernel=(0.5, -0.5), bias=0.25, regularization=0.0,
               stack_task_losses=False, **kwargs):
    super().__init__(**kwargs)
    self._stack = stack_task_losses
    self.dense = tf_keras.layers.Dense(
        1,
        kernel_initializer=tf_keras.initializers.Constant(
            np.reshape(kernel, (2, 1))),
        bias_initializer=tf_keras.initializers.Constant(bias),
        kernel_regularizer=(tf_keras.regularizers.L2(regularization)
                            if regularization else None))

  def get_feature_specification(self, mode):
    return specs.TensorSpecStruct(
        x=specs.ExtendedTensorSpec((2,), tf.float32, name='x'))

  def get_label_specification(self, mode):
    return specs.TensorSpecStruct(
        y_a=specs.ExtendedTensorSpec((1,), tf.float32, name='y_a'),
        y_b=specs.ExtendedTensorSpec((1,), tf.float32, name='y_b'))

  def inference_network_fn(self, features, labels, mode, config=None,
                           params=None):
    return {'y': self.dense(features.x)}

  def model_train_fn(self, features, labels, inference_outputs, mode,
                     config=None, params=None):
    y = tf.cast(inference_outputs['y'], tf.float32)
    task_a = tf.reduce_mean(tf.square(y - labels.y_a))
    task_b = tf.reduce_mean(tf.square(y - labels.y_b))
    task_losses = [task_a, task_b]
    if self._stack:
      task_losses = tf.stack(task_losses)
    return task_a + task_b, {'task_losses': task_losses, 'task_a': task_a}


X = np.array([[1., 0.], [0., 1.], [1., 1.]], np.float32)
CONFLICTING = (np.array([[2.], [0.], [2.]], np.float32),   # wants w0 up
               np.array([[-2.], [2.], [0.]], np.float32))  # wants w0 down
AGREEING = (np.array([[2.], [0.], [2.]], np.float32),
            np.array([[3.], [1.], [4.]], np.float32))


def task_gradients(model, labels):
  """Per task, the analytic [dL/dw0, dL/dw1, dL/db] at the model's weights."""
  w = model.dense.kernel.numpy()
  b = model.dense.bias.numpy()
  residuals = [X @ w + b - y for y in labels]
  return [
      np.concatenate([2 * X.T @ r[:, 0] / len(X), [2 * r.mean()]])
      for r in residuals
  ]


def sgd():
  return models.create_sgd_optimizer(LEARNING_RATE)


def train_one_step(labels, combiner=pcgrad.PCGrad(), optimizer_fn=sgd,
                   **model_kwargs):
  model = TwoTaskLinear(
      combine_task_gradients_fn=combiner, create_optimizer_fn=optimizer_fn,
      **model_kwargs)
  model.compile()
  model.build_from_specs()
  before = np.concatenate(
      [model.dense.kernel.numpy()[:, 0], model.dense.bias.numpy()])
  gradients = task_gradients(model, labels)
  logs = model.train_on_batch(
      specs.TensorSpecStruct(x=X),
      specs.TensorSpecStruct(y_a=labels[0], y_b=labels[1]), return_dict=True)
  after = np.concatenate(
      [model.dense.kernel.numpy()[:, 0], model.dense.bias.numpy()])
  return before, after, gradients, logs, model


def test_one_step_follows_the_sum_of_the_projected_gradients():
  before, after, gradients, logs, model = train_one_step(
      CONFLICTING, stack_task_losses=True)
  assert gradients[0] @ gradients[1] < 0  # The tasks conflict.
  expected = before - LEARNING_RATE * reference_pcgrad(gradients)
  np.testing.assert_allclose(after, expected, atol=1e-6)
  plain = before - LEARNING_RATE * np.sum(gradients, axis=0)
  assert np.abs(after - plain).max() > 1e-2
  assert set(logs) == {'loss', 'task_a', 'learning_rate'}
  assert int(model.global_step.numpy()) == 1


def test_without_conflict_pcgrad_trains_like_plain_training():
  before, after, gradients, _, _ = train_one_step(AGREEING)
  assert gradients[0] @ gradients[1] > 0
  _, plain_after, _, _, _ = train_one_step(AGREEING, combiner=None)
  np.testing.assert_allclose(after, plain_after, atol=1e-6)
  np.testing.assert_allclose(
      after, before - LEARNING_RATE * np.sum(gradients, axis=0), atol=1e-6)


def test_regularization_gradient_is_added_unprojected():
  before, after, gradients, logs, _ = train_one_step(
      CONFLICTING, regularization=0.5)
  # L2(0.5) = 0.5 * sum(w^2): gradient w for the kernel, 0 for the bias.
  regularization = np.concatenate([before[:2], [0.]])
  expected = before - LEARNING_RATE * (
      reference_pcgrad(gradients) + regularization)
  np.testing.assert_allclose(after, expected, atol=1e-6)
  assert 'regularization_loss' in logs


def test_step_under_a_strategy_matches_the_reference():
  with tf.distribute.MirroredStrategy(['/cpu:0']).scope():
    before, after, gradients, _, _ = train_one_step(CONFLICTING)
  expected = before - LEARNING_RATE * reference_pcgrad(gradients)
  np.testing.assert_allclose(after, expected, atol=1e-6)


def test_a_combiner_without_task_losses_raises():

  class NoTaskLosses(TwoTaskLinear):

    def model_train_fn(self, *args, **kwargs):
      return super().model_train_fn(*args, **kwargs)[0]

  model = NoTaskLosses(combine_task_gradients_fn=pcgrad.PCGrad())
  model.compile()
  with pytest.raises(ValueError, match="returned no 'task_losses'"):
    model.train_on_batch(
        specs.TensorSpecStruct(x=X),
        specs.TensorSpecStruct(y_a=CONFLICTING[0], y_b=CONFLICTING[1]))
  with pytest.raises(TypeError, match='combine_task_gradients_fn must be'):
    TwoTaskLinear(combine_task_gradients_fn='pcgrad')


def test_step_under_mixed_precision_matches_the_reference():
  # A fixed loss scale: the default dynamic one (2**15) overflows float16 on
  # the first step and skips it, with or without PCGrad.
  tf_keras.mixed_precision.set_global_policy('mixed_float16')
  try:
    before, after, gradients, _, model = train_one_step(
        CONFLICTING,
        optimizer_fn=lambda: tf_keras.mixed_precision.LossScaleOptimizer(
            sgd(), dynamic=False, initial_scale=64.0))
  finally:
    tf_keras.mixed_precision.set_global_policy('float32')
  assert isinstance(model.optimizer,
                    tf_keras.mixed_precision.LossScaleOptimizer)
  expected = before - LEARNING_RATE * reference_pcgrad(gradients)
  np.testing.assert_allclose(after, expected, atol=2e-3)


def test_gin_binds_pcgrad_as_the_combiner():
  try:
    gin.parse_config("""
        T2RModel.combine_task_gradients_fn = @PCGrad()
        PCGrad.seed = 3
    """)
    combiner = TwoTaskLinear()._combine_task_gradients_fn  # pylint: disable=protected-access
  finally:
    gin.clear_config()
  assert isinstance(combiner, pcgrad.PCGrad)
  assert (combiner.seed, combiner.per_variable) == (3, False)
