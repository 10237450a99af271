"""`NoOpPreprocessor`: reads and returns exactly what the model declares."""

from typing import Any, Optional, Tuple

import gin

from preprocessors.abstract_preprocessor import AbstractPreprocessor
from t2r import specs


@gin.configurable
class NoOpPreprocessor(AbstractPreprocessor):
  """The identity preprocessor: in specs == out specs == the model's specs.

  The default for models whose records already hold what they consume; it
  still validates every batch against the model's specs.

  Example:
    >>> pre = NoOpPreprocessor(model.get_feature_specification,
    ...                        model.get_label_specification)
    >>> features, labels = pre.preprocess(features, labels, ModeKeys.TRAIN)
  """

  def get_in_feature_specification(self, mode: str) -> Any:
    return self._model_feature_specification(mode)

  def get_in_label_specification(self, mode: str) -> Any:
    return self._model_label_specification(mode)

  def get_out_feature_specification(self, mode: str) -> Any:
    return self._model_feature_specification(mode)

  def get_out_label_specification(self, mode: str) -> Any:
    return self._model_label_specification(mode)

  def _preprocess_fn(
      self, features: specs.TensorSpecStruct,
      labels: Optional[specs.TensorSpecStruct],
      mode: str) -> Tuple[Any, Any]:
    return features, labels
