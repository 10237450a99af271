"""Predictors: run trained models on numpy inputs (TensorFlow + specs only).

Example:
  >>> from t2r.predictors import ExportedSavedModelPredictor
  >>> predictor = ExportedSavedModelPredictor('/tmp/model/export')
  >>> predictor.restore()        # A RestoreResult: true if newer is in use.
  >>> predictor.predict({'state': state})
"""

from t2r.predictors.abstract_predictor import AbstractPredictor
from t2r.predictors.checkpoint_predictor import CheckpointPredictor
from t2r.predictors.export_dirs import latest_export
from t2r.predictors.export_dirs import list_exports
from t2r.predictors.exported_savedmodel_predictor import BrokenExportError
from t2r.predictors.exported_savedmodel_predictor import ExportedSavedModelPredictor
from t2r.predictors.exported_savedmodel_predictor import RestoreResult
from t2r.predictors.exported_savedmodel_predictor import SkippedExport
