"""Policies: choose actions from observations with a predictor.

Tensor2Robot's interface: `sample_action(obs, explore_prob)` returns
`(action, debug)` for data collection, `SelectAction(state, context,
timestep)` the greedy action for evaluation, `reset()` at episode start,
`restore()` to pick up newer weights and `global_step` of the weights in use.
`sample_actions(observations, explore_prob, slots)` acts for several
environments stepped together; the built-in policies answer it with one
model call per step.
Policies import predictors, never models: a robot runs them with TensorFlow
and the exported SavedModel only.
"""

import abc
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Sequence
from typing import Tuple

import gin
import numpy as np

from t2r import specs
from t2r.policies import cem
from t2r.predictors.abstract_predictor import AbstractPredictor

Debug = Dict[str, Any]
PackFn = Callable[[Any], Dict[str, np.ndarray]]


def pack_observation(obs: Any, feature_paths) -> Dict[str, np.ndarray]:
  """Maps an observation to the predictor's feature paths.

  Args:
    obs: A dict (nested or flat) keyed by feature path, or by the path
      without its first component ('image' for 'state/image'); or a single
      array when exactly one feature is needed.
    feature_paths: The paths the predictor needs.

  Returns:
    {path: value} for every path.

  Raises:
    ValueError: If a path has no value in `obs`.
  """
  feature_paths = list(feature_paths)
  if not isinstance(obs, dict):
    if len(feature_paths) != 1:
      raise ValueError(
          f'The observation is a single {type(obs).__name__} but the model '
          f'needs {feature_paths}; pass a dict keyed by those paths or a '
          'pack_features_fn.')
    return {feature_paths[0]: obs}
  flat = specs.flatten_spec_structure(obs)
  packed = {}
  for path in feature_paths:
    short = path.split('/', 1)[-1]
    if path in flat:
      packed[path] = flat[path]
    elif short in flat:
      packed[path] = flat[short]
    else:
      raise ValueError(
          f'The observation has no value for feature {path!r} (looked up '
          f'{path!r} and {short!r}); it has {flat.keys()}. Rename the '
          'observation keys or pass a pack_features_fn.')
  return packed


@gin.configurable
class Policy(abc.ABC):
  """The T2R policy interface.

  Args:
    predictor: The predictor whose model chooses actions (may be None for
      policies that need no model).
  """

  def __init__(self, predictor: Optional[AbstractPredictor] = None):
    self._predictor = predictor

  @property
  def predictor(self) -> Optional[AbstractPredictor]:
    return self._predictor

  def reset(self):
    """Called at the start of every episode."""

  def restore(self) -> bool:
    """Loads newer weights, if any; True if they are now in use."""
    return self._predictor.restore() if self._predictor else False

  def init_randomly(self):
    if self._predictor is not None:
      self._predictor.init_randomly()

  @property
  def global_step(self) -> int:
    """The training step of the weights in use (-1 without a model)."""
    return self._predictor.global_step if self._predictor else -1

  @abc.abstractmethod
  def sample_action(self, obs: Any,
                    explore_prob: float) -> Tuple[np.ndarray, Debug]:
    """Returns (action, debug info) for `obs`, exploring with `explore_prob`."""

  def sample_actions(self, observations: Sequence[Any], explore_prob: float,
                     slots: Optional[Sequence[int]] = None
                    ) -> Tuple[np.ndarray, List[Debug]]:
    """Returns one action per observation, for environments stepped together.

    Row i of the result answers `observations[i]`, which comes from the
    environment numbered `slots[i]`; policies with per-episode state (noise,
    explore decisions) keep it per slot, and `reset()` clears every slot.
    This default calls `sample_action` once per observation, so a custom
    policy with per-episode state should override it (or derive from
    `BatchedPolicy`).

    Example:
      >>> actions, debugs = policy.sample_actions([obs0, obs1], 0.1)
      >>> actions.shape
      (2, 2)

    Args:
      observations: One observation per environment.
      explore_prob: As for `sample_action`.
      slots: The environment of each observation; default 0, 1, ...

    Returns:
      (actions stacked along a new first axis, one debug dict per row).
    """
    del slots
    pairs = [self.sample_action(obs, explore_prob) for obs in observations]
    return (np.stack([np.asarray(action) for action, _ in pairs]),
            [debug for _, debug in pairs])

  def SelectAction(self, state: Any, context: Any = None,  # pylint: disable=invalid-name
                   timestep: Any = None) -> np.ndarray:
    """The greedy action (T2R's evaluation entry point)."""
    del context, timestep
    return self.sample_action(state, 0.0)[0]


def check_slots(observations: Sequence[Any],
                slots: Optional[Sequence[int]]) -> List[int]:
  """The slots of `sample_actions`: given ones checked, or 0, 1, ...

  Raises:
    ValueError: If there is not one slot per observation, or a slot repeats.
  """
  if slots is None:
    return list(range(len(observations)))
  slots = list(slots)
  if len(slots) != len(observations) or len(set(slots)) != len(slots):
    raise ValueError(
        f'sample_actions needs one distinct slot per observation; got '
        f'{len(observations)} observations and slots {slots}.')
  return slots


class BatchedPolicy(Policy):
  """A policy whose `sample_actions` is the primitive (one model call).

  Subclasses implement `sample_actions`; `sample_action(obs)` is the batch
  of one `[obs]` in slot 0.
  """

  @abc.abstractmethod
  def sample_actions(self, observations: Sequence[Any], explore_prob: float,
                     slots: Optional[Sequence[int]] = None
                    ) -> Tuple[np.ndarray, List[Debug]]:
    """See `Policy.sample_actions`."""

  def sample_action(self, obs: Any,
                    explore_prob: float) -> Tuple[np.ndarray, Debug]:
    actions, debugs = self.sample_actions([obs], explore_prob, slots=[0])
    return actions[0], debugs[0]


def stack_feature_batches(observations: Sequence[Any],
                          pack_fn: Callable[[Any], Dict[str, np.ndarray]],
                          feature_spec: Any,
                          who: str) -> Dict[str, np.ndarray]:
  """Packs each observation and concatenates them into one feature batch.

  Args:
    observations: One observation each, values with or without a batch axis
      of one.
    pack_fn: obs -> {path: value}.
    feature_spec: The specs of the packed paths.
    who: The caller, named in errors.

  Returns:
    {path: array of shape (len(observations),) + spec shape}.

  Raises:
    ValueError: If there are no observations or one holds several examples.
  """
  if not observations:
    raise ValueError(f'{who}.sample_actions got no observations.')
  packed = [specs.as_state_batch(pack_fn(obs), feature_spec, who)
            for obs in observations]
  return {path: np.concatenate([np.asarray(p[path]) for p in packed])
          for path in packed[0]}


def _clip(action: np.ndarray, action_low, action_high) -> np.ndarray:
  if action_low is None:
    return action
  return np.clip(action, action_low, action_high).astype(action.dtype)


@gin.configurable
class RegressionPolicy(BatchedPolicy):
  """Acts with the action a regression model predicts.

  Example:
    >>> policy = RegressionPolicy(ExportedSavedModelPredictor(export_dir))
    >>> policy.restore()
    >>> action, _ = policy.sample_action({'state/pose': pose}, 0.0)

  Args:
    predictor: Predicts `action_key` from the observation.
    action_key: The output holding the action.
    action_low: Optional lower bounds the action is clipped to.
    action_high: Optional upper bounds the action is clipped to.
    pack_features_fn: obs -> feature dict; default `pack_observation`.
  """

  def __init__(self,
               predictor: AbstractPredictor,
               action_key: str = 'inference_output',
               action_low: Optional[Any] = None,
               action_high: Optional[Any] = None,
               pack_features_fn: Optional[PackFn] = None):
    super().__init__(predictor)
    self._action_key = action_key
    self._bounds = (None, None)
    if action_low is not None or action_high is not None:
      self._bounds = cem.check_action_bounds(action_low, action_high)
    self._pack_features_fn = pack_features_fn

  def sample_actions(self, observations: Sequence[Any], explore_prob: float,
                     slots: Optional[Sequence[int]] = None
                    ) -> Tuple[np.ndarray, List[Debug]]:
    del explore_prob  # Exploration is added by wrappers.
    check_slots(observations, slots)
    feature_spec = specs.filter_required_flat_tensor_spec(
        self._predictor.get_feature_specification())
    pack_fn = self._pack_features_fn or (
        lambda obs: pack_observation(obs, feature_spec.keys()))
    outputs = self._predictor.predict(stack_feature_batches(
        observations, pack_fn, feature_spec, 'RegressionPolicy'))
    if self._action_key not in outputs:
      raise ValueError(
          f'The model has no output {self._action_key!r}; it returns '
          f'{sorted(outputs)}. Set RegressionPolicy.action_key.')
    actions = np.asarray(outputs[self._action_key])
    return _clip(actions, *self._bounds), [{} for _ in observations]


class _Critic(NamedTuple):
  """What `CEMPolicy` derives from the feature spec of one critic export."""
  feature_spec: specs.TensorSpecStruct
  layout: specs.StateActionSpecs
  low: np.ndarray
  high: np.ndarray


@gin.configurable
class CEMPolicy(BatchedPolicy):
  """Acts with the action of highest Q, found by CEM over a critic.

  The critic is an export of a `CriticModel` (the layout of
  `t2r.specs.critic_layout`): its action is the top-level feature 'action',
  the only 'action/...' feature, or the feature named by `action_path`; every
  other required feature is state. By default the critic repeats each state
  once per candidate (`CriticModel(action_batch_size=num_samples)`); with
  `tile_state=True` the policy repeats it instead.

  Without bounds, CEM searches [-1, 1] in every action dimension; the number
  of dimensions is read from the predictor's feature specification when the
  policy first acts (the predictor may be restored after construction).

  With `exported_cem_signature` (an export of `CEMExportGenerator`), the
  whole CEM loop runs inside the SavedModel in one call (for all the
  observations of `sample_actions` together); the policy feeds it a seed
  drawn from its generator per observation, so `seed` makes both paths
  deterministic. The Python loop runs one CEM per observation.

  Example:
    >>> policy = CEMPolicy(predictor)               # bounds [-1, 1] each
    >>> action, debug = policy.sample_action({'state/image': image}, 0.0)
    >>> debug['q']
    >>> CEMPolicy(predictor, action_low=[-1, 0], action_high=[1, 0.5],
    ...           action_path='action/world_vector')

  Args:
    predictor: The critic's predictor.
    action_low: Lower bound per action dimension; None (with `action_high`
      None) for -1 in every dimension of the critic action.
    action_high: Upper bound per action dimension; None for 1 in every
      dimension.
    cem_iterations: CEM rounds (3 as in QT-Opt).
    num_samples: Candidate actions per round (64).
    num_elites: Candidates each round's Gaussian is refitted to (10).
    q_key: The critic output holding Q.
    tile_state: Repeat the state once per candidate in the policy.
    pack_features_fn: obs -> state feature dict; default `pack_observation`.
    exported_cem_signature: Run the in-graph CEM of this signature instead
      of the Python loop (its action, bounds and sizes are fixed at
      export; `action_low`, `action_high` and `action_path` are unused).
    seed: Seeds the sampling, in Python or (through the signature's
      `cem_seed` input) in the graph: policies with the same seed choose the
      same actions for the same observations. None: random.
    action_path: The critic's action feature path; None for the top-level
      'action' feature or the only 'action/...' one.

  Raises:
    ValueError: For invalid bounds or CEM sizes. A critic whose action
      cannot be found, or does not fit the bounds, raises on first use.
  """

  def __init__(self,
               predictor: AbstractPredictor,
               action_low: Optional[Any] = None,
               action_high: Optional[Any] = None,
               cem_iterations: int = 3,
               num_samples: int = 64,
               num_elites: int = 10,
               q_key: str = 'q_predicted',
               tile_state: bool = False,
               pack_features_fn: Optional[PackFn] = None,
               exported_cem_signature: Optional[str] = None,
               seed: Optional[int] = None,
               action_path: Optional[str] = None):
    super().__init__(predictor)
    self._bounds = cem.check_optional_action_bounds(action_low, action_high)
    cem.check_cem_sizes(cem_iterations, num_samples, num_elites)
    self._iterations = cem_iterations
    self._num_samples = num_samples
    self._num_elites = num_elites
    self._q_key = q_key
    self._state_repeats = num_samples if tile_state else 1
    self._pack_features_fn = pack_features_fn
    self._exported_cem_signature = exported_cem_signature
    self._rng = np.random.default_rng(seed)
    self._action_path = action_path
    self._critic: Optional[_Critic] = None

  def _critic_for_loaded_export(self) -> _Critic:
    """The critic's state/action split and bounds, for the loaded export.

    Derived on first use and again when `restore` swapped in an export.
    """
    feature_spec = self._predictor.get_feature_specification()
    if self._critic is None or self._critic.feature_spec is not feature_spec:
      layout = specs.split_state_action(feature_spec, self._action_path,
                                        'CEMPolicy')
      low, high = cem.critic_action_bounds(self._bounds, layout.action_spec,
                                           layout.action_path, 'CEMPolicy')
      self._critic = _Critic(feature_spec, layout, low, high)
    return self._critic

  def _state_features(self, obs, state_paths) -> Dict[str, np.ndarray]:
    if self._pack_features_fn is not None:
      return self._pack_features_fn(obs)
    return pack_observation(obs, state_paths)

  def _sample_in_graph(self, observations: Sequence[Any]
                      ) -> Tuple[np.ndarray, List[Debug]]:
    paths = self._predictor.signature_feature_paths(
        self._exported_cem_signature)
    state_paths = [p for p in paths if p != cem.CEM_SEED_INPUT]
    state_spec = specs.filter_required_flat_tensor_spec(
        self._predictor.get_feature_specification())
    features = stack_feature_batches(
        observations, lambda obs: self._state_features(obs, state_paths),
        state_spec, 'CEMPolicy')
    if cem.CEM_SEED_INPUT in paths:  # Exports before the seed input lack it.
      features[cem.CEM_SEED_INPUT] = self._rng.integers(
          np.iinfo(np.int64).max, size=len(observations), dtype=np.int64)
    outputs = self._predictor.predict(
        features, signature_name=self._exported_cem_signature)
    return (np.asarray(outputs['action']),
            [{'q': float(q)} for q in np.asarray(outputs['q'])])

  def sample_actions(self, observations: Sequence[Any], explore_prob: float,
                     slots: Optional[Sequence[int]] = None
                    ) -> Tuple[np.ndarray, List[Debug]]:
    del explore_prob  # Exploration is added by wrappers.
    check_slots(observations, slots)
    if self._exported_cem_signature:
      return self._sample_in_graph(observations)
    pairs = [self._sample_with_python_cem(obs) for obs in observations]
    return (np.stack([action for action, _ in pairs]),
            [debug for _, debug in pairs])

  def _sample_with_python_cem(self, obs: Any) -> Tuple[np.ndarray, Debug]:
    critic = self._critic_for_loaded_export()
    state_spec = critic.layout.state_spec
    action_dtype = critic.layout.action_spec.dtype.as_numpy_dtype
    state = specs.tile_state(
        specs.as_state_batch(
            self._state_features(obs, state_spec.keys()), state_spec),
        self._state_repeats)

    def score(actions):
      outputs = self._predictor.predict(
          {**state, critic.layout.action_path: actions.astype(action_dtype)})
      return outputs[self._q_key]

    action, q = cem.cross_entropy_method(score, critic.low, critic.high,
                                         self._iterations, self._num_samples,
                                         self._num_elites, self._rng)
    return action, {'q': q}

