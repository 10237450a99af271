"""`CriticModel`: Q(state, action) regressed to a target, scored for CEM."""

import abc
from typing import Any, Optional

import gin
import tensorflow as tf

from t2r import specs
from t2r.models import t2r_model
from t2r.modes import ModeKeys

Q_PREDICTED = 'q_predicted'
Q_LOGIT = 'q_logit'
LOSS_TYPES = ('mse', 'sigmoid_cross_entropy')


@gin.configurable
class CriticModel(t2r_model.T2RModel, metaclass=abc.ABCMeta):
  """A critic Q(state, action) for QT-Opt-style learning and CEM policies.

  Subclasses declare `get_state_specification` and
  `get_action_specification`; the features are `state/...` and `action/...`
  (one top-level `action` feature when the action specification is a single
  spec; see `t2r.specs.critic_layout`) and the label is one scalar target
  per example at `target_label_key` ('reward' by default, e.g. 'target_q'
  for Bellman targets computed elsewhere; `TDCriticModel` computes them in
  its train step). `q_func` returns one value per example: Q itself for
  the 'mse' loss, a logit for 'sigmoid_cross_entropy' (targets in [0, 1],
  'q_predicted' = sigmoid).

  In PREDICT with `action_batch_size` = N, a batch holds B states and B * N
  candidate actions; each state is repeated N times so that row i * N + j
  scores state i with action j, and 'q_predicted' has shape (B * N,)
  (`tf.reshape(q, [-1, N])` gives (B, N)). That is how a CEM policy scores
  a population of actions per state in one call.

  Optional hooks for the in-graph CEM: a critic whose network splits into a
  state tower (e.g. an image CNN) and a Q head may define both of

    state_embedding_fn(features, mode) -> embedding (B, ...)
    q_from_state_embedding_fn(embedding, features, mode) -> Q (rows,) or
        (rows, 1)

  `features` are preprocessed PREDICT features packed as for `q_func`
  (`features.state`, `features.action`), holding B states (not repeated) and
  B * N candidate actions. `state_embedding_fn` reads the state only and
  returns one row per state; `q_from_state_embedding_fn` gets that embedding
  repeated once per candidate, so that row i * N + j pairs state i with
  action j, and returns what `q_func` returns (Q, or its logit). The
  `CriticModel` itself never calls them; `q_func` usually composes them (as
  `research/pose_env`'s `PoseEnvContinuousMCModel` does).
  `t2r.policies.cem_export_generator.CEMExportGenerator` uses them when both
  exist: its `cem_action` signature then runs the tower once per state and
  call instead of once per candidate action and CEM iteration. Without them
  it runs the whole network every iteration.

  Example:
    >>> class GraspCritic(CriticModel):
    ...   def __init__(self, **kwargs):
    ...     super().__init__(**kwargs)
    ...     self.q = tf_keras.layers.Dense(1)
    ...   def get_state_specification(self):
    ...     return specs.TensorSpecStruct(
    ...         pose=specs.ExtendedTensorSpec((3,), tf.float32, name='pose'))
    ...   def get_action_specification(self):
    ...     return specs.TensorSpecStruct(
    ...         move=specs.ExtendedTensorSpec((2,), tf.float32, name='move'))
    ...   def q_func(self, features, mode, config=None, params=None):
    ...     return self.q(tf.concat([features.state.pose,
    ...                              features.action.move], axis=-1))
    >>> critic = GraspCritic(action_batch_size=64)

  Args:
    loss_type: 'mse' or 'sigmoid_cross_entropy'.
    target_label_key: Name (path and spec name) of the scalar target label.
    action_batch_size: Candidate actions per state in PREDICT, or None for
      one action per state.
    **kwargs: `T2RModel` arguments.
  """

  def __init__(self,
               loss_type: str = 'mse',
               target_label_key: str = 'reward',
               action_batch_size: Optional[int] = None,
               **kwargs):
    super().__init__(**kwargs)
    if loss_type not in LOSS_TYPES:
      raise ValueError(
          f'CriticModel got loss_type={loss_type!r}; expected one of '
          f'{list(LOSS_TYPES)}.')
    if action_batch_size is not None and (
        isinstance(action_batch_size, bool) or
        not isinstance(action_batch_size, int) or action_batch_size < 1):
      raise ValueError(
          f'action_batch_size must be None or a positive int, got '
          f'{action_batch_size!r}.')
    self._loss_type = loss_type
    self._target_label_key = target_label_key
    self._action_batch_size = action_batch_size

  @property
  def action_batch_size(self) -> Optional[int]:
    return self._action_batch_size

  @abc.abstractmethod
  def get_state_specification(self) -> specs.TensorSpecStruct:
    """The state (observation) specs, without batch dimension."""

  @abc.abstractmethod
  def get_action_specification(self) -> Any:
    """The action specs (a `TensorSpecStruct` or one spec), unbatched."""

  @abc.abstractmethod
  def q_func(self, features: specs.TensorSpecStruct, mode: str,
             config: Any = None, params: Any = None) -> tf.Tensor:
    """Returns Q (or its logit) of shape (batch,) or (batch, 1)."""

  def get_feature_specification(self, mode: str) -> specs.TensorSpecStruct:
    feature_spec = specs.TensorSpecStruct()
    feature_spec.state = self.get_state_specification()
    feature_spec.action = self.get_action_specification()
    return feature_spec

  def get_label_specification(self, mode: str) -> specs.TensorSpecStruct:
    return specs.TensorSpecStruct({
        self._target_label_key:
            specs.ExtendedTensorSpec((), tf.float32,
                                     name=self._target_label_key)
    })

  def _tile_states(self, features: specs.TensorSpecStruct
                  ) -> specs.TensorSpecStruct:
    """Repeats every state feature once per candidate action.

    The layout is `t2r.specs.critic_layout`'s: row i * N + j pairs state i
    with action j, the action features being 'action' or 'action/...'.
    """
    repeats = self._action_batch_size
    action_paths = [p for p in features.keys() if specs.is_action_path(p)]
    state = {p: v for p, v in features.items() if p not in action_paths}
    if not state or not action_paths:
      return features
    state_path, action_path = next(iter(state)), action_paths[0]
    states, actions = state[state_path], features[action_path]
    message = (f'{type(self).__name__} in PREDICT with action_batch_size='
               f'{repeats} needs {repeats} actions per state: feed '
               f'{action_path!r} with batch size = batch size of '
               f'{state_path!r} * {repeats}.')
    state_rows, action_rows = states.shape[0], actions.shape[0]
    if (state_rows is not None and action_rows is not None and
        action_rows != state_rows * repeats):
      raise ValueError(f'{message} Got {state_rows} states and {action_rows} '
                       'actions.')
    check = tf.debugging.assert_equal(
        tf.shape(actions)[0], tf.shape(states)[0] * repeats, message=message)
    tiled = specs.TensorSpecStruct(features)
    with tf.control_dependencies([check]):
      tiled.update(specs.tile_state(state, repeats))
    return tiled

  def inference_network_fn(self, features, labels, mode, config=None,
                           params=None):
    if mode == ModeKeys.PREDICT and self._action_batch_size is not None:
      features = self._tile_states(features)
    q = tf.cast(self.q_func(features, mode, config, params), tf.float32)
    if q.shape.rank == 2 and q.shape[-1] == 1:
      q = tf.squeeze(q, axis=-1)
    if q.shape.rank != 1:
      raise ValueError(
          f'{type(self).__name__}.q_func returned shape {q.shape}; expected '
          '(batch,) or (batch, 1): one Q value per (state, action).')
    if self._loss_type == 'sigmoid_cross_entropy':
      return {Q_PREDICTED: tf.sigmoid(q), Q_LOGIT: q}
    return {Q_PREDICTED: q}

  def model_train_fn(self, features, labels, inference_outputs, mode,
                     config=None, params=None):
    return self.critic_loss(labels[self._target_label_key], inference_outputs)

  def critic_loss(self, target: tf.Tensor,
                  inference_outputs: specs.TensorSpecStruct) -> tf.Tensor:
    """The mean `loss_type` loss of the predicted Q against `target`.

    `model_train_fn` applies it to the target label; `TDCriticModel` to its
    Bellman targets.

    Example:
      >>> loss = critic.critic_loss(labels.reward, inference_outputs)

    Args:
      target: One target per example, shape (batch,).
      inference_outputs: `inference_network_fn`'s outputs.

    Returns:
      The scalar loss: mean squared error to Q ('mse'), or the sigmoid cross
      entropy of the Q logit ('sigmoid_cross_entropy', targets in [0, 1]).
    """
    target = tf.cast(target, tf.float32)
    if self._loss_type == 'sigmoid_cross_entropy':
      losses = tf.nn.sigmoid_cross_entropy_with_logits(
          labels=target, logits=inference_outputs[Q_LOGIT])
    else:
      losses = tf.square(inference_outputs[Q_PREDICTED] - target)
    return tf.reduce_mean(losses)

  def create_export_outputs_fn(self, features, inference_outputs, mode,
                               config=None, params=None):
    return {Q_PREDICTED: inference_outputs[Q_PREDICTED]}
