"""The critic layout: which feature is the action, and how states meet actions.

A critic Q(state, action) reads its action at the top-level feature path
'action' or under 'action/...'; every other feature is state. To score N
candidate actions for each of B states in one call, rows are laid out so that
row i * N + j pairs state i with candidate j: each state row is repeated N
times in place (`np.repeat`, not `np.tile`).

`CriticModel(action_batch_size=N)`, the Python-loop `CEMPolicy` and the
in-graph CEM of `CEMExportGenerator` all follow this layout. It lives in the
spec layer because policies must not import models: a robot needs the specs,
not the training code.

A transition for TD learning (`TDCriticModel`) adds the next state and two
scalar float32 labels:

  features  state/<x>       the state, spec named <name>
            action[/...]    the action taken
            next_state/<x>  the state after it: the same spec, named
                            'next_' + <name> (`next_state_specification`)
  labels    reward          the reward of the step
            done            1.0 if the episode ended with it (no bootstrap)

Example:
  >>> layout = split_state_action(critic_feature_spec)
  >>> layout.action_path
  'action/move'
  >>> low, high = default_action_bounds(layout.action_spec, layout.action_path)
  >>> tile_state({'state/target': np.zeros((1, 2))}, 64)['state/target'].shape
  (64, 2)
  >>> next_state_specification(state_spec)['target'].name   # 'target' before
  'next_target'
"""

from typing import Any, Dict, Mapping, NamedTuple, Optional, Tuple

import numpy as np
import tensorflow as tf

from t2r.specs.extended_tensor_spec import ExtendedTensorSpec
from t2r.specs.structure import filter_required_flat_tensor_spec
from t2r.specs.structure import flatten_spec_structure
from t2r.specs.structure import flatten_tensor_specs
from t2r.specs.structure import spec_name
from t2r.specs.tensor_spec_struct import TensorSpecStruct

ACTION_PATH = 'action'
STATE_PATH = 'state'
NEXT_STATE_PATH = 'next_state'
NEXT_NAME_PREFIX = 'next_'
REWARD_LABEL = 'reward'
DONE_LABEL = 'done'


def _shape_str(shape: tf.TensorShape) -> str:
  return str(tuple(shape.as_list())) if shape.rank is not None else 'unknown'


class StateActionSpecs(NamedTuple):
  """A critic's required features split into its state and its one action.

  Attributes:
    state_spec: Every required feature except the action, keyed by path.
    action_path: The path of the action feature.
    action_spec: The spec of the action feature.
  """
  state_spec: TensorSpecStruct
  action_path: str
  action_spec: Any


def is_action_path(path: str) -> bool:
  """True for the top-level feature 'action' and features under 'action/'.

  Example:
    >>> is_action_path('action'), is_action_path('action/move')
    (True, True)
    >>> is_action_path('state/action_history')
    False

  Args:
    path: A '/'-joined feature path.

  Returns:
    Whether the critic layout treats the feature as (part of) the action.
  """
  return path == ACTION_PATH or path.startswith(ACTION_PATH + '/')


def find_action_path(feature_spec: Any,
                     action_path: Optional[str] = None,
                     who: str = 'CEMPolicy') -> str:
  """Returns the path of the one action feature among the required features.

  Example:
    >>> find_action_path({'state/target': target_spec, 'action/move': move})
    'action/move'

  Args:
    feature_spec: The critic's feature specs (nested or flat).
    action_path: The action feature, named explicitly; None to take the
      top-level 'action' feature or the only 'action/...' feature.
    who: The caller, named in error messages.

  Returns:
    The action feature's path.

  Raises:
    ValueError: If `action_path` is not a required feature, or (without it)
      the critic has no action feature or more than one.
  """
  paths = filter_required_flat_tensor_spec(
      flatten_spec_structure(feature_spec)).keys()
  if action_path is not None:
    if action_path not in paths:
      raise ValueError(
          f'{who} got action_path={action_path!r} but the critic has no '
          f'required feature {action_path!r}; its features are {paths}. '
          'Pass one of them as action_path.')
    return action_path
  candidates = [path for path in paths if is_action_path(path)]
  if not candidates:
    raise ValueError(
        f'{who} found no action feature among the critic features {paths}: '
        f"expected a feature {ACTION_PATH!r} or one '{ACTION_PATH}/...'. "
        'Name the action feature with action_path=... (one of those paths).')
  if len(candidates) > 1:
    raise ValueError(
        f'{who} found {len(candidates)} action features {candidates} among '
        f'the critic features {paths} but optimizes exactly one. Choose it '
        f'with action_path=..., e.g. action_path={candidates[0]!r}; the '
        'others are then fed like state features.')
  return candidates[0]


def split_state_action(feature_spec: Any,
                       action_path: Optional[str] = None,
                       who: str = 'CEMPolicy') -> StateActionSpecs:
  """Splits a critic's required features into state and the one action.

  Example:
    >>> layout = split_state_action(critic_feature_spec, 'action/move')
    >>> layout.state_spec.keys(), layout.action_spec.shape
    (['state/target'], TensorShape([2]))

  Args:
    feature_spec: The critic's feature specs (nested or flat).
    action_path: See `find_action_path`.
    who: The caller, named in error messages.

  Returns:
    A `StateActionSpecs`.

  Raises:
    ValueError: As `find_action_path`.
  """
  required = filter_required_flat_tensor_spec(
      flatten_spec_structure(feature_spec))
  path = find_action_path(required, action_path, who)
  state = TensorSpecStruct([(p, spec) for p, spec in required.items()
                            if p != path])
  return StateActionSpecs(state, path, required[path])


def check_action_size(action_spec: Any, size: int,
                      action_path: str = ACTION_PATH,
                      who: str = 'CEMPolicy'):
  """Checks that an action spec is a vector that `size` bounds can cover.

  A vector of unknown size, shape (None,), accepts any `size`.

  Example:
    >>> check_action_size(move_spec, 2, 'action/move')   # move_spec: (2,)

  Args:
    action_spec: The action feature's spec.
    size: The number of entries of each action bound.
    action_path: The action's feature path, named in error messages.
    who: The caller, named in error messages.

  Raises:
    ValueError: If the action is not a vector, or its size differs.
  """
  shape = tf.TensorShape(action_spec.shape)
  if shape.rank != 1 or shape[0] not in (None, size):
    raise ValueError(
        f'The critic action {action_path!r} has shape {_shape_str(shape)} '
        f'but the {who} action bounds have {size} entries. The action must '
        'be a vector (n,); pass action_low and action_high with one entry '
        'per action dimension.')


def default_action_bounds(action_spec: Any,
                          action_path: str = ACTION_PATH,
                          who: str = 'CEMPolicy'
                         ) -> Tuple[np.ndarray, np.ndarray]:
  """Returns the default action bounds: [-1, 1] in every action dimension.

  Example:
    >>> default_action_bounds(ExtendedTensorSpec((2,), tf.float32))
    (array([-1., -1.], dtype=float32), array([1., 1.], dtype=float32))

  Args:
    action_spec: The action feature's spec; a vector of known size.
    action_path: The action's feature path, named in error messages.
    who: The caller, named in error messages.

  Returns:
    (low, high) float32 arrays of shape (action size,).

  Raises:
    ValueError: If the spec is not a vector of known size, so that the
      number of action dimensions cannot be known.
  """
  shape = tf.TensorShape(action_spec.shape)
  if shape.rank != 1 or shape[0] is None:
    raise ValueError(
        f'{who} cannot default its action bounds to [-1, 1] per dimension: '
        f'the critic action {action_path!r} has shape {_shape_str(shape)}, '
        'expected a vector of known size (n,). Pass action_low and '
        'action_high with one entry per action dimension.')
  return -np.ones(shape[0], np.float32), np.ones(shape[0], np.float32)


def as_state_batch(state: Mapping[str, Any], state_spec: Any,
                   who: str = 'CEMPolicy') -> Dict[str, np.ndarray]:
  """Gives one observation's state features a batch axis of one.

  Example:
    >>> as_state_batch({'state/target': np.zeros(2)}, state_spec)
    {'state/target': array([[0., 0.]])}

  Args:
    state: {path: value} of one state, each value with or without a leading
      batch axis of one. Values without a spec are returned unchanged (the
      predictor ignores them).
    state_spec: The state specs, keyed by the same paths.
    who: The caller, named in error messages.

  Returns:
    {path: array of shape (1,) + spec shape}.

  Raises:
    ValueError: If a value holds more than one state.
  """
  flat_spec = flatten_spec_structure(state_spec)
  batched = dict(state)
  for path, value in state.items():
    spec = flat_spec.get(path)
    if spec is None:
      continue
    array = np.asarray(value)
    rank = len(spec.shape) + int(bool(getattr(spec, 'is_sequence', False)))
    if array.ndim == rank:
      array = array[np.newaxis]
    elif array.ndim != rank + 1 or array.shape[0] != 1:
      raise ValueError(
          f'{who} chooses the action of one observation, but the state '
          f'feature {path!r} has shape {array.shape}; expected the spec shape '
          f'{tuple(spec.shape.as_list())} or a batch of one. Pass one '
          'observation per call.')
    batched[path] = array
  return batched


def repeat_rows(value: Any, repeats: int) -> Any:
  """Repeats every row `repeats` times in place: row i * repeats + j is row i.

  Example:
    >>> repeat_rows(np.array([[1], [2]]), 2)[:, 0]
    array([1, 1, 2, 2])

  Args:
    value: A tensor (repeated with `tf.repeat`, also in a graph) or a numpy
      compatible value (repeated with `np.repeat`).
    repeats: How often each row appears, >= 1.

  Returns:
    The value with `repeats` times as many rows, of the input's kind.
  """
  if tf.is_tensor(value):
    return tf.repeat(value, repeats, axis=0)
  return np.repeat(np.asarray(value), repeats, axis=0)


def tile_state(state: Mapping[str, Any], repeats: int) -> Dict[str, Any]:
  """Repeats every state row once per candidate action (see `repeat_rows`).

  Example:
    >>> tiled = tile_state({'state/target': np.array([[1.], [2.]])}, 3)
    >>> tiled['state/target'][:, 0]
    array([1., 1., 1., 2., 2., 2.])

  Args:
    state: {path: B rows} of tensors or numpy values.
    repeats: Candidate actions per state, >= 1; 1 returns the values as is.

  Returns:
    {path: B * repeats rows}, row i * repeats + j holding state i.
  """
  if repeats == 1:
    return dict(state)
  return {path: repeat_rows(value, repeats) for path, value in state.items()}


def caller_state_repeats(critic_action_batch_size: Optional[int],
                         num_candidates: int,
                         who: str = 'CEMExportGenerator') -> int:
  """How often a caller repeats each state to score `num_candidates` actions.

  Example:
    >>> caller_state_repeats(None, 64), caller_state_repeats(64, 64)
    (64, 1)

  Args:
    critic_action_batch_size: The critic's `action_batch_size`: None if it
      scores one action per state row, else how often it repeats each state
      itself.
    num_candidates: Candidate actions per state.
    who: The caller, named in error messages.

  Returns:
    `num_candidates` if the critic takes one action per state row, 1 if the
    critic repeats each state itself.

  Raises:
    ValueError: If the critic repeats each state another number of times.
  """
  if critic_action_batch_size is None:
    return num_candidates
  if critic_action_batch_size != num_candidates:
    raise ValueError(
        f'The critic repeats each state action_batch_size='
        f'{critic_action_batch_size} times but {who} scores {num_candidates} '
        'candidate actions per state (num_samples). Make them equal.')
  return 1


def is_next_state_path(path: str) -> bool:
  """True for the feature 'next_state' and features under 'next_state/'.

  Example:
    >>> is_next_state_path('next_state/pose'), is_next_state_path('state/pose')
    (True, False)

  Args:
    path: A '/'-joined feature path.

  Returns:
    Whether the TD layout treats the feature as (part of) the next state.
  """
  return path == NEXT_STATE_PATH or path.startswith(NEXT_STATE_PATH + '/')


def next_state_path(state_path: str) -> str:
  """The path of a state feature's next-state twin: 'state/x' -> 'next_state/x'.

  Example:
    >>> next_state_path('state/pose')
    'next_state/pose'

  Args:
    state_path: A feature path under 'state' (or 'state' itself).

  Returns:
    The same path under 'next_state'.

  Raises:
    ValueError: If `state_path` is not 'state' or under 'state/'.
  """
  if state_path == STATE_PATH:
    return NEXT_STATE_PATH
  if not state_path.startswith(STATE_PATH + '/'):
    raise ValueError(
        f'The TD critic layout pairs each state feature under {STATE_PATH!r} '
        f'with a next-state feature under {NEXT_STATE_PATH!r}, but '
        f'{state_path!r} is not under {STATE_PATH!r}. Declare the state '
        f"features under '{STATE_PATH}/...' (CriticModel does).")
  return NEXT_STATE_PATH + state_path[len(STATE_PATH):]


def next_state_specification(state_spec: Any) -> TensorSpecStruct:
  """The next-state specs: the state specs, each named 'next_' + its name.

  The paths stay those of `state_spec` (relative to the state); a critic
  puts the result under 'next_state' beside 'state'. Everything but the
  name (shape, dtype, data format, optional, dataset key) is copied, so the
  records store the next state as they store the state and the parser reads
  both from the same declaration.

  Example:
    >>> state = TensorSpecStruct(
    ...     pose=ExtendedTensorSpec((3,), tf.float32, name='pose'))
    >>> next_state_specification(state)['pose'].name
    'next_pose'
    >>> feature_spec.next_state = next_state_specification(state)

  Args:
    state_spec: The state spec structure, keyed relative to the state (as
      `CriticModel.get_state_specification` returns it).

  Returns:
    A flat `TensorSpecStruct` with the same paths; a spec without a name is
    named 'next_' + its path.

  Raises:
    SpecTypeError: If a leaf is not a spec.
  """
  return TensorSpecStruct([
      (path, ExtendedTensorSpec.from_spec(
          spec, name=NEXT_NAME_PREFIX + spec_name(spec, path)))
      for path, spec in flatten_tensor_specs(state_spec).items()
  ])


def transition_label_specification() -> TensorSpecStruct:
  """The TD labels: float32 scalars 'reward' and 'done' (1.0 at episode end).

  Example:
    >>> list(transition_label_specification().keys())
    ['reward', 'done']

  Returns:
    A `TensorSpecStruct` of the two label specs, named like their paths.
  """
  return TensorSpecStruct([
      (key, ExtendedTensorSpec((), tf.float32, name=key))
      for key in (REWARD_LABEL, DONE_LABEL)
  ])


def next_state_as_state(features: Mapping[str, Any]) -> Dict[str, Any]:
  """The next-state features of a batch, keyed as state features.

  What a critic's network reads as 'state/x' for the next state of a
  transition: 'next_state/x' renamed. Other features are left out.

  Example:
    >>> next_state_as_state({'state/pose': s, 'next_state/pose': s2,
    ...                      'action': a})
    {'state/pose': s2}

  Args:
    features: Flat {path: value} features (a flat `TensorSpecStruct`).

  Returns:
    {'state/...': value} for every 'next_state/...' feature.
  """
  return {
      STATE_PATH + path[len(NEXT_STATE_PATH):]: value
      for path, value in flatten_spec_structure(features).items()
      if is_next_state_path(path)
  }
