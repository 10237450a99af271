"""`TDCriticModel`: a critic trained on Bellman targets of a target network.

QT-Opt's learning rule inside the train step, with no separate Bellman
updater: for a transition (s, a, r, done, s'),

  target = r + gamma * (1 - done) * max_a' Q_target(s', a')

where the max is found by the in-graph cross-entropy method
(`t2r.cem.in_graph_cross_entropy_method`, the loop the exported
`cem_action` signature runs) over the target network, a lagged copy of the
Q-network's weights kept inside the model (`TargetNetworkUpdate`: a hard copy
every K steps or Polyak averaging). The target network's variables are the
model's own, so checkpoints hold them and a resumed job continues with the
same target.

The record layout is `t2r.specs.critic_layout`'s: features 'state/...',
'action[/...]' and 'next_state/...' (the state specs named 'next_' + name),
labels 'reward' and 'done' (float32 scalars). PREDICT (export, CEM policies)
needs only 'state/...' and 'action'. Monte-Carlo returns and one-step bandit
labels stay with `CriticModel`; TD learning is opt-in by subclassing this.

Example:
  >>> class ChainCritic(TDCriticModel):
  ...   def get_state_specification(self):
  ...     return specs.TensorSpecStruct(
  ...         position=specs.ExtendedTensorSpec((5,), tf.float32,
  ...                                           name='position'))
  ...   def get_action_specification(self):
  ...     return specs.ExtendedTensorSpec((1,), tf.float32, name='action')
  ...   def create_q_network(self):
  ...     return ChainQNetwork()    # a tf_keras layer: features -> Q
  >>> critic = ChainCritic(gamma=0.9, target_update_period=100,
  ...                      target_update_tau=1.0)
  >>> critic.compile()
  >>> critic.fit(transitions, epochs=10)   # ({'state/position', 'action',
  ...                                      #   'next_state/position'},
  ...                                      #  {'reward', 'done'}) batches
"""

import abc
import math
from typing import Any, Optional, Tuple

import gin
import numpy as np
import tensorflow as tf
import tf_keras

from t2r import cem
from t2r import specs
from t2r.specs import critic_layout
from t2r.models import critic_model
from t2r.models import target_network
from t2r.modes import ModeKeys

_WHO = 'TDCriticModel'
TD_TARGET = 'td_target'


def bellman_targets(reward: tf.Tensor, done: tf.Tensor, next_q: tf.Tensor,
                    gamma: float) -> tf.Tensor:
  """r + gamma * (1 - done) * next_q, with no gradient through next_q.

  Example:
    >>> bellman_targets(tf.constant([1., 0.]), tf.constant([1., 0.]),
    ...                 tf.constant([5., 2.]), 0.9).numpy()
    array([1. , 1.8], dtype=float32)

  Args:
    reward: The rewards, shape (batch,).
    done: 1.0 where the episode ended with the transition (the target is
      then the reward alone), else 0.0; shape (batch,).
    next_q: max_a' Q_target(s', a'), shape (batch,).
    gamma: The discount in [0, 1].

  Returns:
    The float32 targets, shape (batch,).
  """
  reward = tf.cast(reward, tf.float32)
  done = tf.cast(done, tf.float32)
  next_q = tf.stop_gradient(tf.cast(next_q, tf.float32))
  return reward + gamma * (1.0 - done) * next_q


def _is_split(network: Any) -> bool:
  """Whether a Q-network offers the tower/head split (see TDCriticModel)."""
  return all(callable(getattr(network, name, None))
             for name in ('state_embedding', 'q_from_state_embedding'))


def _check_gamma(gamma: Any) -> float:
  if (isinstance(gamma, bool) or not isinstance(gamma, (int, float)) or
      not math.isfinite(gamma) or not 0.0 <= gamma <= 1.0):
    raise ValueError(
        f'{_WHO} got gamma={gamma!r}; expected a discount in [0, 1] (e.g. '
        '0.9; 0 trains on the reward alone).')
  return float(gamma)


def _check_seed(seed: Any) -> int:
  if seed is None:
    # The numpy global generator, which a job's seed (set_job_seed) seeds.
    return int(np.random.randint(0, 2**31 - 1))
  if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or (
      not 0 <= seed < 2**63):
    raise ValueError(f'{_WHO} got cem_seed={seed!r}; expected None or an int '
                     'in [0, 2**63).')
  return int(seed)


@gin.configurable
class TDCriticModel(critic_model.CriticModel, metaclass=abc.ABCMeta):
  """A critic Q(s, a) trained by TD learning with a lagged target network.

  Subclasses declare `get_state_specification` and `get_action_specification`
  as for `CriticModel` (one action feature: 'action' or one 'action/...') and
  implement `create_q_network()`, which returns a new tf-keras layer mapping
  the packed critic features (`features.state...`, `features.action...`, as
  `CriticModel.q_func` reads them) to Q, or its logit for the
  'sigmoid_cross_entropy' loss, of shape (rows,) or (rows, 1). It is called
  twice, on first use (after `__init__`, so it may read attributes the
  subclass's `__init__` sets): once for the Q-network `q_network`, which
  `q_func` runs, and once for the target network `target_q_network`, whose
  weights are not trained but updated by `TargetNetworkUpdate` before each
  train step (the first update copies the Q-network).

  The loss is `CriticModel`'s `loss_type` loss of Q(s, a) against
  `bellman_targets(reward, done, max_a' Q_target(s', a'), gamma)`; the max
  is in-graph CEM over `action_low`..`action_high` (default [-1, 1] per
  action dimension), seeded per step so that a resumed job draws the same
  candidates. With 'sigmoid_cross_entropy' the target network's Q is the
  sigmoid of its logit (rewards in [0, 1] that end the episode keep the
  targets in [0, 1]). `gamma=0` trains on the reward alone, without CEM.

  A Q-network whose state tower does not see the action (an image CNN) may
  offer the split `state_embedding(state, training)` -> one row per state
  and `q_from_state_embedding(embedding, state, actions, training)` -> Q
  per action row (the embedding repeated once per action, row i * N + j
  pairing state i with action j; `state` holding the B states unrepeated).
  The CEM over a' then runs the tower once per next state instead of once
  per candidate and round (`research/qtopt`'s `GraspingQNetwork`).

  The features a TD critic reads in TRAIN and EVAL are 'state/...',
  'action...' and 'next_state/...' (`specs.next_state_specification`:
  the state specs, each named 'next_' + name), its labels 'reward' and
  'done'; in PREDICT only 'state/...' and 'action...'. The input generators
  and the record writer derive the records' layout from these specs. The
  features reach the network preprocessed, so the action bounds are in the
  model's (preprocessed) action space.

  Example (gin):
    TDCriticModel.gamma = 0.9
    TDCriticModel.target_update_period = 1      # Polyak averaging ...
    TDCriticModel.target_update_tau = 0.005     # ... with tau 0.005
    # or a hard copy every 1000 steps:
    #   TDCriticModel.target_update_period = 1000
    #   TDCriticModel.target_update_tau = 1.0

  Args:
    gamma: The discount, in [0, 1].
    target_update_period: Optimizer steps between target network updates,
      an int >= 1.
    target_update_tau: The weight of the Q-network in each update, in
      (0, 1]; 1.0 is a hard copy.
    action_low: Lower bound per action dimension of the CEM over a'; None
      (with `action_high` None) for -1 in every dimension.
    action_high: Upper bound per action dimension; None for 1.
    cem_iterations: CEM rounds of the max over a'.
    cem_num_samples: Candidate actions per next state and round.
    cem_num_elites: Candidates each round's Gaussian is refitted to.
    cem_seed: Seed of the CEM's candidates (an int >= 0), combined with the
      global step and the replica; None draws one from numpy's global
      generator (which `train_eval_model(seed=...)` seeds).
    **kwargs: `CriticModel` arguments (`loss_type`, `action_batch_size`)
      and `T2RModel` ones. `target_label_key` is not one: the labels are
      'reward' and 'done'.

  Raises:
    ValueError: For gamma outside [0, 1], a period < 1, tau outside (0, 1],
      invalid CEM bounds or sizes, or a `target_label_key` argument. A
      critic whose action does not suit CEM raises when it is built.
  """

  def __init__(self,
               gamma: float = 0.9,
               target_update_period: int = 1,
               target_update_tau: float = 0.005,
               action_low: Optional[Any] = None,
               action_high: Optional[Any] = None,
               cem_iterations: int = 3,
               cem_num_samples: int = 64,
               cem_num_elites: int = 10,
               cem_seed: Optional[int] = None,
               **kwargs):
    if 'target_label_key' in kwargs:
      raise ValueError(
          f"{_WHO} trains on the labels {critic_layout.REWARD_LABEL!r} "
          f"and {critic_layout.DONE_LABEL!r}; it takes no "
          f"target_label_key (got {kwargs['target_label_key']!r}). For a "
          'Monte-Carlo or bandit target label use CriticModel.')
    super().__init__(target_label_key=critic_layout.REWARD_LABEL,
                     **kwargs)
    self._gamma = _check_gamma(gamma)
    target_network.check_target_update(target_update_period,
                                       target_update_tau, _WHO)
    self._target_update = target_network.TargetNetworkUpdate(
        target_update_period, target_update_tau)
    self._cem_bounds = cem.check_optional_action_bounds(action_low,
                                                        action_high)
    cem.check_cem_sizes(cem_iterations, cem_num_samples, cem_num_elites)
    self._cem_sizes = (cem_iterations, cem_num_samples, cem_num_elites)
    self._cem_seed = _check_seed(cem_seed)
    self._q_network = None
    self._target_q_network = None

  # -- The contract subclasses implement ------------------------------------

  @abc.abstractmethod
  def create_q_network(self) -> tf_keras.layers.Layer:
    """Returns a new tf-keras layer: packed critic features -> Q (rows,)."""

  # -- The two networks -------------------------------------------------------

  def _create_networks(self):
    if self._q_network is not None:
      return
    q_network, target = self.create_q_network(), self.create_q_network()
    for network in (q_network, target):
      if not isinstance(network, tf_keras.layers.Layer):
        raise TypeError(
            f'{type(self).__name__}.create_q_network returned '
            f'{type(network).__name__}; expected a tf_keras layer or model '
            'mapping the critic features to Q.')
    if q_network is target:
      raise ValueError(
          f'{type(self).__name__}.create_q_network returned the same layer '
          'twice; it must build a new network on every call (the target '
          'network has weights of its own).')
    target.trainable = False
    self._q_network, self._target_q_network = q_network, target

  @property
  def q_network(self) -> tf_keras.layers.Layer:
    """The Q-network (trained), created on first use."""
    self._create_networks()
    return self._q_network

  @property
  def target_q_network(self) -> tf_keras.layers.Layer:
    """The target network (updated from `q_network`), created on first use."""
    self._create_networks()
    return self._target_q_network

  @property
  def gamma(self) -> float:
    return self._gamma

  @property
  def target_update(self) -> target_network.TargetNetworkUpdate:
    return self._target_update

  # -- Specs ------------------------------------------------------------------

  def get_feature_specification(self, mode: str) -> specs.TensorSpecStruct:
    feature_spec = super().get_feature_specification(mode)
    if mode != ModeKeys.PREDICT:
      feature_spec.next_state = specs.next_state_specification(
          self.get_state_specification())
    return feature_spec

  def get_label_specification(self, mode: str) -> specs.TensorSpecStruct:
    return specs.transition_label_specification()

  # -- Q and its target -------------------------------------------------------

  def q_func(self, features, mode, config=None, params=None):
    return self.q_network(features, training=mode == ModeKeys.TRAIN)

  def _cem_layout(self) -> Tuple[str, tf.DType, np.ndarray, np.ndarray]:
    """(action path, action dtype, low, high) of the CEM over a'."""
    feature_spec = self.get_feature_specification(ModeKeys.PREDICT)
    actions = [path for path in specs.filter_required_flat_tensor_spec(
        specs.flatten_spec_structure(feature_spec)) if
               specs.is_action_path(path)]
    if len(actions) != 1:
      raise ValueError(
          f'{type(self).__name__} maximizes its Bellman targets over exactly '
          f'one action feature ({critic_layout.ACTION_PATH!r} or one '
          f"'{critic_layout.ACTION_PATH}/...'), but its action specification "
          f'gives {actions}. Declare one action vector (concatenate the '
          'parts) in get_action_specification.')
    layout = specs.split_state_action(feature_spec, actions[0], who=_WHO)
    low, high = cem.critic_action_bounds(self._cem_bounds, layout.action_spec,
                                         layout.action_path, _WHO)
    return layout.action_path, layout.action_spec.dtype, low, high

  def _cem_noise(self, batch: tf.Tensor) -> cem.NoiseFn:
    """The CEM noise of a step: a function of cem_seed, step and replica."""
    step = (tf.constant(0, tf.int64) if self.optimizer is None else
            tf.cast(self.optimizer.iterations, tf.int64))
    context = tf.distribute.get_replica_context()
    replica = 0 if context is None else context.replica_id_in_sync_group
    key = tf.random.experimental.stateless_fold_in(
        tf.constant([self._cem_seed, 0], tf.int64), step)
    key = tf.random.experimental.stateless_fold_in(
        key, tf.cast(replica, tf.int64))
    return cem.batch_noise(key, batch)

  def target_max_q(self, features: specs.TensorSpecStruct
                  ) -> Tuple[tf.Tensor, tf.Tensor]:
    """max over a' of Q_target(s', a') at each next state, by in-graph CEM.

    Example:
      >>> actions, next_q = critic.target_max_q(features)  # (B, n), (B,)

    Args:
      features: Preprocessed TRAIN/EVAL features holding 'next_state/...'.

    Returns:
      (the best actions found (batch, action size), their target Q
      (batch,); with 'sigmoid_cross_entropy', the sigmoid of the logit).

    Raises:
      ValueError: If the critic's action does not suit CEM.
    """
    action_path, action_dtype, low, high = self._cem_layout()
    iterations, num_samples, num_elites = self._cem_sizes
    next_state = specs.next_state_as_state(features)
    if not next_state:
      raise ValueError(
          f'{type(self).__name__}.target_max_q got no '
          f"'{critic_layout.NEXT_STATE_PATH}/...' features, only "
          f'{list(features.keys())}. Feed TRAIN or EVAL features laid out '
          'like get_feature_specification(ModeKeys.TRAIN).')
    batch = tf.shape(next(iter(next_state.values())))[0]
    network = self.target_q_network
    if _is_split(network):
      # The state tower once per next state, the head per candidate.
      states = specs.TensorSpecStruct(next_state)
      embedding = specs.repeat_rows(
          network.state_embedding(states.state, training=False), num_samples)

      def score_fn(flat_actions):
        q = network.q_from_state_embedding(
            embedding, states.state, tf.cast(flat_actions, action_dtype),
            training=False)
        return tf.reshape(tf.cast(q, tf.float32), [-1])
    else:
      tiled = specs.TensorSpecStruct(specs.tile_state(next_state,
                                                      num_samples))

      def score_fn(flat_actions):
        candidates = specs.TensorSpecStruct(tiled)
        candidates[action_path] = tf.cast(flat_actions, action_dtype)
        q = tf.cast(network(candidates, training=False), tf.float32)
        return tf.reshape(q, [-1])

    actions, next_q = cem.in_graph_cross_entropy_method(
        score_fn, self._cem_noise(batch), low, high, iterations, num_samples,
        num_elites)
    if self._loss_type == 'sigmoid_cross_entropy':
      next_q = tf.sigmoid(next_q)
    return actions, next_q

  def bellman_target(self, features: specs.TensorSpecStruct,
                     labels: specs.TensorSpecStruct) -> tf.Tensor:
    """r + gamma * (1 - done) * max_a' Q_target(s', a') per transition.

    Args:
      features: Preprocessed TRAIN/EVAL features.
      labels: Labels holding 'reward' and 'done'.

    Returns:
      The targets, shape (batch,), without gradient.
    """
    reward = labels[critic_layout.REWARD_LABEL]
    if self._gamma == 0.0:
      return tf.cast(reward, tf.float32)
    _, next_q = self.target_max_q(features)
    return bellman_targets(reward, labels[critic_layout.DONE_LABEL],
                           next_q, self._gamma)

  def model_train_fn(self, features, labels, inference_outputs, mode,
                     config=None, params=None):
    target = tf.stop_gradient(self.bellman_target(features, labels))
    loss = self.critic_loss(target, inference_outputs)
    return loss, {TD_TARGET: tf.reduce_mean(target)}

  # -- The target network's updates -------------------------------------------

  def update_target_network(self):
    """Applies the target update due at the current global step.

    `train_step` calls it before each step's loss; see
    `TargetNetworkUpdate` for the rule (step 0 copies the Q-network).

    Raises:
      ValueError: If the model has no optimizer (call compile() first) or
        the networks have not been built (call build_from_specs()).
    """
    online = target_network.network_variables(self.q_network)
    target = target_network.network_variables(self.target_q_network)
    if not online or not self.target_q_network.built:
      raise ValueError(
          f'{type(self).__name__} cannot update its target network before '
          'both networks are built; call build_from_specs() (fit and '
          'train_eval_model do).')
    self._target_update(online, target, self.global_step)

  def _networks_built(self) -> bool:
    return self.q_network.built and self.target_q_network.built

  def build_from_specs(self):
    """Builds the Q-network (as `T2RModel`) and the target network.

    Raises:
      ValueError: If the critic's action does not suit CEM over a'.
    """
    self._cem_layout()
    super().build_from_specs()
    signature = specs.make_input_signature(
        self.get_feature_specification(ModeKeys.PREDICT))
    trace = tf.function(lambda f: self.target_q_network(
        self._pack('feature', f, ModeKeys.PREDICT), training=False))
    trace.get_concrete_function(signature)

  def make_train_function(self, force: bool = False):
    """Builds the networks first, so that step 0 copies every weight."""
    if not self._networks_built():
      self.build_from_specs()
    return super().make_train_function(force)

  def make_test_function(self, force: bool = False):
    if not self._networks_built():
      self.build_from_specs()
    return super().make_test_function(force)

  def train_step(self, data: Any):
    """Updates the target network if due, then takes `T2RModel`'s step."""
    self.update_target_network()
    return super().train_step(data)
