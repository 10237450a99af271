"""Checks numpy features against specs and keys them for a model function.

`predict` runs on every control step of a robot, so the check is a few
precomputed comparisons per feature; only a failing feature goes through
`specs.check_value_matches_spec` to build the detailed error message.

All features of one call share a batch size, or TensorFlow fails deep in
the model (e.g. a `ConcatOp` error naming no feature). The one exception is
the critic layout (`t2r.specs.critic_layout`): a critic that repeats each
state itself (`CriticModel(action_batch_size=N)`) takes B states and B * N
actions, so action features may hold a multiple of the state batch. A
signature's own inputs that no spec declares (e.g. the per-example seeds of
an in-graph CEM signature) are left to the signature's own checks.
"""

from typing import Any, Dict, Mapping, NamedTuple, Optional, Sequence, Tuple

import numpy as np
import tensorflow as tf

from t2r import specs

_STRING_KINDS = ('O', 'S', 'U')


class _Expected(NamedTuple):
  path: str
  key: str
  spec: Any
  dims: Tuple[Optional[int], ...]  # Without the batch dimension.
  numpy_dtype: Optional[np.dtype]  # None for strings.
  is_action: bool  # The critic layout's action (its batch may be larger).
  compare_batch: bool  # Its batch size must match the other features'.


def _label(path: str, spec: Any) -> str:
  return f"'{path}' (name {specs.spec_name(spec, path)!r})"


class FeatureFeeder:
  """Validates a numpy feature dict and maps it to function arguments.

  An example without the batch dimension gets one added (per feature, so a
  CEM policy may pass one state and a batch of candidate actions).

  Example:
    >>> feeder = FeatureFeeder(feature_spec, {'state': 'state_input'})
    >>> feeder({'state': np.zeros(8, np.float32)})['state_input'].shape
    (1, 8)

  Args:
    flat_spec: The specs to check, keyed by path (unbatched shapes).
    input_keys: The argument key of each path; defaults to the path.
    own_input_paths: Paths of inputs that are the function's own rather than
      features of the model (no batch size check against the features).
  """

  def __init__(self,
               flat_spec: Any,
               input_keys: Optional[Mapping[str, str]] = None,
               own_input_paths: Sequence[str] = ()):
    flat_spec = specs.flatten_spec_structure(flat_spec)
    input_keys = dict(input_keys or {})
    own_input_paths = frozenset(own_input_paths)
    self._expected = []
    for path, spec in flat_spec.items():
      dims = tuple(spec.shape.as_list())
      if getattr(spec, 'is_sequence', False):
        dims = (None,) + dims
      numpy_dtype = (None if spec.dtype == tf.string else np.dtype(
          spec.dtype.as_numpy_dtype))
      self._expected.append(
          _Expected(path, input_keys.get(path, path), spec, dims, numpy_dtype,
                    specs.is_action_path(path), path not in own_input_paths))
    self._paths = [e.path for e in self._expected]
    self._flat_spec = flat_spec

  @property
  def paths(self):
    """The feature paths a call needs, in order."""
    return list(self._paths)

  @property
  def flat_spec(self) -> specs.TensorSpecStruct:
    """The specs checked, keyed by path."""
    return self._flat_spec

  def batch_size_problem(self, inputs: Mapping[str, np.ndarray]
                        ) -> Optional[str]:
    """Describes the batch sizes of `inputs` if they differ, else None.

    Args:
      inputs: What `__call__` returned (keyed by argument key).

    Returns:
      E.g. "'state/pose' (name 'robot/pose'): 2, 'state/image' (name
      'image'): 3", or None if every input has the same batch size.
    """
    sizes = [(e, inputs[e.key].shape[0]) for e in self._expected
             if e.compare_batch and e.key in inputs]
    if len({size for _, size in sizes}) <= 1:
      return None
    return ', '.join(f'{_label(e.path, e.spec)}: {size}'
                     for e, size in sorted(sizes, key=lambda p: p[0].path))

  def __call__(self, features: Any) -> Dict[str, np.ndarray]:
    """Returns `{argument key: batched array}` for the expected features.

    Args:
      features: A dict (flat by path, or nested) or `TensorSpecStruct` of
        numpy-compatible values; entries the specs do not declare are
        ignored.

    Returns:
      The checked arrays, each with a leading batch dimension.

    Raises:
      ValueError: If a feature is missing, or its shape or dtype does not
        match its spec (the message names the path, spec name, expected and
        received shape and dtype), or the features have different batch
        sizes (other than a critic's actions, see the module docstring).
      TypeError: If `features` is not a dict.
    """
    if not isinstance(features, Mapping):
      raise TypeError(
          f'predict expects a dict of numpy arrays keyed by feature path '
          f'{self._paths}, got {type(features).__name__}.')
    if isinstance(features, specs.TensorSpecStruct) or any(
        isinstance(v, Mapping) for v in features.values()):
      features = specs.flatten_spec_structure(features)
    inputs = {}
    batch_size, same_batch_size = None, True
    for expected in self._expected:
      if expected.path not in features:
        raise ValueError(
            f'Feature {_label(expected.path, expected.spec)} is missing: '
            f'predict got {sorted(features)}, the model needs '
            f'{self._paths}. Pass an array of shape '
            f'{expected.dims} ({expected.spec.dtype.name}) under '
            f'{expected.path!r}, with or without a leading batch dimension.')
      array = self._check(expected, features[expected.path])
      inputs[expected.key] = array
      if not expected.compare_batch:
        continue
      if batch_size is None:
        batch_size = array.shape[0]
      elif array.shape[0] != batch_size:
        same_batch_size = False
    if not same_batch_size:
      self._check_batch_sizes(inputs)
    return inputs

  def _check_batch_sizes(self, inputs: Dict[str, np.ndarray]):
    """Raises unless differing batch sizes follow the critic layout."""
    state = {inputs[e.key].shape[0] for e in self._expected
             if e.compare_batch and not e.is_action}
    actions = {inputs[e.key].shape[0] for e in self._expected
               if e.compare_batch and e.is_action}
    if (len(state) == 1 and len(actions) == 1 and min(state) > 0 and
        min(actions) % min(state) == 0):
      return  # B states, B * N candidate actions.
    raise ValueError(
        f'The features have different batch sizes: '
        f'{self.batch_size_problem(inputs)}. Pass the same number of '
        'examples for every feature (a feature without the batch dimension '
        "counts as a batch of one); only a critic's action features may "
        'hold a multiple of the state batch (N candidate actions per '
        'state).')

  @staticmethod
  def _check(expected: _Expected, value: Any) -> np.ndarray:
    array = value if isinstance(value, np.ndarray) else np.asarray(value)
    if array.dtype.kind == 'S' and not isinstance(value, np.ndarray):
      # numpy's fixed-size bytes drop trailing NUL bytes (which serialized
      # protos may end with); objects keep the bytes as given.
      array = np.asarray(value, dtype=object)
    if array.ndim == len(expected.dims):
      array = array[np.newaxis]
    if expected.numpy_dtype is None:
      dtype_ok = array.dtype.kind in _STRING_KINDS
    else:
      dtype_ok = array.dtype == expected.numpy_dtype
    shape_ok = array.ndim == len(expected.dims) + 1 and all(
        want is None or want == got
        for want, got in zip(expected.dims, array.shape[1:]))
    if not (dtype_ok and shape_ok):
      specs.check_value_matches_spec(
          expected.path, expected.spec, array, ignore_batch=True)
    return array
