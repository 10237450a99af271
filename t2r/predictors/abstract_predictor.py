"""`AbstractPredictor`: what a robot or a policy needs from a trained model.

A predictor turns numpy features into numpy outputs and can reload newer
weights while it runs. Implementations: `ExportedSavedModelPredictor` (a
SavedModel export; TensorFlow and `t2r.specs` only) and `CheckpointPredictor`
(training checkpoints, with the model's code).
"""

import abc
from typing import Any, Dict, Optional

import numpy as np

from t2r import specs


class AbstractPredictor(abc.ABC):
  """The predictor interface of Tensor2Robot.

  Example:
    >>> predictor = ExportedSavedModelPredictor('/tmp/model/export')
    >>> predictor.restore()
    True
    >>> predictor.predict({'state': np.zeros(8, np.float32)})['action'].shape
    (1, 2)
  """

  @abc.abstractmethod
  def predict(self, features: Any) -> Dict[str, np.ndarray]:
    """Returns the model outputs for numpy `features` (keyed by spec path).

    Raises:
      ValueError: If no model is loaded, or a feature is missing or has the
        wrong shape or dtype.
    """

  @abc.abstractmethod
  def get_feature_specification(self) -> specs.TensorSpecStruct:
    """The feature spec `predict` validates against (PREDICT in-specs)."""

  def get_label_specification(self) -> Optional[specs.TensorSpecStruct]:
    """The label spec stored with the model, if any."""
    return None

  @abc.abstractmethod
  def restore(self) -> bool:
    """Loads the newest weights; true if newer weights are now in use.

    Callers test the result's truth only: an implementation may return a
    richer object (`ExportedSavedModelPredictor` returns a `RestoreResult`
    that also names the exports it skipped).
    """

  def init_randomly(self):
    """Initializes the weights randomly (for tests and cold starts)."""
    raise NotImplementedError(
        f'{type(self).__name__} cannot initialize weights randomly; it only '
        'serves trained models. Call restore() instead.')

  def close(self):
    """Releases the loaded model and any background work."""

  @property
  @abc.abstractmethod
  def is_loaded(self) -> bool:
    """True once a model is loaded and `predict` can run."""

  def assert_is_loaded(self):
    """Raises ValueError unless a model is loaded."""
    if not self.is_loaded:
      raise ValueError(
          f'{type(self).__name__} has no model loaded yet, so it cannot '
          'predict. Call restore() first (it returns False while no model '
          'is available) or init_randomly().')

  @property
  @abc.abstractmethod
  def model_version(self) -> int:
    """The version of the loaded model (-1 before one is loaded)."""

  @property
  @abc.abstractmethod
  def global_step(self) -> int:
    """The training step of the loaded weights (-1 before one is loaded)."""

  @property
  @abc.abstractmethod
  def model_path(self) -> Optional[str]:
    """Where the loaded model came from (None before one is loaded)."""
