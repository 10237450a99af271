"""`MAMLModel`: model-agnostic meta-learning around any `T2RModel`.

Every example of a meta batch is a *task*: a condition set (K features with
their labels) and an inference set (N features; their labels are the meta
labels), laid out as in `meta_specs`. For each task the inner loop
(`MAMLInnerLoop`) takes `num_inner_loop_steps` gradient steps of the base
model's `model_train_fn` on the condition set, starting from the base
model's weights; the base `inference_network_fn` then runs on the inference
set with the adapted (fast) weights. The outer loss is the base
`model_train_fn` on the inference set with the adapted outputs, averaged
over tasks; its gradient reaches the base weights through the inner steps
(second order by default, `first_order=True` for FOMAML) and, with
`learn_inner_lr=True`, one learned inner learning rate per base variable
(Li et al.'s Meta-SGD with a scalar per variable).

How the base model runs on fast weights without being rewritten: see
`t2r.meta_learning.fast_weights`. The adapted weights are tensors; for the
duration of each base call they are put into the attributes of the base
model's tf-keras layers that hold its trainable variables (`Dense.kernel`,
...), and the variables are put back afterwards. The layers' own code runs
unchanged, and the gradient flows through those tensors to the variables.

Tasks are processed in parallel: `tf.vectorized_map` over the task dimension
(the default; ops that have no vectorized form fall back to a while loop
inside it) or `tf.map_fn` (`parallel_tasks='map_fn'`). The unadapted
outputs, which do not depend on the task, are computed for all tasks in one
batched base call.

Outputs (and export outputs), per task (tasks, N, ...):
  'unadapted/<key>'  base outputs on the inference set before adapting;
  'adapted/<key>'    after adapting on the condition set;
  'inner_losses'     (tasks, steps + 1): the condition loss before each
                     inner step and after the last.
An export of a `MAMLModel` (any export generator) therefore serves both
predictions from one SavedModel call that takes the condition data; its
PREDICT specs leave K and N unknown, so any number of condition samples
(>= 1) and inference samples works.

Limitations: base layers whose state changes in a call (batch norm moving
statistics) are not supported inside the inner loop; sequence specs are not
supported; mixed precision is not supported in the inner loop.
"""

import re
from typing import Any, List, Optional, Tuple

import gin
import tensorflow as tf
import tf_keras

from t2r import specs
from t2r.meta_learning import fast_weights as fast_weights_lib
from t2r.meta_learning import maml_inner_loop
from t2r.meta_learning import maml_preprocessor
from t2r.meta_learning import meta_specs
from t2r.models import t2r_model
from t2r.modes import ModeKeys

UNADAPTED = 'unadapted'
ADAPTED = 'adapted'
INNER_LOSSES = 'inner_losses'
_PARALLEL_TASKS = ('vectorized', 'map_fn')


def _train_loss(model: Any, features, labels, outputs, mode) -> tf.Tensor:
  """The base `model_train_fn` loss as a float32 scalar (extras dropped)."""
  result = model.model_train_fn(features, labels, outputs, mode)
  if isinstance(result, tuple):
    result = result[0]
  loss = tf.convert_to_tensor(result)
  if loss.shape.rank != 0:
    raise ValueError(
        f'{type(model).__name__}.model_train_fn returned a loss of shape '
        f'{loss.shape}; MAML needs a scalar. Reduce it, e.g. with '
        'tf.reduce_mean.')
  return tf.cast(loss, tf.float32)


def _network(model: Any, features, labels, mode) -> specs.TensorSpecStruct:
  """The base `inference_network_fn` outputs as a flat `TensorSpecStruct`."""
  outputs = model.inference_network_fn(features, labels, mode)
  if not isinstance(outputs, dict):
    raise TypeError(
        f'{type(model).__name__}.inference_network_fn returned '
        f'{type(outputs).__name__}; expected a dict of tensors.')
  return specs.flatten_spec_structure(outputs)


@gin.configurable
class MAMLModel(t2r_model.T2RModel):
  """MAML around a base `T2RModel` (see the module docstring).

  Example (sinusoid regression; `SineModel` is any `RegressionModel` with
  feature 'x' and label 'y'):
    >>> model = MAMLModel(SineModel(), num_inner_loop_steps=1,
    ...                   inner_learning_rate=0.01,
    ...                   num_condition_samples_per_task=10,
    ...                   num_inference_samples_per_task=10)
    >>> model.get_feature_specification('train')['condition/features/x'].shape
    TensorShape([10, 1])
    >>> model.compile()
    >>> model.fit(meta_dataset, steps_per_epoch=100)
    >>> model(features)['adapted/inference_output'].shape   # (tasks, 10, 1)

  Args:
    base_model: The `T2RModel` to adapt. Its layers are reused (not
      copied): the meta model trains the base model's weights, which can be
      saved and exported on their own.
    num_inner_loop_steps: Inner gradient steps per task (>= 1).
    inner_learning_rate: The inner step size (the initial value when
      learned).
    learn_inner_lr: Learn one inner learning rate per base variable in the
      outer loop.
    first_order: First-order MAML: do not differentiate through the inner
      gradients.
    num_condition_samples_per_task: K in TRAIN and EVAL (the records per
      task in the condition set).
    num_inference_samples_per_task: N in TRAIN and EVAL.
    parallel_tasks: 'vectorized' (`tf.vectorized_map`) or 'map_fn'.
    adapted_variables: A regular expression: the inner loop adapts only the
      base trainable variables whose name it matches (`re.search`), e.g.
      'head' to adapt the output layers on top of a shared image tower
      (Tensor2Robot's `var_scope`); the others keep their (outer-trained)
      values inside the inner loop. None adapts all of them.
    **kwargs: `T2RModel` arguments (`create_optimizer_fn`, ...). The
      preprocessor is always a `MAMLPreprocessor` over the base model's.

  Raises:
    TypeError: If `base_model` is not a `T2RModel`.
    ValueError: For a non-positive step or sample count, a negative or
      non-finite inner learning rate, or an unknown `parallel_tasks`.
  """

  def __init__(self,
               base_model: t2r_model.T2RModel,
               num_inner_loop_steps: int = 1,
               inner_learning_rate: float = 0.01,
               learn_inner_lr: bool = False,
               first_order: bool = False,
               num_condition_samples_per_task: int = 1,
               num_inference_samples_per_task: int = 1,
               parallel_tasks: str = 'vectorized',
               adapted_variables: Optional[str] = None,
               **kwargs):
    if not isinstance(base_model, t2r_model.T2RModel):
      raise TypeError(
          f'MAMLModel wraps a T2RModel, got {type(base_model).__name__}. '
          'Pass an instance of a T2RModel subclass as base_model.')
    if kwargs.get('preprocessor_cls') is not None:
      raise ValueError(
          'MAMLModel always uses a MAMLPreprocessor over the base model\'s '
          'preprocessor; set preprocessor_cls on the base model instead.')
    kwargs.pop('preprocessor_cls', None)
    super().__init__(**kwargs)
    try:
      inner_learning_rate = float(inner_learning_rate)
    except (TypeError, ValueError) as e:
      raise ValueError(f'inner_learning_rate must be a number, got '
                       f'{inner_learning_rate!r}.') from e
    if not 0.0 <= inner_learning_rate < float('inf'):
      raise ValueError(f'inner_learning_rate must be finite and >= 0, got '
                       f'{inner_learning_rate!r}.')
    if parallel_tasks not in _PARALLEL_TASKS:
      raise ValueError(f'parallel_tasks must be one of {_PARALLEL_TASKS}, got '
                       f'{parallel_tasks!r}.')
    self.base_model = base_model
    self._inner_loop = maml_inner_loop.MAMLInnerLoop(num_inner_loop_steps,
                                                     first_order)
    self._inner_learning_rate = inner_learning_rate
    self._learn_inner_lr = bool(learn_inner_lr)
    self._num_condition = meta_specs.check_num_samples(
        num_condition_samples_per_task, 'num_condition_samples_per_task')
    self._num_inference = meta_specs.check_num_samples(
        num_inference_samples_per_task, 'num_inference_samples_per_task')
    if self._num_condition is None or self._num_inference is None:
      raise ValueError(
          'MAMLModel needs fixed num_condition_samples_per_task and '
          'num_inference_samples_per_task for TRAIN and EVAL (PREDICT specs '
          'accept any number); got None.')
    self._parallel_tasks = parallel_tasks
    try:
      self._adapted_pattern = (None if adapted_variables is None else
                               re.compile(adapted_variables))
    except (TypeError, re.error) as e:
      raise ValueError(
          f'adapted_variables must be a regular expression string or None, '
          f'got {adapted_variables!r}: {e}') from e
    # Not tracked by tf-keras: it holds references to the base layers.
    object.__setattr__(self, '_fast_weights', None)
    object.__setattr__(self, '_maml_preprocessor', None)
    self._inner_lrs: List[tf.Variable] = []

  # -- Specs -------------------------------------------------------------------

  @property
  def num_inner_loop_steps(self) -> int:
    return self._inner_loop.num_inner_loop_steps

  @property
  def first_order(self) -> bool:
    return self._inner_loop.first_order

  def num_samples_per_task(self, mode: str) -> Tuple[Optional[int],
                                                     Optional[int]]:
    """(K, N) in `mode`: fixed in TRAIN and EVAL, None (any) in PREDICT."""
    if ModeKeys.validate(mode) == ModeKeys.PREDICT:
      return None, None
    return self._num_condition, self._num_inference

  def get_feature_specification(self, mode: str) -> specs.TensorSpecStruct:
    return meta_specs.create_maml_feature_spec(
        self.base_model.get_feature_specification(mode),
        self.base_model.get_label_specification(mode),
        *self.num_samples_per_task(mode))

  def get_label_specification(self, mode: str) -> specs.TensorSpecStruct:
    return meta_specs.create_maml_label_spec(
        self.base_model.get_label_specification(mode),
        self.num_samples_per_task(mode)[1])

  @property
  def preprocessor(self) -> maml_preprocessor.MAMLPreprocessor:
    if self._maml_preprocessor is None:
      object.__setattr__(
          self, '_maml_preprocessor',
          maml_preprocessor.MAMLPreprocessor(self.base_model.preprocessor,
                                             self.num_samples_per_task))
    return self._maml_preprocessor

  def compile(self, optimizer: Any = None, **kwargs):
    """`T2RModel.compile`; also warm starts the base model if it asks to.

    A base model built with `init_from_checkpoint_path` (e.g. a regression
    model trained on the same records) is warm started from it here, so that
    meta-training can start from a pretrained base network.

    Args:
      optimizer: As for `T2RModel.compile`.
      **kwargs: As for `T2RModel.compile`.
    """
    base = self.base_model
    path = getattr(base, '_init_from_checkpoint_path', None)
    if path and not getattr(base, '_warm_started', True):
      base.init_from_checkpoint(path,
                                getattr(base, '_allow_partial_restore', False))
      base._warm_started = True  # pylint: disable=protected-access
    super().compile(optimizer=optimizer, **kwargs)

  # -- Fast weights and inner learning rates ----------------------------------

  def _ensure_base_built(self) -> fast_weights_lib.FastWeights:
    """Builds the base model, its fast weights and the inner rates once."""
    if self._fast_weights is None:
      with tf.init_scope():
        if not self.base_model.built or not self.base_model.trainable_variables:
          self.base_model.build_from_specs()
        fast = fast_weights_lib.FastWeights(self.base_model,
                                            self._adapted_base_variables())
        if self._learn_inner_lr and not self._inner_lrs:
          self._inner_lrs = [
              self.add_weight(
                  name=f'inner_lr_{i}', shape=(), dtype=tf.float32,
                  initializer=tf_keras.initializers.Constant(
                      self._inner_learning_rate),
                  trainable=True) for i in range(len(fast.variables))
          ]
      object.__setattr__(self, '_fast_weights', fast)
    return self._fast_weights

  def _adapted_base_variables(self) -> List[tf.Variable]:
    variables = self.base_model.trainable_variables
    if self._adapted_pattern is None:
      return variables
    adapted = [v for v in variables if self._adapted_pattern.search(v.name)]
    if not adapted:
      raise ValueError(
          f'adapted_variables={self._adapted_pattern.pattern!r} matches none '
          f'of the base trainable variables {[v.name for v in variables]}. '
          'Fix the pattern, or pass None to adapt all of them.')
    return adapted

  @property
  def adapted_variables(self) -> List[tf.Variable]:
    """The base variables the inner loop adapts (after building)."""
    return self._ensure_base_built().variables

  @property
  def inner_learning_rates(self) -> List[Any]:
    """One inner learning rate per adapted base variable (after building)."""
    fast = self._ensure_base_built()
    if self._learn_inner_lr:
      return list(self._inner_lrs)
    return [self._inner_learning_rate] * len(fast.variables)

  # -- The network --------------------------------------------------------------

  def adapt(self, condition_features: Any, condition_labels: Any,
            mode: str) -> Tuple[List[tf.Tensor], tf.Tensor]:
    """Adapts the base weights to one task's condition set.

    Args:
      condition_features: The task's condition features, (K, ...) per spec,
        laid out like the base feature spec.
      condition_labels: Its labels, like the base label spec.
      mode: A `ModeKeys` value, passed to the base model.

    Returns:
      (the adapted weights, one per base trainable variable; the (steps + 1,)
      condition losses).
    """
    fast = self._ensure_base_built()
    features = specs.TensorSpecStruct(condition_features)
    labels = specs.TensorSpecStruct(condition_labels)

    def loss_fn(weights):
      with fast.substituted(weights):
        outputs = _network(self.base_model, features, labels, mode)
        return _train_loss(self.base_model, features, labels, outputs, mode)

    return self._inner_loop.adapt(loss_fn, fast.read(),
                                  self.inner_learning_rates)

  def _adapted_task_outputs(self, mode: str):
    """The per-task function: (condition f, l, inference f) -> outputs."""
    fast = self._ensure_base_built()

    def task_fn(elems):
      condition_features, condition_labels, inference_features = elems
      weights, losses = self.adapt(condition_features, condition_labels, mode)
      with fast.substituted(weights):
        outputs = _network(self.base_model,
                           specs.TensorSpecStruct(inference_features), None,
                           mode)
      return dict(outputs.items()), losses

    return task_fn

  def inference_network_fn(self, features, labels, mode, config=None,
                           params=None):
    """Runs the base network before and after adapting to each task."""
    del config, params
    self._ensure_base_built()
    features = specs.TensorSpecStruct(features)
    inference = features[meta_specs.INFERENCE_FEATURES]
    merged_inference, outer = meta_specs.merge_samples(inference)
    static_outer = tf.TensorShape(next(iter(
        specs.flatten_spec_structure(inference).values())).shape[:2])
    merged_labels = None
    if labels is not None and meta_specs.META_LABELS in labels:
      merged_labels, _ = meta_specs.merge_samples(
          labels[meta_specs.META_LABELS])
    unadapted = _network(self.base_model, merged_inference, merged_labels,
                         mode)
    condition_labels = features.get(meta_specs.CONDITION_LABELS)
    if condition_labels is None:
      raise ValueError(
          'MAMLModel needs condition labels to adapt, but the features have '
          "no 'condition/labels/...'. Feed them (the base model's labels of "
          'the condition samples).')
    elems = (dict(specs.flatten_spec_structure(
        features[meta_specs.CONDITION_FEATURES]).items()),
             dict(specs.flatten_spec_structure(condition_labels).items()),
             dict(specs.flatten_spec_structure(inference).items()))
    task_fn = self._adapted_task_outputs(mode)
    if self._parallel_tasks == 'vectorized':
      adapted, inner_losses = tf.vectorized_map(
          task_fn, elems, fallback_to_while_loop=True)
    else:
      signature = ({path: tf.TensorSpec(None, value.dtype)
                    for path, value in unadapted.items()},
                   tf.TensorSpec([self.num_inner_loop_steps + 1], tf.float32))
      adapted, inner_losses = tf.map_fn(task_fn, elems,
                                        fn_output_signature=signature)
    outputs = specs.TensorSpecStruct()
    outputs[UNADAPTED] = meta_specs.split_samples(unadapted, outer,
                                                  static_outer)
    adapted_struct = specs.TensorSpecStruct()
    for path, value in adapted.items():
      adapted_struct[path] = tf.ensure_shape(
          value, static_outer.concatenate(unadapted[path].shape[1:]))
    outputs[ADAPTED] = adapted_struct
    outputs[INNER_LOSSES] = inner_losses
    return outputs

  # -- Losses and exports -------------------------------------------------------

  def _merged_set(self, features, labels, inference_outputs, which: str):
    merged_features, _ = meta_specs.merge_samples(
        features[meta_specs.INFERENCE_FEATURES])
    merged_labels, _ = meta_specs.merge_samples(labels[meta_specs.META_LABELS])
    merged_outputs, _ = meta_specs.merge_samples(inference_outputs[which])
    return merged_features, merged_labels, merged_outputs

  def model_train_fn(self, features, labels, inference_outputs, mode,
                     config=None, params=None):
    """The base loss on the inference sets with the adapted outputs.

    Returns:
      (loss, extras): 'unadapted_loss' (the base loss before adapting),
      'inner_loss_before' and 'inner_loss_after' (the condition loss before
      the first and after the last inner step), each averaged over tasks.
    """
    del config, params
    adapted = _train_loss(self.base_model,
                          *self._merged_set(features, labels,
                                            inference_outputs, ADAPTED), mode)
    unadapted = _train_loss(self.base_model,
                            *self._merged_set(features, labels,
                                              inference_outputs, UNADAPTED),
                            mode)
    inner = inference_outputs[INNER_LOSSES]
    return adapted, {
        'unadapted_loss': tf.stop_gradient(unadapted),
        'inner_loss_before': tf.stop_gradient(tf.reduce_mean(inner[:, 0])),
        'inner_loss_after': tf.stop_gradient(tf.reduce_mean(inner[:, -1])),
    }

  def create_export_outputs_fn(self, features, inference_outputs, mode,
                               config=None, params=None):
    """The base model's export outputs, unadapted and adapted, per task."""
    del config, params
    merged_features, outer = meta_specs.merge_samples(
        features[meta_specs.INFERENCE_FEATURES])
    exported = {}
    for which in (UNADAPTED, ADAPTED):
      merged, _ = meta_specs.merge_samples(inference_outputs[which])
      base_outputs = self.base_model.create_export_outputs_fn(
          merged_features, merged, mode)
      for path, value in meta_specs.split_samples(base_outputs,
                                                  outer).items():
        exported[f'{which}/{path}'] = value
    exported[INNER_LOSSES] = inference_outputs[INNER_LOSSES]
    return exported
