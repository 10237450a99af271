"""`MAMLPreprocessor`: applies a base model's preprocessor to every task.

Its in and out specs are the meta specs (`meta_specs`) of the base
preprocessor's in and out specs, so records are parsed by the base
preprocessor's in specs (e.g. JPEG images) and the meta model receives the
base model's specs (e.g. float images), per task and sample. Preprocessing
merges the task and sample dimensions, runs the base preprocessor once on
the condition set and once on the inference set, and splits them again.
"""

from typing import Any, Callable, Optional, Tuple

import gin
import tensorflow as tf

from preprocessors import abstract_preprocessor
from t2r import specs
from t2r.meta_learning import meta_specs

# mode -> (condition samples per task, inference samples per task); None for
# any number.
NumSamplesFn = Callable[[str], Tuple[Optional[int], Optional[int]]]


@gin.configurable
class MAMLPreprocessor(abstract_preprocessor.AbstractPreprocessor):
  """The meta version of a base preprocessor (see the module docstring).

  Example:
    >>> pre = MAMLPreprocessor(base_model.preprocessor, lambda mode: (5, 10))
    >>> pre.get_in_feature_specification('train')['condition/labels/y'].shape
    TensorShape([5, 1])

  Args:
    base_preprocessor: The base model's preprocessor (an
      `AbstractPreprocessor`).
    num_samples_fn: mode -> (K, N), the condition and inference samples per
      task (None: any number).

  Raises:
    TypeError: If `base_preprocessor` lacks the preprocessor methods or
      `num_samples_fn` is not callable.
  """

  def __init__(self, base_preprocessor: Any, num_samples_fn: NumSamplesFn):
    super().__init__()
    for method in ('get_in_feature_specification', 'get_in_label_specification',
                   'preprocess'):
      if not callable(getattr(base_preprocessor, method, None)):
        raise TypeError(
            f'MAMLPreprocessor needs a base preprocessor with {method}(); got '
            f'{type(base_preprocessor).__name__}. Pass base_model.preprocessor.')
    if not callable(num_samples_fn):
      raise TypeError(
          f'num_samples_fn must be callable mode -> (K, N), got '
          f'{num_samples_fn!r}.')
    self._base = base_preprocessor
    self._num_samples_fn = num_samples_fn

  @property
  def base_preprocessor(self) -> Any:
    return self._base

  def _base_spec(self, kind: str, mode: str) -> Any:
    method = getattr(self._base, f'get_{kind}_specification', None)
    if method is None:  # A preprocessor without out specs keeps the in ones.
      method = getattr(self._base,
                       f'get_{kind.replace("out", "in")}_specification')
    spec = method(mode)
    return specs.TensorSpecStruct() if spec is None else spec

  def _features(self, side: str, mode: str) -> specs.TensorSpecStruct:
    k, n = self._num_samples_fn(mode)
    return meta_specs.create_maml_feature_spec(
        self._base_spec(f'{side}_feature', mode),
        self._base_spec(f'{side}_label', mode), k, n)

  def _labels(self, side: str, mode: str) -> specs.TensorSpecStruct:
    _, n = self._num_samples_fn(mode)
    return meta_specs.create_maml_label_spec(
        self._base_spec(f'{side}_label', mode), n)

  def get_in_feature_specification(self, mode: str) -> specs.TensorSpecStruct:
    return self._features('in', mode)

  def get_in_label_specification(self, mode: str) -> specs.TensorSpecStruct:
    return self._labels('in', mode)

  def get_out_feature_specification(self, mode: str) -> specs.TensorSpecStruct:
    return self._features('out', mode)

  def get_out_label_specification(self, mode: str) -> specs.TensorSpecStruct:
    return self._labels('out', mode)

  def _preprocess_set(self, features: Any, labels: Any,
                      mode: str) -> Tuple[Any, Any]:
    """Base-preprocesses one (tasks, samples, ...) set; returns it split."""
    merged_features, outer = meta_specs.merge_samples(features)
    static = tf.TensorShape(next(iter(
        specs.flatten_spec_structure(features).values())).shape[:2])
    merged_labels = None
    if labels is not None and specs.flatten_spec_structure(labels):
      merged_labels, _ = meta_specs.merge_samples(labels)
    out_features, out_labels = self._base.preprocess(merged_features,
                                                     merged_labels, mode)
    out_features = meta_specs.split_samples(out_features, outer, static)
    if out_labels is not None:
      out_labels = meta_specs.split_samples(out_labels, outer, static)
    return out_features, out_labels

  def _preprocess_fn(self, features, labels, mode):
    out = specs.TensorSpecStruct()
    condition_labels = features.get(meta_specs.CONDITION_LABELS)
    condition_features, condition_labels = self._preprocess_set(
        features[meta_specs.CONDITION_FEATURES], condition_labels, mode)
    out[meta_specs.CONDITION_FEATURES] = condition_features
    if condition_labels is not None:
      out[meta_specs.CONDITION_LABELS] = condition_labels
    meta_labels = None
    if labels is not None:
      meta_labels = labels.get(meta_specs.META_LABELS)
    inference_features, inference_labels = self._preprocess_set(
        features[meta_specs.INFERENCE_FEATURES], meta_labels, mode)
    out[meta_specs.INFERENCE_FEATURES] = inference_features
    out_labels = None
    if labels is not None:
      out_labels = specs.TensorSpecStruct()
      if inference_labels is not None:
        out_labels[meta_specs.META_LABELS] = inference_labels
    return out, out_labels
