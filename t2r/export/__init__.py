"""Export generators (SavedModels with t2r assets) and training export hooks.

Example:
  >>> from t2r.export import DefaultExportGenerator, PeriodicExporter
  >>> DefaultExportGenerator().export(model, model_dir + '/export')
  >>> train_eval_model(..., export_hooks=[PeriodicExporter(every_n_steps=1000)])
"""

from t2r.export.abstract_export_generator import AbstractExportGenerator
from t2r.export.default_export_generator import DefaultExportGenerator
from t2r.export.export_hooks import BestExporter
from t2r.export.export_hooks import PeriodicExporter
