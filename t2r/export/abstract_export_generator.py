"""`AbstractExportGenerator`: writes a T2RModel as a hermetic SavedModel.

An export holds everything a robot needs and nothing of the training code:
the serving signatures (TensorFlow graphs over the model's variables) and
`assets.extra/t2r_assets.pbtxt` with the PREDICT feature and label specs, the
global step and where the model came from (see `t2r.provenance`: the code's
git commit, an export id and, in `assets.extra/t2r_training_data.json`, the
training files). It is written under a temporary
name and renamed to `<export_root>/<global_step>` once complete, so readers
(`ExportedSavedModelPredictor`) never load a partial export.
"""

import abc
import os
from typing import Any, Dict, Optional, Sequence

from absl import logging
import gin
import tensorflow as tf

from t2r import provenance
from t2r import specs
from t2r.modes import ModeKeys
from t2r.predictors import export_dirs


def predict_outputs(t2r_model: Any, features: Any) -> Dict[str, tf.Tensor]:
  """Preprocesses raw PREDICT features and returns the model's export outputs.

  Args:
    t2r_model: A `T2RModel`.
    features: Batched features laid out like the preprocessor's PREDICT
      in-feature spec.

  Returns:
    `create_export_outputs_fn`'s tensors, keyed by flat '/'-joined names.
  """
  features, _ = t2r_model.preprocessor.preprocess(
      specs.TensorSpecStruct(features), None, ModeKeys.PREDICT)
  # `call` directly, not tf-keras' __call__: from an export hook inside
  # `fit`, __call__ failed with "test_step() got an unexpected keyword
  # argument 'training'" (tf-keras 2.21); `call` is the PREDICT contract.
  outputs = t2r_model.call(features)
  return dict(specs.flatten_spec_structure(outputs).items())


def model_class_name(t2r_model: Any) -> str:
  """The fully qualified class name recorded in the export's provenance."""
  cls = type(t2r_model)
  return f'{cls.__module__}.{cls.__qualname__}'


@gin.configurable
class AbstractExportGenerator(abc.ABC):
  """Builds the serving signatures of a T2RModel and writes the SavedModel.

  Subclasses implement `create_signatures`; `export` does the rest (specs,
  assets, atomic write).

  Example:
    >>> generator = DefaultExportGenerator()
    >>> path = generator.export(model, '/tmp/model/export')
    >>> path
    '/tmp/model/export/1200'
  """

  def __init__(self):
    self._feature_spec = None
    self._label_spec = None

  def set_specification_from_model(self, t2r_model: Any):
    """Reads the preprocessor's PREDICT in-specs: what the export is fed."""
    preprocessor = t2r_model.preprocessor
    self._feature_spec = specs.flatten_spec_structure(
        preprocessor.get_in_feature_specification(ModeKeys.PREDICT))
    label_spec = preprocessor.get_in_label_specification(ModeKeys.PREDICT)
    self._label_spec = (
        specs.flatten_spec_structure(label_spec) if label_spec else None)

  @property
  def feature_spec(self) -> specs.TensorSpecStruct:
    """The PREDICT in-feature spec (after `set_specification_from_model`)."""
    if self._feature_spec is None:
      raise ValueError(
          f'{type(self).__name__} has no specs yet: call '
          'set_specification_from_model(t2r_model) or export(t2r_model, ...).')
    return self._feature_spec

  @property
  def required_feature_spec(self) -> specs.TensorSpecStruct:
    """The non-optional PREDICT in-features: the serving inputs."""
    return specs.filter_required_flat_tensor_spec(self.feature_spec)

  @abc.abstractmethod
  def create_signatures(self, t2r_model: Any) -> Dict[str, Any]:
    """Returns {signature name: concrete function} for the SavedModel."""

  def export(self,
             t2r_model: Any,
             export_root: str,
             global_step: Optional[int] = None,
             operative_gin_config: Optional[str] = None,
             extra_provenance: Optional[Dict[str, str]] = None,
             training_files: Optional[Sequence[provenance.DataFile]] = None
            ) -> str:
    """Writes the model as `<export_root>/<global_step>/`, atomically.

    The weights exported are the optimizer's moving averages when it keeps
    them (see `T2RModel.moving_average_weights`), else the model's.

    Args:
      t2r_model: The `T2RModel` to export.
      export_root: The directory holding the versions (any tf.io.gfile path).
      global_step: The version; defaults to the model's global step (0 for a
        model without optimizer).
      operative_gin_config: Recorded in the provenance; defaults to
        `gin.operative_config_str()`.
      extra_provenance: More key/value pairs for the provenance. A new
        `export_id` and the git state of the code (`provenance.code_version`)
        are always added.
      training_files: The files the model was trained on (from
        `provenance.describe_files`), written to
        `assets.extra/t2r_training_data.json`; None writes no such file.

    Returns:
      The path of the export. If that version exists already, it is kept
      and its path returned.
    """
    self.set_specification_from_model(t2r_model)
    if global_step is None:
      global_step = (
          int(t2r_model.optimizer.iterations.numpy())
          if t2r_model.optimizer is not None else 0)
    global_step = int(global_step)
    final_path = os.path.join(export_root,
                              export_dirs.version_dir_name(global_step))
    if tf.io.gfile.exists(final_path):
      logging.info('Export %s exists already; keeping it.', final_path)
      return final_path
    if not t2r_model.built:
      t2r_model.build_from_specs()
    temp_path = os.path.join(export_root, export_dirs.temp_dir_name(global_step))
    tf.io.gfile.makedirs(export_root)
    try:
      module = tf.Module()
      # Tracked so the signatures' captured variables are saved.
      module.model_variables = list(t2r_model.variables)
      with t2r_model.moving_average_weights():
        signatures = self.create_signatures(t2r_model)
        tf.saved_model.save(module, temp_path, signatures=signatures)
      assets = specs.make_t2r_assets(
          self.feature_spec,
          self._label_spec,
          global_step=global_step,
          operative_gin_config=(operative_gin_config
                                if operative_gin_config is not None else
                                gin.operative_config_str()),
          model_class=model_class_name(t2r_model),
          extra={provenance.EXPORT_ID: provenance.new_export_id(),
                 **provenance.code_version().as_extra(),
                 **(extra_provenance or {})})
      self.write_extra_assets(temp_path)
      if training_files is not None:
        provenance.write_training_data(temp_path, training_files)
      specs.write_t2r_assets(assets, temp_path)
      tf.io.gfile.rename(temp_path, final_path)
    except BaseException:
      if tf.io.gfile.exists(temp_path):
        tf.io.gfile.rmtree(temp_path)
      raise
    logging.info('Exported %s to %s.', model_class_name(t2r_model), final_path)
    return final_path

  def write_extra_assets(self, export_dir: str):
    """Hook for more files under `assets.extra/` (before the t2r assets)."""
