"""`T2RModel`: Tensor2Robot's model contract on top of a tf-keras Model.

A T2R model declares its feature and label specs per mode and implements one
`inference_network_fn` shared by train, eval and predict, a `model_train_fn`
(the loss) and optionally a `model_eval_fn` (metrics). Being a
`tf_keras.Model`, it trains with `fit`, evaluates with `evaluate`, saves with
`tf.train.Checkpoint` and runs under tf.distribute strategies and mixed
precision without changes.

A multi-task model may also return its per-task losses, `model_train_fn`
returning `(loss, {'task_losses': [loss_a, loss_b]})`; with a
`combine_task_gradients_fn` (e.g. `research.qtopt.pcgrad.PCGrad()`) the
update then combines the tasks' gradients instead of following `loss`.
"""

import abc
import contextlib
import re
from typing import (Any, Callable, Dict, Iterator, List, Optional, Sequence,
                    Tuple, Union)

import gin
import tensorflow as tf
import tf_keras

from preprocessors.noop_preprocessor import NoOpPreprocessor
from t2r import compat
from t2r import specs
from t2r.models import optimizers
from t2r.modes import ModeKeys

TensorDict = Dict[str, tf.Tensor]
_MODEL_CHILD = 'model'
# The extras key under which model_train_fn returns its per-task losses.
TASK_LOSSES_KEY = 'task_losses'
Gradients = List[Optional[tf.Tensor]]
# (one gradient list per task, the global step) -> one gradient per variable.
CombineTaskGradientsFn = Callable[[List[Gradients], tf.Tensor], Sequence[
    Optional[tf.Tensor]]]


@gin.configurable
class T2RModel(tf_keras.Model, metaclass=abc.ABCMeta):
  """Base class of T2R models: specs, one network for all modes, a loss.

  Subclasses create their layers once in `__init__` and implement
  `get_feature_specification`, `get_label_specification`,
  `inference_network_fn` and `model_train_fn`. Train, eval and predict call
  the same `inference_network_fn`, so they share one set of weights. Tensors
  always carry a leading batch dimension whose size is unknown while tracing:
  use `tf.shape(x)[0]`, never a static batch size.

  Example (the README's; tests/models/test_readme_example.py runs it):
    >>> import numpy as np
    >>> import tensorflow as tf
    >>> import tf_keras
    >>> from t2r import models, specs
    >>>
    >>> class LinearModel(models.T2RModel):
    ...   def __init__(self, **kwargs):
    ...     super().__init__(**kwargs)
    ...     self.dense = tf_keras.layers.Dense(2)  # Layers are created once.
    ...
    ...   def get_feature_specification(self, mode):
    ...     return specs.TensorSpecStruct(
    ...         state=specs.ExtendedTensorSpec((8,), tf.float32, name='s'))
    ...
    ...   def get_label_specification(self, mode):
    ...     return specs.TensorSpecStruct(
    ...         action=specs.ExtendedTensorSpec((2,), tf.float32, name='a'))
    ...
    ...   def inference_network_fn(self, features, labels, mode, config=None,
    ...                            params=None):
    ...     return {'action': self.dense(features.state)}
    ...
    ...   def model_train_fn(self, features, labels, inference_outputs, mode,
    ...                      config=None, params=None):
    ...     return tf.reduce_mean(
    ...         tf.square(inference_outputs['action'] - labels.action))
    >>>
    >>> states = np.random.default_rng(0).random((256, 8), dtype=np.float32)
    >>> actions = states[:, :2] - states[:, 2:4]
    >>> dataset = tf.data.Dataset.from_tensor_slices(
    ...     (specs.TensorSpecStruct(state=states),
    ...      specs.TensorSpecStruct(action=actions))).batch(32)
    >>>
    >>> model = LinearModel(
    ...     create_optimizer_fn=lambda: models.create_adam_optimizer(0.05))
    >>> model.compile()
    >>> history = model.fit(dataset, epochs=20, verbose=0)
    >>> predictions = model(specs.TensorSpecStruct(state=states[:4]))['action']

  `model.compile()` without arguments uses `create_optimizer()` (Adam with
  learning rate 1e-4 unless `create_optimizer_fn` says otherwise). The input
  generators of `t2r.data` produce the same `(features, labels)` batches from
  TFRecords; calling the model runs PREDICT and returns the export outputs.

  Args:
    preprocessor_cls: The preprocessor class the input pipeline applies; it
      is built with this model's spec functions. Defaults to
      `preprocessors.NoOpPreprocessor`.
    create_optimizer_fn: A callable returning a tf-keras optimizer; defaults
      to `optimizers.create_adam_optimizer` (Adam, learning rate 1e-4).
    init_from_checkpoint_path: A checkpoint (prefix or directory) to warm
      start from; applied once, when the model is compiled.
    allow_partial_restore: Let the warm start leave weights the checkpoint
      does not hold at their initial values.
    combine_task_gradients_fn: For multi-task training: a callable
      `(task_gradients, step) -> gradients` that turns one gradient list per
      task (aligned with `trainable_variables`, None where a task does not
      reach a variable) into one gradient per variable, e.g.
      `research.qtopt.pcgrad.PCGrad()`; `step` is the global step. It needs
      `model_train_fn` to return `(loss, {'task_losses': [...]})`: each task
      loss gets its own backward pass, the replicas' per-task gradients are
      summed before combining, and the gradient of the regularization losses
      is added to the result as is. `loss` is then only logged. None (the
      default) minimizes `loss` and ignores 'task_losses'.
    **kwargs: Passed to `tf_keras.Model` (e.g. `name`, `dtype`).
  """

  def __init__(self,
               preprocessor_cls: Optional[Callable[..., Any]] = None,
               create_optimizer_fn: Optional[Callable[
                   [], tf_keras.optimizers.Optimizer]] = None,
               init_from_checkpoint_path: Optional[str] = None,
               allow_partial_restore: bool = False,
               combine_task_gradients_fn: Optional[
                   CombineTaskGradientsFn] = None,
               **kwargs):
    # Inputs keep the dtypes of the specs under a mixed precision policy: the
    # layers inside inference_network_fn cast to their compute dtype.
    kwargs.setdefault('autocast', False)
    super().__init__(**kwargs)
    if create_optimizer_fn is not None and not callable(create_optimizer_fn):
      raise TypeError(
          f'create_optimizer_fn must be a callable returning a tf-keras '
          f'optimizer, got {create_optimizer_fn!r}. Pass e.g. '
          't2r.models.create_adam_optimizer or a lambda.')
    if (combine_task_gradients_fn is not None and
        not callable(combine_task_gradients_fn)):
      raise TypeError(
          f'combine_task_gradients_fn must be a callable (task_gradients, '
          f'step) -> gradients, got {combine_task_gradients_fn!r}. Pass e.g. '
          'research.qtopt.pcgrad.PCGrad(), or None for single-loss training.')
    self._preprocessor_cls = preprocessor_cls
    self._preprocessor_instance = None
    self._create_optimizer_fn = (
        create_optimizer_fn or optimizers.create_adam_optimizer)
    self._init_from_checkpoint_path = init_from_checkpoint_path
    self._allow_partial_restore = bool(allow_partial_restore)
    self._warm_started = False
    self._combine_task_gradients_fn = combine_task_gradients_fn
    # Metric trackers stay out of checkpoints (as tf-keras' compiled metrics
    # do): they hold per-epoch running means, not model state.
    object.__setattr__(self, '_t2r_trackers', {})
    self._tracker('loss')

  # -- The contract subclasses implement ------------------------------------

  @abc.abstractmethod
  def get_feature_specification(self, mode: str) -> specs.TensorSpecStruct:
    """The features the model consumes in `mode` (without batch dimension)."""

  @abc.abstractmethod
  def get_label_specification(self, mode: str) -> specs.TensorSpecStruct:
    """The labels the model consumes in `mode` (without batch dimension)."""

  @abc.abstractmethod
  def inference_network_fn(self,
                           features: specs.TensorSpecStruct,
                           labels: Optional[specs.TensorSpecStruct],
                           mode: str,
                           config: Any = None,
                           params: Any = None) -> TensorDict:
    """Runs the network; returns a dict of output tensors.

    Called in every mode with the same layers. `labels` is None in PREDICT.
    Layers that behave differently in training (dropout, batch norm) get
    `training=(mode == ModeKeys.TRAIN)`.

    Args:
      features: Batched features packed like `get_feature_specification`.
      labels: Batched labels packed like `get_label_specification`, or None.
      mode: A `ModeKeys` value.
      config: Unused by the base class; kept for T2R signature compatibility.
      params: Unused by the base class; kept for T2R signature compatibility.

    Returns:
      A dict mapping names to tensors.
    """

  @abc.abstractmethod
  def model_train_fn(
      self,
      features: specs.TensorSpecStruct,
      labels: specs.TensorSpecStruct,
      inference_outputs: specs.TensorSpecStruct,
      mode: str,
      config: Any = None,
      params: Any = None) -> Union[tf.Tensor, Tuple[tf.Tensor, TensorDict]]:
    """Returns the scalar training loss, or (loss, dict of scalars to log).

    The dict may also hold 'task_losses': a list of scalar losses, one per
    task, or a rank-1 tensor of them (see `combine_task_gradients_fn`); it is
    not logged.
    """

  def model_eval_fn(self,
                    features: specs.TensorSpecStruct,
                    labels: specs.TensorSpecStruct,
                    inference_outputs: specs.TensorSpecStruct,
                    mode: str,
                    config: Any = None,
                    params: Any = None) -> TensorDict:
    """Returns name -> scalar per batch; `evaluate` averages over the set.

    The default reports the training loss (and its extra scalars) as 'loss'.
    """
    loss, extras = self._train_loss(features, labels, inference_outputs, mode,
                                    config, params)
    return dict(extras, loss=loss)

  def create_export_outputs_fn(self,
                               features: specs.TensorSpecStruct,
                               inference_outputs: specs.TensorSpecStruct,
                               mode: str,
                               config: Any = None,
                               params: Any = None) -> TensorDict:
    """Returns the named tensors a SavedModel serves; default: all outputs."""
    del features, mode, config, params
    return dict(inference_outputs.items())

  def add_summaries(self, features: specs.TensorSpecStruct,
                    labels: Optional[specs.TensorSpecStruct],
                    inference_outputs: specs.TensorSpecStruct, mode: str):
    """Hook to write tf.summary images/histograms; the default writes none.

    Runs in TRAIN and EVAL steps. The trainer sets the default summary writer
    and step; without one, tf.summary calls do nothing.
    """

  # -- Preprocessor and optimizer ---------------------------------------------

  @property
  def preprocessor(self) -> Any:
    """The preprocessor instance the input pipeline applies for this model."""
    if self._preprocessor_instance is None:
      preprocessor_cls = self._preprocessor_cls or NoOpPreprocessor
      self._preprocessor_instance = preprocessor_cls(
          model_feature_specification_fn=self.get_feature_specification,
          model_label_specification_fn=self.get_label_specification)
    return self._preprocessor_instance

  def create_optimizer(self) -> tf_keras.optimizers.Optimizer:
    """Returns a new optimizer from `create_optimizer_fn`."""
    optimizer = self._create_optimizer_fn()
    if not isinstance(optimizer, tf_keras.optimizers.Optimizer):
      raise TypeError(
          f'create_optimizer_fn of {type(self).__name__} returned '
          f'{type(optimizer).__name__}; expected a tf_keras.optimizers '
          'optimizer (not a tf.keras / Keras 3 one). Build it with tf_keras.')
    return optimizer

  @property
  def global_step(self) -> tf.Variable:
    """The number of training steps taken: the optimizer's `iterations`."""
    if self.optimizer is None:
      raise ValueError(
          f'{type(self).__name__} has no optimizer, so it has no global step '
          'yet. Call model.compile() first.')
    return self.optimizer.iterations

  def compile(self, optimizer: Any = None, **kwargs):
    """Configures training; the loss and metrics come from the model.

    Example:
      >>> model.compile()                          # create_optimizer()
      >>> model.compile(optimizer=tf_keras.optimizers.SGD(0.1),
      ...               steps_per_execution=10)

    Args:
      optimizer: A tf-keras optimizer; None uses `create_optimizer()`. Under
        a mixed_float16 policy tf-keras wraps it in a `LossScaleOptimizer`.
      **kwargs: Other `tf_keras.Model.compile` arguments (`run_eagerly`,
        `steps_per_execution`, `jit_compile`).

    Raises:
      ValueError: If `loss`, `metrics`, `loss_weights` or `weighted_metrics`
        is given: the model computes them in `model_train_fn` and
        `model_eval_fn`.
    """
    for key in ('loss', 'metrics', 'loss_weights', 'weighted_metrics'):
      if kwargs.get(key) is not None:
        raise ValueError(
            f'{type(self).__name__}.compile got {key}={kwargs[key]!r}, but a '
            'T2RModel computes its loss in model_train_fn and its metrics in '
            f'model_eval_fn. Remove {key}= and override those methods.')
      kwargs.pop(key, None)
    if self._init_from_checkpoint_path and not self._warm_started:
      self.init_from_checkpoint(self._init_from_checkpoint_path,
                                self._allow_partial_restore)
      self._warm_started = True
    super().compile(
        optimizer=self.create_optimizer() if optimizer is None else optimizer,
        **kwargs)

  # -- Running the network ----------------------------------------------------

  def _pack(self, kind: str, values: Any,
            mode: str) -> specs.TensorSpecStruct:
    """Validates batched 'feature' or 'label' values against the specs."""
    method = f'get_{kind}_specification'
    try:
      return specs.validate_and_flatten(
          getattr(self, method)(mode), {} if values is None else values,
          ignore_batch=True)
    except ValueError as e:
      raise ValueError(
          f'{type(self).__name__}: the {kind}s in mode {mode!r} do not match '
          f'{method}({mode!r}): {e} Feed batches laid out like the spec (the '
          'input generator of this model does).') from e

  def _run_network(self, features: Any, labels: Any, mode: str
                  ) -> Tuple[specs.TensorSpecStruct, Optional[
                      specs.TensorSpecStruct], specs.TensorSpecStruct]:
    """Validates the inputs and runs `inference_network_fn` in `mode`."""
    features = self._pack('feature', features, mode)
    if mode != ModeKeys.PREDICT or labels is not None:
      labels = self._pack('label', labels, mode)
    outputs = self.inference_network_fn(features, labels, mode)
    if not isinstance(outputs, dict):
      raise TypeError(
          f'{type(self).__name__}.inference_network_fn returned '
          f'{type(outputs).__name__} in mode {mode!r}; expected a dict of '
          "tensors, e.g. return {'action': tensor}.")
    outputs = specs.flatten_spec_structure(outputs)
    for path, value in outputs.items():
      if not tf.is_tensor(value):
        raise TypeError(
            f'{type(self).__name__}.inference_network_fn output {path!r} is '
            f'a {type(value).__name__}; expected a tensor. Return tensors '
            '(wrap constants with tf.constant).')
    return features, labels, outputs

  def _train_loss(self, features, labels, inference_outputs, mode,
                  config=None, params=None) -> Tuple[tf.Tensor, TensorDict]:
    """Calls `model_train_fn` and checks it returns a scalar loss."""
    loss, extras, _ = self._train_losses(features, labels, inference_outputs,
                                         mode, config, params)
    return loss, extras

  def _train_losses(
      self, features, labels, inference_outputs, mode, config=None,
      params=None
  ) -> Tuple[tf.Tensor, TensorDict, Optional[List[tf.Tensor]]]:
    """`_train_loss` and the checked 'task_losses' (None if not returned)."""
    result = self.model_train_fn(features, labels, inference_outputs, mode,
                                 config, params)
    extras = {}
    if isinstance(result, tuple):
      if len(result) != 2 or not isinstance(result[1], dict):
        raise TypeError(
            f'{type(self).__name__}.model_train_fn returned a tuple of '
            f'{len(result)} elements; expected a scalar loss tensor or '
            '(loss, dict of scalar tensors to log).')
      result, extras = result
      extras = dict(extras)
    loss = self._scalar(result, 'model_train_fn', 'the loss')
    task_losses = extras.pop(TASK_LOSSES_KEY, None)
    if task_losses is not None:
      task_losses = self._task_losses(task_losses)
    extras = {
        name: self._scalar(value, 'model_train_fn', f'logged value {name!r}')
        for name, value in extras.items()
    }
    return loss, extras, task_losses

  def _task_losses(self, value: Any) -> List[tf.Tensor]:
    """The 'task_losses' of `model_train_fn` as a list of scalar tensors."""
    if not isinstance(value, (list, tuple)):
      value = tf.convert_to_tensor(value)
      if value.shape.rank != 1 or value.shape[0] is None:
        raise ValueError(
            f"{type(self).__name__}.model_train_fn returned 'task_losses' of "
            f'shape {value.shape}; expected a list of scalar losses or a '
            'rank-1 tensor of a known length (one loss per task).')
      value = tf.unstack(value)
    if not value:
      raise ValueError(
          f"{type(self).__name__}.model_train_fn returned empty 'task_losses'; "
          'expected one scalar loss per task, e.g. [loss_a, loss_b].')
    return [
        self._scalar(task_loss, 'model_train_fn', f'task loss {i}')
        for i, task_loss in enumerate(value)
    ]

  def _scalar(self, value: Any, method: str, what: str) -> tf.Tensor:
    """Returns `value` as a float32 scalar tensor or raises a clear error."""
    if isinstance(value, (dict, list, tuple)) or value is None:
      raise TypeError(
          f'{type(self).__name__}.{method} returned {type(value).__name__} '
          f'for {what}; expected a scalar tensor.')
    value = tf.convert_to_tensor(value)
    if value.shape.rank != 0:
      raise ValueError(
          f'{type(self).__name__}.{method} returned {what} with shape '
          f'{value.shape}; expected a scalar. Reduce it, e.g. with '
          'tf.reduce_mean(per_example_loss).')
    return tf.cast(value, tf.float32)

  # -- Metric trackers --------------------------------------------------------

  def _tracker(self, name: str) -> tf_keras.metrics.Mean:
    """The running mean for `name`, created on first use (at trace time)."""
    trackers = self._t2r_trackers
    if name not in trackers:
      with tf.init_scope():
        trackers[name] = tf_keras.metrics.Mean(name=name)
    return trackers[name]

  def _update_trackers(self, values: TensorDict):
    for name, value in values.items():
      self._tracker(name).update_state(value)

  @property
  def metrics(self):
    """The running means tf-keras resets at each epoch and evaluation."""
    return super().metrics + list(self._t2r_trackers.values())

  def _logs(self, names) -> TensorDict:
    return {name: self._t2r_trackers[name].result() for name in names}

  # -- tf-keras plumbing ------------------------------------------------------

  @staticmethod
  def _unpack(data: Any) -> Tuple[Any, Any]:
    if isinstance(data, (tuple, list)):
      if len(data) == 2:
        return data[0], data[1]
      if len(data) == 1:
        return data[0], None
      raise ValueError(
          f'A T2RModel batch is (features, labels); got a {len(data)}-tuple. '
          'Make the dataset yield (features, labels) pairs.')
    return data, None

  def train_step(self, data: Any) -> TensorDict:
    """One training step on (features, labels); returns the running logs."""
    features, labels = self._unpack(data)
    mode = ModeKeys.TRAIN
    multi_task = self._combine_task_gradients_fn is not None
    # Per-task gradients take one backward pass per task on the same tape.
    with tf.GradientTape(persistent=multi_task) as tape:
      features, labels, outputs = self._run_network(features, labels, mode)
      loss, extras, task_losses = self._train_losses(features, labels, outputs,
                                                     mode)
      if self.losses:
        extras['regularization_loss'] = tf.cast(
            tf.add_n(self.losses), tf.float32)
        loss += extras['regularization_loss']
      # Replicas' gradients are summed: minimize the per-replica share of
      # the loss so the update is the same for any number of replicas.
      num_replicas = tf.distribute.get_strategy().num_replicas_in_sync
      replica_loss = loss / num_replicas
      if multi_task:
        replica_task_losses = self._replica_task_losses(
            task_losses, extras.get('regularization_loss'), num_replicas)
    if multi_task:
      self._apply_task_gradients(tape, *replica_task_losses)
    else:
      self.optimizer.minimize(replica_loss, self.trainable_variables,
                              tape=tape)
    self.add_summaries(features, labels, outputs, mode)
    self._update_trackers(dict(extras, loss=loss))
    logs = self._logs(['loss'] + list(extras))
    logs['learning_rate'] = _read_once_across_replicas(
        lambda: tf.cast(self.optimizer.learning_rate, tf.float32))
    return logs

  def _replica_task_losses(
      self, task_losses: Optional[List[tf.Tensor]],
      regularization_loss: Optional[tf.Tensor], num_replicas: int
  ) -> Tuple[List[tf.Tensor], List[tf.Tensor]]:
    """The per-replica (loss-scaled) task and regularization losses.

    Called inside the tape, so that their gradients can be taken.

    Args:
      task_losses: The 'task_losses' of `model_train_fn`, or None.
      regularization_loss: The sum of `self.losses`, or None.
      num_replicas: The number of replicas in sync.

    Returns:
      (task losses, [] or [regularization loss]), each divided by the number
      of replicas and scaled by a mixed precision `LossScaleOptimizer`.

    Raises:
      ValueError: If `model_train_fn` returned no 'task_losses'.
    """
    if task_losses is None:
      raise ValueError(
          f'{type(self).__name__} has a combine_task_gradients_fn, but its '
          "model_train_fn returned no 'task_losses'. Return (loss, "
          "{'task_losses': [loss_a, loss_b, ...]}) or drop "
          'combine_task_gradients_fn.')
    extra_losses = [] if regularization_loss is None else [regularization_loss]
    loss_scaled = isinstance(self.optimizer,
                             tf_keras.mixed_precision.LossScaleOptimizer)

    def replica_loss(loss):
      loss = loss / num_replicas
      return self.optimizer.get_scaled_loss(loss) if loss_scaled else loss

    return ([replica_loss(l) for l in task_losses],
            [replica_loss(l) for l in extra_losses])

  def _apply_task_gradients(self, tape: tf.GradientTape,
                            task_losses: List[tf.Tensor],
                            extra_losses: List[tf.Tensor]):
    """Applies `combine_task_gradients_fn` of the task losses' gradients.

    Args:
      tape: The persistent tape that recorded the losses.
      task_losses: Each task's per-replica (loss-scaled) loss.
      extra_losses: [] or the regularization loss, whose gradient is added to
        the combined gradient unchanged.

    Raises:
      TypeError: If `combine_task_gradients_fn` does not return one gradient
        per trainable variable.
    """
    optimizer = self.optimizer
    variables = self.trainable_variables
    loss_scaled = isinstance(optimizer,
                             tf_keras.mixed_precision.LossScaleOptimizer)

    def gradients(loss):
      grads = [
          None if g is None else tf.convert_to_tensor(g)
          for g in tape.gradient(loss, variables)
      ]
      return optimizer.get_unscaled_gradients(grads) if loss_scaled else grads

    task_gradients = [gradients(l) for l in task_losses]
    extra_gradients = [gradients(l) for l in extra_losses]
    # Combine the gradients of the whole batch (PCGrad is not linear in
    # them), then apply them without another all-reduce.
    task_gradients, extra_gradients = _sum_over_replicas(
        (task_gradients, extra_gradients))
    combined = self._combine_task_gradients_fn(task_gradients,
                                               optimizer.iterations)
    if (not isinstance(combined, (list, tuple)) or
        len(combined) != len(variables)):
      raise TypeError(
          f'combine_task_gradients_fn of {type(self).__name__} returned '
          f'{combined!r}; expected a list of {len(variables)} gradients (or '
          'None), one per trainable variable in trainable_variables order.')
    combined = list(combined)
    for extra in extra_gradients:
      combined = [
          e if g is None else g if e is None else g + e
          for g, e in zip(combined, extra)
      ]
    optimizer.apply_gradients(zip(combined, variables),
                              skip_gradients_aggregation=True)

  def test_step(self, data: Any) -> TensorDict:
    """One eval step: updates the means of `model_eval_fn`'s values."""
    features, labels = self._unpack(data)
    mode = ModeKeys.EVAL
    features, labels, outputs = self._run_network(features, labels, mode)
    metrics = self.model_eval_fn(features, labels, outputs, mode)
    if not isinstance(metrics, dict):
      raise TypeError(
          f'{type(self).__name__}.model_eval_fn returned '
          f'{type(metrics).__name__}; expected a dict name -> scalar tensor.')
    metrics = {
        name: self._scalar(value, 'model_eval_fn', f'metric {name!r}')
        for name, value in metrics.items()
    }
    self.add_summaries(features, labels, outputs, mode)
    self._update_trackers(metrics)
    return self._logs(metrics)

  def call(self, features: Any, training: bool = False) -> TensorDict:
    """Runs `inference_network_fn` in PREDICT; returns the export outputs.

    Args:
      features: Batched features laid out like
        `get_feature_specification(ModeKeys.PREDICT)`.
      training: Ignored; PREDICT never trains (kept for tf-keras).

    Returns:
      `create_export_outputs_fn`'s dict of tensors.
    """
    del training
    mode = ModeKeys.PREDICT
    features, _, outputs = self._run_network(features, None, mode)
    export_outputs = self.create_export_outputs_fn(features, outputs, mode)
    if not isinstance(export_outputs, dict):
      raise TypeError(
          f'{type(self).__name__}.create_export_outputs_fn returned '
          f'{type(export_outputs).__name__}; expected a dict of tensors.')
    return export_outputs

  # -- Moving-average weights -------------------------------------------------

  @contextlib.contextmanager
  def moving_average_weights(self) -> Iterator[bool]:
    """Within the block the model holds the optimizer's averaged weights.

    Without EMA (see `optimizers.create_adam_optimizer(use_ema=True)`) this
    does nothing and leaves the weights alone, even those not created yet.
    With EMA, a model not built yet is built first (`build_from_specs`), so
    that all its trainable variables exist to be swapped. `evaluate` and
    `predict` use it already; exporters and checkpoint-based predictors use it
    to serve the averaged weights.

    Yields:
      True if the averaged weights are in place.
    """
    if not optimizers.uses_moving_average(self.optimizer):
      yield False
      return
    if not self.built:
      # Sub-models such as a tf_keras.Sequential without an input shape have
      # no weights until called: trainable_variables would raise.
      with self.distribute_strategy.scope():
        self.build_from_specs()
    with optimizers.swapped_moving_average_weights(
        self.optimizer, self.trainable_variables) as swapped:
      yield swapped

  def evaluate(self, *args, **kwargs):
    """`tf_keras.Model.evaluate` with the moving-average weights if any."""
    with self.moving_average_weights():
      return super().evaluate(*args, **kwargs)

  def predict(self, *args, **kwargs):
    """`tf_keras.Model.predict` with the moving-average weights if any."""
    with self.moving_average_weights():
      return super().predict(*args, **kwargs)

  # -- Building and warm start ------------------------------------------------

  def build_from_specs(self):
    """Creates all weights by tracing the network on the specs (no compute).

    Traces `inference_network_fn` in TRAIN (with labels) and PREDICT with an
    unknown batch dimension, so every layer either mode uses is built.
    """
    for mode in (ModeKeys.TRAIN, ModeKeys.PREDICT):
      feature_signature = specs.make_input_signature(
          self.get_feature_specification(mode))
      if mode == ModeKeys.PREDICT:
        trace = tf.function(lambda f, m=mode: self._run_network(f, None, m)[2])
        trace.get_concrete_function(feature_signature)
      else:
        label_signature = specs.make_input_signature(
            self.get_label_specification(mode))
        trace = tf.function(lambda f, l, m=mode: self._run_network(f, l, m)[2])
        trace.get_concrete_function(feature_signature, label_signature)
    self.built = True

  def init_from_checkpoint(self, path: str,
                           allow_partial_restore: bool = False):
    """Warm starts the model's weights from a t2r checkpoint.

    Only weights are restored: the optimizer state and the global step of the
    checkpoint are not. Both checkpoints of the model itself
    (`tf.train.Checkpoint(model)` or `model.save_weights`) and of a training
    run (`tf.train.Checkpoint(model=model, optimizer=...)`) are accepted.

    Example:
      >>> model.init_from_checkpoint('/tmp/pretrained_dir')

    Args:
      path: A checkpoint prefix, or a directory (its latest checkpoint).
      allow_partial_restore: Keep the initial values of weights that the
        checkpoint lacks instead of failing. Shapes must still match.

    Raises:
      ValueError: If no checkpoint is found at `path`, a weight's shape
        differs from the checkpoint's, or (without `allow_partial_restore`)
        the checkpoint lacks some of the model's weights.
    """
    prefix = _resolve_checkpoint(path)
    if not self.built or not self.weights:
      self.build_from_specs()
    keys = [name for name, _ in tf.train.list_variables(prefix)]
    children = {
        name: child
        for name, child in compat.trackable_children(self).items()
        if child is not self.optimizer
    }
    weights = tf.train.Checkpoint(**children)
    # A training checkpoint holds the model under 'model' (beside the
    # optimizer); a checkpoint of the model alone holds its children at the
    # root.
    nested = _MODEL_CHILD not in children and any(
        key.startswith(_MODEL_CHILD + '/') for key in keys)
    root = tf.train.Checkpoint(**{_MODEL_CHILD: weights}) if nested else weights
    try:
      status = root.read(prefix)
    except (ValueError, tf.errors.InvalidArgumentError) as e:
      raise ValueError(
          f'Cannot warm start {type(self).__name__} from {prefix!r}: {e} The '
          'checkpoint was written by a model with other layer shapes; use a '
          'checkpoint of the same architecture.') from e
    if not allow_partial_restore:
      try:
        status.assert_existing_objects_matched()
      except AssertionError as e:
        # TensorFlow lists the unmatched objects with their values; name them.
        missing = sorted(re.findall(r"<tf.Variable '([^']+)'", str(e)))
        raise ValueError(
            f'Cannot warm start {type(self).__name__} from {prefix!r}: the '
            f'checkpoint lacks these weights of the model: '
            f'{missing or [str(e)]}. Pass allow_partial_restore=True to keep '
            'their initial values, or use a checkpoint of the same '
            'architecture.') from e
    # The checkpoint may hold more than weights (optimizer state): no warning.
    status.expect_partial()


def _read_once_across_replicas(read_fn: Callable[[], tf.Tensor]) -> tf.Tensor:
  """Reads a value once for all replicas, as tf-keras reads metric results.

  tf-keras sums per-replica step outputs; a value read once in cross-replica
  context is the same tensor on every replica and is reported unsummed.

  Args:
    read_fn: Returns the value.

  Returns:
    The value.
  """
  context = tf.distribute.get_replica_context()
  if (context is None or not tf.distribute.has_strategy() or
      not compat.strategy_uses_merge_call()):
    return read_fn()
  return context.merge_call(lambda _: tf.identity(read_fn()))


def _sum_over_replicas(structure: Any) -> Any:
  """Sums the tensors of `structure` over the replicas (None stays None)."""
  if not tf.distribute.has_strategy():
    return structure
  flat = tf.nest.flatten(structure)
  present = [i for i, value in enumerate(flat) if value is not None]
  summed = tf.distribute.get_replica_context().all_reduce(
      tf.distribute.ReduceOp.SUM, [flat[i] for i in present])
  for i, value in zip(present, summed):
    flat[i] = value
  return tf.nest.pack_sequence_as(structure, flat)


def _resolve_checkpoint(path: str) -> str:
  """Returns the checkpoint prefix for a prefix or a directory."""
  if tf.io.gfile.isdir(path):
    latest = tf.train.latest_checkpoint(path)
    if latest is None:
      raise ValueError(
          f'No checkpoint found in directory {path!r} (no "checkpoint" index '
          'file). Pass a checkpoint prefix such as "<dir>/ckpt-100".')
    return latest
  if not tf.io.gfile.exists(path + '.index'):
    raise ValueError(
        f'No checkpoint at {path!r}: {path}.index does not exist. Pass a '
        'checkpoint prefix (e.g. "<dir>/ckpt-100") or its directory.')
  return path
