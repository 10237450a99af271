"""`AbstractPreprocessor`: a spec-checked step between records and a model.

A preprocessor declares what it reads (the *in* specs, which the input
generator parses from records) and what it produces (the *out* specs, which
the model consumes). `preprocess` checks both sides against those
declarations, so a mismatch is reported where it happens, naming the path and
spec, instead of surfacing as a shape error deep inside the model.
"""

import abc
from typing import Any, Callable, Dict, Mapping, Optional, Tuple

import gin
import tensorflow as tf

from t2r import specs
from t2r.data import decode_hints as decode_hints_lib
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

  def decode_hints(self, mode: str) -> Dict[str, decode_hints_lib.DecodeHint]:
    """Which crop / resize `preprocess` applies first to each image, if any.

    The input generator passes the hints to the parser, which may then
    decode only the crop window or decode at a DCT-scaled size (see
    `t2r.data.decode_hints`) and tells `preprocess` the sizes it decoded to
    (`decoded_image_sizes`). A preprocessor that returns a hint for a path
    must accept that image at the stored size and at the decoded size. The
    default declares none: every image is decoded in full.

    Example:
      >>> pre.decode_hints(ModeKeys.TRAIN)
      {'state/image': DecodeHint(crop_size=(472, 472), random_crop=True,
                                 resize_to=(472, 472))}

    Args:
      mode: A `ModeKeys` value.

    Returns:
      `{path of the in feature spec: DecodeHint}`.
    """
    ModeKeys.validate(mode)
    return {}

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
  def preprocess(
      self,
      features: Any,
      labels: Any,
      mode: str,
      decoded_image_sizes: Optional[Mapping[str, Tuple[int, int]]] = None
  ) -> Tuple[Any, Any]:
    """Validates the input, runs `_preprocess_fn` and validates its output.

    Runs without AutoGraph, also inside tf.data and tf.function: branch on
    tensor values in `_preprocess_fn` with tf.cond / tf.where, not `if`.

    Args:
      features: Batched features laid out like (or flattened from)
        `get_in_feature_specification(mode)`; entries the spec does not
        declare are dropped.
      labels: Batched labels like `get_in_label_specification(mode)`, or None.
      mode: A `ModeKeys` value.
      decoded_image_sizes: `{path: (height, width)}` of images the parser
        decoded following `decode_hints(mode)` (a crop window, or a scaled
        size) instead of at the in spec's size; validated at that size.

    Returns:
      (features, labels) packed like the out specifications (labels None if
      the given labels were None).

    Raises:
      ValueError: If the input misses a required spec or has a wrong shape or
        dtype, if `_preprocess_fn` returns tensors that do not match the out
        specs, or if `mode` is unknown. The message names the path and spec.
    """
    ModeKeys.validate(mode)
    in_features = self.get_in_feature_specification(mode)
    if decoded_image_sizes:
      in_features = _with_decoded_sizes(self, in_features,
                                        decoded_image_sizes, mode)
    features = self._validate('input features', 'get_in_feature_specification',
                              in_features, features, mode)
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


def _with_decoded_sizes(preprocessor: AbstractPreprocessor, spec: Any,
                        sizes: Mapping[str, Tuple[int, int]],
                        mode: str) -> Any:
  """The in feature spec with hinted images at their decoded size.

  Raises:
    ValueError: If a path is not a hinted image of the spec.
  """
  hinted = preprocessor.decode_hints(mode)
  flat = specs.flatten_spec_structure(spec)
  for path, size in sizes.items():
    if path not in hinted or path not in flat.keys():
      raise ValueError(
          f'{type(preprocessor).__name__}.preprocess got decoded_image_sizes '
          f'for {path!r}, but its decode_hints({mode!r}) name only '
          f'{sorted(hinted)}. Pass sizes only for the hinted images (see '
          't2r.data.parsing.decoded_image_sizes).')
    shape = flat[path].shape.as_list()
    flat[path] = specs.ExtendedTensorSpec.from_spec(
        flat[path], shape=shape[:-3] + list(size) + shape[-1:])
  return specs.pack_flat_sequence_to_spec_structure(spec, flat)


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
