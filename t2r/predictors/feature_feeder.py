"""Checks numpy features against specs and keys them for a model function.

`predict` runs on every control step of a robot, so the check is a few
precomputed comparisons per feature; only a failing feature goes through
`specs.check_value_matches_spec` to build the detailed error message.
"""

from typing import Any, Dict, Mapping, NamedTuple, Optional, Tuple

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
  """

  def __init__(self,
               flat_spec: Any,
               input_keys: Optional[Mapping[str, str]] = None):
    flat_spec = specs.flatten_spec_structure(flat_spec)
    input_keys = dict(input_keys or {})
    self._expected = []
    for path, spec in flat_spec.items():
      dims = tuple(spec.shape.as_list())
      if getattr(spec, 'is_sequence', False):
        dims = (None,) + dims
      numpy_dtype = (None if spec.dtype == tf.string else np.dtype(
          spec.dtype.as_numpy_dtype))
      self._expected.append(
          _Expected(path, input_keys.get(path, path), spec, dims, numpy_dtype))
    self._paths = [e.path for e in self._expected]

  @property
  def paths(self):
    """The feature paths a call needs, in order."""
    return list(self._paths)

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
        received shape and dtype).
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
    for expected in self._expected:
      if expected.path not in features:
        raise ValueError(
            f'Feature {_label(expected.path, expected.spec)} is missing: '
            f'predict got {sorted(features)}, the model needs '
            f'{self._paths}. Pass an array of shape '
            f'{expected.dims} ({expected.spec.dtype.name}) under '
            f'{expected.path!r}, with or without a leading batch dimension.')
      inputs[expected.key] = self._check(expected, features[expected.path])
    return inputs

  @staticmethod
  def _check(expected: _Expected, value: Any) -> np.ndarray:
    array = value if isinstance(value, np.ndarray) else np.asarray(value)
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
