"""`AbstractPreprocessor`: a spec-checked step between records and a model.

A preprocessor declares what it reads (the *in* specs, which the input
generator parses from records) and what it produces (the *out* specs, which
the model consumes). `preprocess` checks both sides against those
declarations, so a mismatch is reported where it happens, naming the path and
spec, instead of surfacing as a shape error deep inside the model.
"""

import abc
from typing import Any, Callable, Optional, Tuple

import gin
import tensorflow as tf

from t2r import specs
from t2r.errors import SpecTypeError
from t2r.modes import ModeKeys

SpecFn = Callable[[str], Any]


@gin.configurable
class AbstractPreprocessor(abc.ABC):
  """Base class of preprocessors: validates input and output against specs.

  Subclasses declare the four specifications and implement `_preprocess_fn`.
  `preprocess` runs on *batched* tensors: every tensor has a leading batch
  dimension (which may be None inside tf.data or tf.function), and sequence
  specs (`is_sequence=True`) add a time dimension after it.

  Example:
    >>> class Scale(NoOpPreprocessor):
    ...   def _preprocess_fn(self, features, labels, mode):
    ...     features.state = features.state * 2.0
    ...     return features, labels
    >>> pre = Scale(model.get_feature_specification,
    ...             model.get_label_specification)
    >>> features, labels = pre.preprocess(features, labels, ModeKeys.TRAIN)

  Args:
    model_feature_specification_fn: Callable mode -> feature spec structure of
      the model (e.g. `T2RModel.get_feature_specification`). May be set later
      through the property of the same name.
    model_label_specification_fn: Callable mode -> label spec structure of the
      model (e.g. `T2RModel.get_label_specification`).
    is_model_device_tpu: The model runs on TPU; subclasses may use it to
      choose TPU-friendly dtypes.

  Raises:
    SpecTypeError: If a specification fn is not callable, or returns a
      structure whose leaves are not tensor specs (a TypeError, and the
      ValueError Tensor2Robot raised).
    ValueError: If a specification fn returns specs that reuse a name for
      different shapes or dtypes.
  """

  def __init__(self,
               model_feature_specification_fn: Optional[SpecFn] = None,
               model_label_specification_fn: Optional[SpecFn] = None,
               is_model_device_tpu: bool = False):
    self.model_feature_specification_fn = model_feature_specification_fn
    self.model_label_specification_fn = model_label_specification_fn
    self._is_model_device_tpu = bool(is_model_device_tpu)

  @property
  def model_feature_specification_fn(self) -> Optional[SpecFn]:
    return self._model_feature_specification_fn

  @model_feature_specification_fn.setter
  def model_feature_specification_fn(self, spec_fn: Optional[SpecFn]):
    self._model_feature_specification_fn = _checked_spec_fn(
        spec_fn, 'model_feature_specification_fn')

  @property
  def model_label_specification_fn(self) -> Optional[SpecFn]:
    return self._model_label_specification_fn

  @model_label_specification_fn.setter
  def model_label_specification_fn(self, spec_fn: Optional[SpecFn]):
    self._model_label_specification_fn = _checked_spec_fn(
        spec_fn, 'model_label_specification_fn')

  @property
  def is_model_device_tpu(self) -> bool:
    return self._is_model_device_tpu

  def _model_feature_specification(self, mode: str) -> Any:
    """The model's feature spec for `mode`; raises if no fn was given."""
    return self._call_spec_fn(self._model_feature_specification_fn,
                              'model_feature_specification_fn',
                              'get_feature_specification', mode)

  def _model_label_specification(self, mode: str) -> Any:
    """The model's label spec for `mode`; raises if no fn was given."""
    return self._call_spec_fn(self._model_label_specification_fn,
                              'model_label_specification_fn',
                              'get_label_specification', mode)

  def _call_spec_fn(self, spec_fn: Optional[SpecFn], attribute: str,
                    model_method: str, mode: str) -> Any:
    if spec_fn is None:
      raise ValueError(
          f'{type(self).__name__} has no {attribute}, so it cannot derive its '
          f'specs for mode {mode!r}. Pass {attribute}= to the constructor or '
          f'set preprocessor.{attribute} = model.{model_method}.')
    return spec_fn(ModeKeys.validate(mode))

  @abc.abstractmethod
  def get_in_feature_specification(self, mode: str) -> Any:
    """The spec structure of the features `preprocess` reads in `mode`."""

  @abc.abstractmethod
  def get_in_label_specification(self, mode: str) -> Any:
    """The spec structure of the labels `preprocess` reads in `mode`."""

  @abc.abstractmethod
  def get_out_feature_specification(self, mode: str) -> Any:
    """The spec structure of the features `preprocess` returns in `mode`."""

  @abc.abstractmethod
  def get_out_label_specification(self, mode: str) -> Any:
    """The spec structure of the labels `preprocess` returns in `mode`."""

  @abc.abstractmethod
  def _preprocess_fn(self, features: specs.TensorSpecStruct,
                     labels: Optional[specs.TensorSpecStruct],
                     mode: str) -> Tuple[Any, Any]:
    """Transforms one batch; called by `preprocess` with validated input.

    Args:
      features: Batched features packed like `get_in_feature_specification`.
      labels: Batched labels packed like `get_in_label_specification`, or
        None (e.g. in PREDICT).
      mode: A `ModeKeys` value.

    Returns:
      (features, labels) matching the out specifications; labels may be None
      only if the given labels were None.
    """

  # AutoGraph would transpile every spec helper this calls (seconds per
  # tf.data map trace) for nothing: all branching here depends on specs, not
  # on tensor values.
  @tf.autograph.experimental.do_not_convert
  def preprocess(self, features: Any, labels: Any,
                 mode: str) -> Tuple[Any, Any]:
    """Validates the input, runs `_preprocess_fn` and validates its output.

    Runs without AutoGraph, also inside tf.data and tf.function: branch on
    tensor values in `_preprocess_fn` with tf.cond / tf.where, not `if`.

    Args:
      features: Batched features laid out like (or flattened from)
        `get_in_feature_specification(mode)`; entries the spec does not
        declare are dropped.
      labels: Batched labels like `get_in_label_specification(mode)`, or None.
      mode: A `ModeKeys` value.

    Returns:
      (features, labels) packed like the out specifications (labels None if
      the given labels were None).

    Raises:
      ValueError: If the input misses a required spec or has a wrong shape or
        dtype, if `_preprocess_fn` returns tensors that do not match the out
        specs, or if `mode` is unknown. The message names the path and spec.
    """
    ModeKeys.validate(mode)
    features = self._validate('input features', 'get_in_feature_specification',
                              self.get_in_feature_specification(mode),
                              features, mode)
    if labels is not None:
      labels = self._validate('input labels', 'get_in_label_specification',
                              self.get_in_label_specification(mode), labels,
                              mode)
    out_features, out_labels = self._preprocess_fn(
        features=features, labels=labels, mode=mode)
    out_features = self._validate('output features',
                                  'get_out_feature_specification',
                                  self.get_out_feature_specification(mode),
                                  out_features, mode)
    if out_labels is None:
      if labels is not None:
        raise ValueError(
            f'{type(self).__name__}._preprocess_fn returned labels None in '
            f'mode {mode!r} although it was given labels. Return the labels '
            '(transformed or unchanged) as the second element.')
      return out_features, None
    out_labels = self._validate('output labels', 'get_out_label_specification',
                                self.get_out_label_specification(mode),
                                out_labels, mode)
    return out_features, out_labels

  def _validate(self, what: str, spec_method: str, expected_spec: Any,
                values: Any, mode: str) -> Any:
    """validate_and_pack with an error that says which side failed."""
    try:
      return specs.validate_and_pack(expected_spec, values, ignore_batch=True)
    except ValueError as e:
      if what.startswith('output'):
        fix = (f'This is a bug in {type(self).__name__}._preprocess_fn: make '
               f'it return what {spec_method} declares.')
      else:
        fix = (f'Feed data matching {type(self).__name__}.{spec_method}(mode) '
               '(that is what the input generator parses).')
      raise ValueError(f'{type(self).__name__}: {what} in mode {mode!r} do '
                       f'not match {spec_method}: {e} {fix}') from e


def _checked_spec_fn(spec_fn: Optional[SpecFn],
                     attribute: str) -> Optional[SpecFn]:
  """Checks that `spec_fn` is callable and yields valid specs in every mode."""
  if spec_fn is None:
    return None
  if not callable(spec_fn):
    raise SpecTypeError(
        f'{attribute} must be a callable mode -> spec structure, got '
        f'{type(spec_fn).__name__}: {spec_fn!r}. Pass the model method '
        '(model.get_feature_specification, without calling it) or a '
        'function of the mode.')
  for mode in ModeKeys.ALL:
    specs.assert_valid_spec_structure(spec_fn(mode))
  return spec_fn
