"""PCGrad: gradient surgery for multi-task learning (Yu et al., 2020).

When one network learns several tasks (QT-Opt's grasping critic trained on
several objectives, a policy with several heads), the tasks' gradients can
point against each other: following their plain sum lets a task with a large
gradient undo the progress of the others. PCGrad ("Gradient Surgery for
Multi-Task Learning", https://arxiv.org/abs/2001.06782) removes the conflict
before summing: for each task i, for each other task j (in a random order),
if g_i . g_j < 0 then

    g_i <- g_i - (g_i . g_j) / ||g_j||^2 * g_j

where g_i is task i's gradient projected so far and g_j task j's original
gradient; the update follows the sum of the projected gradients. Gradients
that do not conflict are left unchanged, so PCGrad then equals plain
training.

`project_conflicting_gradients` is that computation on lists of tensors, and
`PCGrad` plugs it into any `T2RModel`: set it as the model's
`combine_task_gradients_fn` and return the per-task losses from
`model_train_fn` as `(loss, {'task_losses': [loss_a, loss_b]})`. The model
then takes one backward pass per task, sums each task's gradients over the
replicas, combines them with PCGrad, adds the gradient of the regularization
losses (`model.losses`) unprojected (weight decay is no task: projecting it,
or adding it once per task, would change its strength) and lets its optimizer
(any tf-keras one, with or without mixed precision or EMA) apply the result.
T2R's TF1 `PCGrad` optimizer wrapper read the task losses from a graph
collection instead and added the regularization to the total loss.

In gin (any T2RModel subclass whose `model_train_fn` returns 'task_losses';
binding `T2RModel.combine_task_gradients_fn` reaches every model):

  MyMultiTaskCritic.combine_task_gradients_fn = @PCGrad()
  PCGrad.seed = 0                  # A new order of the tasks each step.

Example:
  >>> from research.qtopt import pcgrad
  >>> combined, = pcgrad.project_conflicting_gradients(
  ...     [[tf.constant([1., 0.])], [tf.constant([-1., 1.])]])
  >>> combined.numpy()          # [0.5, 0.5] + [0., 1.]
  array([0.5, 1.5], dtype=float32)

Implementation: every projected gradient is a linear combination of the
original ones, so the projections run on the tasks' T x T Gram matrix of dot
products, and each variable's result is one weighted sum of its T gradients.
This does not depend on how many variables there are, keeps every variable's
shape, and is plain tensor math (tf.function, XLA, tf.distribute replica
context).

Where this differs from T2R's TF1 optimizer: T2R projected each variable on
its own by default (`per_variable=True` here reproduces that); the paper and
the default here project the whole gradient. T2R shuffled the task list once,
when building the graph; `PCGrad(seed=...)` draws a new order each step from
(seed, global step), so a run is reproducible and resumes with the same
orders. T2R's allowlist/denylist of variables is not carried over: a
variable that only some tasks reach needs no exclusion (None counts as zero).
"""

from typing import List, Optional, Sequence, Union

import gin
import tensorflow as tf

Gradient = Optional[Union[tf.Tensor, tf.IndexedSlices]]
# None (a fixed order), a Python int, or a shape [2] integer tensor.
Seed = Union[None, int, tf.Tensor]


def project_conflicting_gradients(
    task_gradients: Sequence[Sequence[Gradient]],
    seed: Seed = None,
    per_variable: bool = False) -> List[Optional[tf.Tensor]]:
  """Returns the sum over tasks of the PCGrad-projected task gradients.

  For each task i, for each other task j in turn, if g_i . g_j < 0 the
  component of g_i along g_j is removed: g_i -= (g_i . g_j) / ||g_j||^2 g_j,
  with g_i the gradient projected so far and g_j task j's original gradient.
  All tasks visit the others in one order: 0, 1, ..., T-1 without a seed, a
  permutation drawn with `tf.random.experimental.stateless_shuffle` from
  `seed` otherwise (the same seed gives the same order). With two tasks the
  order does not matter.

  Example:
    >>> g = project_conflicting_gradients(
    ...     [[tf.constant([1., 0.])],      # task 0: one gradient per variable
    ...      [tf.constant([-1., 1.])]])    # task 1, conflicting with task 0
    >>> # task 0 -> [0.5, 0.5], task 1 -> [0., 1.]; their sum:
    >>> g[0].numpy()
    array([0.5, 1.5], dtype=float32)

  Args:
    task_gradients: One list per task of one gradient per variable, in the
      same variable order for every task (e.g. `tape.gradient(loss_i,
      variables)`). None stands for a zero gradient (a task that does not
      reach a variable); `tf.IndexedSlices` are made dense.
    seed: None for the fixed order, or a Python int or a shape [2] integer
      tensor seeding the order (e.g. `tf.stack([seed, step])` for a new order
      each step).
    per_variable: Project each variable's gradients on their own (dot products
      over that variable only), as T2R's TF1 optimizer did by default. False
      (the paper) takes the dot products over all variables.

  Returns:
    One tensor per variable, shaped like its gradients, in the dtype of its
    gradients; None where every task's gradient is None.

  Raises:
    TypeError: If `task_gradients` is not a list of lists, a gradient is not
      a floating point tensor, or `seed` is not None, an int or a tensor.
    ValueError: If there are no tasks, the tasks have different numbers of
      gradients, a variable's gradients differ in shape or dtype, or `seed`
      has a shape other than [2].
  """
  stacked = _stack_per_variable(task_gradients)
  num_tasks = len(task_gradients)
  order = _task_order(num_tasks, seed)
  present = [v for v in stacked if v is not None]
  if not present:
    return [None] * len(stacked)
  accumulate = (tf.float64 if any(v.dtype == tf.float64 for v in present)
                else tf.float32)
  flats = [
      None if v is None else tf.reshape(tf.cast(v, accumulate), [num_tasks, -1])
      for v in stacked
  ]
  grams = [
      None if flat is None else tf.matmul(flat, flat, transpose_b=True)
      for flat in flats
  ]
  if not per_variable:
    weights = _projection_weights(
        tf.add_n([gram for gram in grams if gram is not None]), order)
  results = []
  for v, flat, gram in zip(stacked, flats, grams):
    if v is None:
      results.append(None)
      continue
    w = _projection_weights(gram, order) if per_variable else weights
    summed = tf.linalg.matvec(flat, w, transpose_a=True)
    shape = v.shape[1:]
    if not shape.is_fully_defined():
      shape = tf.shape(v)[1:]
    results.append(tf.cast(tf.reshape(summed, shape), v.dtype))
  return results


@gin.configurable
class PCGrad:
  """PCGrad as a `T2RModel.combine_task_gradients_fn`.

  Example:
    >>> model = MyMultiTaskModel(combine_task_gradients_fn=PCGrad(seed=0))

  In gin: `MyMultiTaskModel.combine_task_gradients_fn = @PCGrad()`.

  Args:
    seed: None visits the other tasks in the fixed order 0, 1, ..., T-1; an
      int draws a new order each step from (seed, global step).
    per_variable: See `project_conflicting_gradients`.
  """

  def __init__(self, seed: Optional[int] = None, per_variable: bool = False):
    if seed is not None and (isinstance(seed, bool) or
                             not isinstance(seed, int)):
      raise TypeError(f'PCGrad got seed={seed!r}; expected None or an int.')
    self.seed = seed
    self.per_variable = bool(per_variable)

  def __call__(self,
               task_gradients: Sequence[Sequence[Gradient]],
               step: Union[int, tf.Tensor] = 0) -> List[Optional[tf.Tensor]]:
    """Returns the combined gradients of one step.

    Args:
      task_gradients: As in `project_conflicting_gradients`.
      step: The global step (an int or an integer tensor), which varies the
        order of the tasks from step to step when a seed is set.

    Returns:
      One gradient per variable (see `project_conflicting_gradients`).
    """
    seed = None
    if self.seed is not None:
      seed = tf.stack([
          tf.constant(self.seed, tf.int64),
          tf.cast(tf.convert_to_tensor(step), tf.int64)
      ])
    return project_conflicting_gradients(
        task_gradients, seed=seed, per_variable=self.per_variable)

  def __repr__(self):
    return f'PCGrad(seed={self.seed!r}, per_variable={self.per_variable!r})'


def _stack_per_variable(
    task_gradients: Sequence[Sequence[Gradient]]) -> List[Optional[tf.Tensor]]:
  """Checks the input; returns per variable its [T, ...] gradients or None."""
  if (tf.is_tensor(task_gradients) or
      not isinstance(task_gradients, (list, tuple))):
    raise TypeError(
        f'task_gradients must be a list with one list of gradients per task, '
        f'got {type(task_gradients).__name__}. Pass e.g. '
        '[tape.gradient(loss, variables) for loss in task_losses].')
  if not task_gradients:
    raise ValueError(
        'task_gradients is empty; PCGrad needs at least one task (one list '
        'of gradients per task loss).')
  for i, grads in enumerate(task_gradients):
    if tf.is_tensor(grads) or not isinstance(grads, (list, tuple)):
      raise TypeError(
          f'task_gradients[{i}] is a {type(grads).__name__}; expected a list '
          'of gradients, one per variable (None where the task does not '
          'reach a variable).')
  lengths = [len(grads) for grads in task_gradients]
  if len(set(lengths)) != 1:
    raise ValueError(
        f'The tasks have different numbers of gradients: {lengths}. Every '
        'task needs one gradient (or None) per variable, in the same order, '
        'e.g. tape.gradient(task_loss, variables) with the same variables.')
  stacked = []
  for v in range(lengths[0]):
    grads = [_dense(task_gradients[i][v], i, v)
             for i in range(len(task_gradients))]
    present = [g for g in grads if g is not None]
    if not present:
      stacked.append(None)
      continue
    reference = present[0]
    for i, g in enumerate(grads):
      if g is None:
        continue
      if g.dtype != reference.dtype or not g.shape.is_compatible_with(
          reference.shape):
        raise ValueError(
            f'The gradients of variable {v} differ between tasks: task {i} '
            f'has {g.dtype.name} {g.shape}, another task '
            f'{reference.dtype.name} {reference.shape}. Take every task\'s '
            'gradients with respect to the same variables, in one order.')
    stacked.append(tf.stack(
        [tf.zeros_like(reference) if g is None else g for g in grads]))
  return stacked


def _dense(gradient: Gradient, task: int, variable: int) -> Optional[tf.Tensor]:
  if gradient is None:
    return None
  if isinstance(gradient, tf.IndexedSlices):
    gradient = tf.convert_to_tensor(gradient)
  if not tf.is_tensor(gradient):
    raise TypeError(
        f'task_gradients[{task}][{variable}] is a {type(gradient).__name__}; '
        'expected a gradient tensor, a tf.IndexedSlices or None.')
  if not gradient.dtype.is_floating:
    raise TypeError(
        f'task_gradients[{task}][{variable}] has dtype {gradient.dtype.name}; '
        'expected a floating point gradient.')
  return gradient


def _task_order(num_tasks: int, seed: Seed) -> Union[List[int], tf.Tensor]:
  """The order in which each task visits the others."""
  if seed is None:
    return list(range(num_tasks))
  if isinstance(seed, bool) or not (isinstance(seed, int) or
                                    tf.is_tensor(seed)):
    raise TypeError(
        f'seed must be None, an int or a shape [2] integer tensor, got '
        f'{seed!r}.')
  if isinstance(seed, int):
    seed = tf.constant([seed, 0], tf.int64)
  if not seed.dtype.is_integer or not seed.shape.is_compatible_with([2]):
    raise ValueError(
        f'seed must be a shape [2] integer tensor (a stateless seed), got '
        f'{seed.dtype.name} {seed.shape}; e.g. tf.stack([seed, step]).')
  return tf.random.experimental.stateless_shuffle(
      tf.range(num_tasks), seed=seed)


def _projection_weights(gram: tf.Tensor, order) -> tf.Tensor:
  """Weights w of the original gradients: sum_i g_i^PC = sum_k w_k g_k.

  Row i of `coefficients` writes task i's projected gradient in the basis of
  the original ones, so its dot product with g_j is (coefficients @ gram)[i,
  j]: the projections need only the T x T Gram matrix.

  Args:
    gram: [T, T] dot products of the original task gradients.
    order: The order (a list or a [T] tensor) of the tasks projected onto.

  Returns:
    [T] weights, the column sums of the coefficients.
  """
  num_tasks = gram.shape[0]
  coefficients = tf.eye(num_tasks, dtype=gram.dtype)
  squared_norms = tf.linalg.diag_part(gram)
  tasks = tf.range(num_tasks)
  for k in range(num_tasks):
    j = order[k]
    dots = tf.linalg.matvec(coefficients, gram[:, j])
    # Negative where task i conflicts with task j, else 0 (also for i == j:
    # a task is not projected onto itself, nor onto a zero gradient).
    scale = tf.minimum(tf.math.divide_no_nan(dots, squared_norms[j]), 0.0)
    scale = tf.where(tf.equal(tasks, j), tf.zeros_like(scale), scale)
    coefficients -= scale[:, tf.newaxis] * tf.one_hot(
        j, num_tasks, dtype=gram.dtype)[tf.newaxis, :]
  return tf.reduce_sum(coefficients, axis=0)
