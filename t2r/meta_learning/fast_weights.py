"""Fast weights: run an unmodified tf-keras model on tensors instead of weights.

MAML evaluates the base network with *adapted* weights `w - lr * grad`, which
are tensors (functions of the variables), not variables; a tf-keras layer
reads its weights from attributes (`Dense.kernel`, `Conv2D.bias`,
`LayerNormalization.gamma`, ...) that hold `tf.Variable`s. Assigning the
adapted values to the variables (or to per-task copies) would cut the
gradient path from the outer loss back to the variables, and TF2 has no
variable custom getter to intercept the reads.

`FastWeights` finds, once, every attribute of every (sub)layer of the model
that holds one of its trainable variables (directly, or in a list or tuple
attribute), and `FastWeights.substituted(tensors)` puts the given tensors in
those attributes for the duration of a `with` block (bypassing the tf-keras
attribute tracking, so the model's variable lists, checkpoints and optimizer
slots never see them), then puts the variables back, also on error. Inside
the block the layers' own `call` code computes with the tensors, so
gradients flow through them to whatever they were computed from: the
variables (second-order MAML), or nothing (`tf.stop_gradient`, first order).
Because the substitution is a Python side effect during tracing, it works
the same eagerly, in `tf.function`, in `tf.map_fn` and in `tf.vectorized_map`
(whose body is traced once).

Limitations: a layer that reads a weight other than through an attribute
(e.g. only through `self.trainable_weights[i]`, or `self.kernel.value()` on
the variable, which a tensor lacks) is not covered. Weights that no
attribute holds are detected when `FastWeights` is built and raise a
ValueError naming them. The substitution mutates the layer objects while a
block is open, so do not trace the same model in another thread meanwhile.
"""

import contextlib
from typing import Any, Iterator, List, Sequence, Tuple

import tensorflow as tf

def _is_weight_list(name: str, value: Any) -> bool:
  """A list or tuple attribute of a layer's own weights (not bookkeeping).

  tf-keras keeps every weight in private lists too (`_trainable_weights`,
  ...); substituting there would hide weights that no attribute reads.
  """
  if not isinstance(value, (list, tuple)) or not value:
    return False
  bookkeeping = name.startswith('_') and ('weight' in name or
                                          'variable' in name or
                                          'trackable' in name)
  return not bookkeeping


# (layer or module, attribute name, None or the index within a list
# attribute, variable index)
_Slot = Tuple[Any, str, Any, int]


class FastWeights:
  """The trainable weights of a built model and how to swap them for tensors.

  Example:
    >>> dense = tf_keras.layers.Dense(1)
    >>> _ = dense(tf.ones((1, 2)))
    >>> fast = FastWeights(dense)
    >>> kernel, bias = fast.read()
    >>> with fast.substituted([2.0 * kernel, bias]):
    ...   doubled = dense(tf.ones((1, 2)))

  Args:
    model: A built tf-keras layer or model (or any `tf.Module`).
    variables: The variables to substitute; defaults to
      `model.trainable_variables`.

  Raises:
    ValueError: If the model has no trainable variables, or some of them
      are not held by any layer attribute (the message names them).
  """

  def __init__(self, model: Any,
               variables: Sequence[tf.Variable] = None):
    if variables is None:
      variables = model.trainable_variables
    self._variables = list(variables)
    if not self._variables:
      raise ValueError(
          f'{type(model).__name__} has no trainable variables to adapt. '
          'Build the model first (e.g. model.build_from_specs()) and check '
          'that its layers are trainable.')
    index = {id(v): i for i, v in enumerate(self._variables)}
    slots: List[_Slot] = []
    modules = [model] + list(getattr(model, 'submodules', ()))
    seen = set()
    for module in modules:
      if id(module) in seen:
        continue
      seen.add(id(module))
      for name, value in list(vars(module).items()):
        if id(value) in index:
          slots.append((module, name, None, index[id(value)]))
        elif _is_weight_list(name, value) and any(
            id(item) in index for item in value):
          for position, item in enumerate(value):
            if id(item) in index:
              slots.append((module, name, position, index[id(item)]))
    covered = {slot[3] for slot in slots}
    missing = [v.name for i, v in enumerate(self._variables)
               if i not in covered]
    if missing:
      raise ValueError(
          f'Cannot adapt {type(model).__name__}: no layer attribute holds the '
          f'trainable variables {missing}, so they cannot be replaced by fast '
          'weights. Create each weight with self.<name> = self.add_weight(...) '
          'in its layer (as tf-keras layers do), or leave it out of the '
          'adapted variables.')
    self._slots = slots
    self._originals = {(id(m), name): vars(m)[name] for m, name, _, _ in slots}
    self._active = False

  @property
  def variables(self) -> List[tf.Variable]:
    """The substituted variables, in order."""
    return list(self._variables)

  def read(self) -> List[tf.Tensor]:
    """The variables' current values as tensors (differentiable reads)."""
    return [tf.convert_to_tensor(v) for v in self._variables]

  @contextlib.contextmanager
  def substituted(self, tensors: Sequence[Any]) -> Iterator[None]:
    """Within the block, the layers compute with `tensors` as their weights.

    Args:
      tensors: One tensor per variable (in `variables` order), each of the
        variable's shape and dtype.

    Yields:
      Nothing.

    Raises:
      ValueError: If the number, shapes or dtypes of `tensors` do not match
        the variables, or a substitution is already active (nesting).
    """
    tensors = list(tensors)
    if len(tensors) != len(self._variables):
      raise ValueError(
          f'FastWeights.substituted needs one tensor per variable: '
          f'{len(self._variables)}, got {len(tensors)}.')
    for variable, tensor in zip(self._variables, tensors):
      if not variable.shape.is_compatible_with(tensor.shape) or (
          tensor.dtype != variable.dtype.base_dtype):
        raise ValueError(
            f'Fast weight for {variable.name} must have shape '
            f'{variable.shape} and dtype {variable.dtype.base_dtype.name}, '
            f'got shape {tensor.shape} and dtype {tensor.dtype.name}.')
    if self._active:
      raise ValueError(
          'FastWeights.substituted is already active; nested substitution '
          'of the same weights is not supported. Close the outer block '
          'first.')
    self._active = True
    replaced = {}
    try:
      for module, name, position, i in self._slots:
        key = (id(module), name)
        if position is None:
          object.__setattr__(module, name, tensors[i])
        else:
          current = replaced.get(key)
          if current is None:
            current = list(self._originals[key])
            replaced[key] = current
          current[position] = tensors[i]
          object.__setattr__(module, name, current)
      yield
    finally:
      for module, name, _, _ in self._slots:
        object.__setattr__(module, name, self._originals[(id(module), name)])
      self._active = False
