"""`CheckpointPredictor`: predicts with a T2RModel restored from checkpoints.

For evaluation jobs that have the model code: it restores the training
checkpoints `train_eval_model` writes (`tf.train.Checkpoint(model=...,
optimizer=...)`) into the given model instance, so no export is needed. The
model is passed in, never imported: predictors depend on specs only.
"""

from typing import Any, Dict, Optional

from absl import logging
import gin
import numpy as np
import tensorflow as tf

from t2r import specs
from t2r.modes import ModeKeys
from t2r.predictors.abstract_predictor import AbstractPredictor
from t2r.predictors.feature_feeder import FeatureFeeder


@gin.configurable
class CheckpointPredictor(AbstractPredictor):
  """Predicts with the latest checkpoint of a training job.

  With an EMA optimizer, it predicts with the averaged weights (as exports
  and evaluation do).

  Example:
    >>> predictor = CheckpointPredictor(MyModel(), '/tmp/model_dir')
    >>> predictor.restore()
    True
    >>> predictor.predict({'state': np.zeros(8, np.float32)})['action']

  Args:
    t2r_model: A `T2RModel` instance of the trained architecture.
    checkpoint_dir: The directory the training job writes checkpoints to.
  """

  def __init__(self, t2r_model: Any, checkpoint_dir: str):
    self._model = t2r_model
    self._checkpoint_dir = checkpoint_dir
    self._checkpoint_path = None
    self._global_step = -1
    preprocessor = t2r_model.preprocessor
    self._feature_spec = specs.flatten_spec_structure(
        preprocessor.get_in_feature_specification(ModeKeys.PREDICT))
    required = specs.filter_required_flat_tensor_spec(self._feature_spec)
    self._feeder = FeatureFeeder(required)
    # The step lives in the optimizer; a fresh one is restored into.
    if t2r_model.optimizer is None:
      t2r_model.compile()
    if not t2r_model.built:
      t2r_model.build_from_specs()
    self._checkpoint = tf.train.Checkpoint(model=t2r_model,
                                           optimizer=t2r_model.optimizer)
    signature = dict(specs.make_input_signature(required).items())

    @tf.function(input_signature=[signature])
    def serve(features):
      features, _ = t2r_model.preprocessor.preprocess(
          specs.TensorSpecStruct(features), None, ModeKeys.PREDICT)
      return dict(specs.flatten_spec_structure(
          t2r_model.call(features)).items())

    self._serve = serve

  def restore(self) -> bool:
    """Restores the latest checkpoint if it is newer than the loaded one."""
    latest = tf.train.latest_checkpoint(self._checkpoint_dir)
    if latest is None or latest == self._checkpoint_path:
      return False
    self._checkpoint.restore(latest).expect_partial()
    self._use_moving_averages()
    self._checkpoint_path = latest
    self._global_step = int(self._model.optimizer.iterations.numpy())
    logging.info('Restored %s (global step %d).', latest, self._global_step)
    return True

  def _use_moving_averages(self):
    """Copies the optimizer's weight averages (if any) into the model once.

    Swapping them in per `predict` call would race between threads; the next
    `restore` overwrites weights and averages from the checkpoint anyway.
    """
    variables = self._model.trainable_variables
    with self._model.moving_average_weights() as swapped:
      averages = [v.numpy() for v in variables] if swapped else None
    if averages is not None:
      for variable, average in zip(variables, averages):
        variable.assign(average)

  def init_randomly(self):
    """Serves the model's initial weights (no checkpoint)."""
    self._checkpoint_path = '<random initialization>'
    self._global_step = 0

  def predict(self, features: Any) -> Dict[str, np.ndarray]:
    """Runs preprocess and the model in PREDICT on numpy features.

    Raises:
      ValueError: If nothing is restored yet, or a feature is missing or
        misshaped.
    """
    self.assert_is_loaded()
    outputs = self._serve(self._feeder(features))
    return {name: value.numpy() for name, value in outputs.items()}

  def get_feature_specification(self) -> specs.TensorSpecStruct:
    return self._feature_spec

  def get_label_specification(self) -> Optional[specs.TensorSpecStruct]:
    label_spec = self._model.preprocessor.get_in_label_specification(
        ModeKeys.PREDICT)
    return specs.flatten_spec_structure(label_spec) if label_spec else None

  @property
  def is_loaded(self) -> bool:
    return self._checkpoint_path is not None

  @property
  def model_version(self) -> int:
    return self._global_step

  @property
  def global_step(self) -> int:
    return self._global_step

  @property
  def model_path(self) -> Optional[str]:
    return self._checkpoint_path
