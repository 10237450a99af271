"""A meta-trained MAML model on linear tasks and its export, per session."""

import pytest
import tf_keras

from t2r import models
from t2r.meta_learning import maml_export_generator
from t2r.meta_learning import maml_model

from maml_test_models import MlpModel, linear_task_dataset

K, N = 5, 5


@pytest.fixture(scope='session')
def exported_maml(tmp_path_factory):
  """(MAML model meta-trained 150 steps on linear tasks, its export path)."""
  tf_keras.utils.set_random_seed(0)
  model = maml_model.MAMLModel(
      MlpModel(32), inner_learning_rate=0.1, num_condition_samples_per_task=K,
      num_inference_samples_per_task=N,
      create_optimizer_fn=lambda: models.create_adam_optimizer(3e-3))
  model.compile()
  model.fit(linear_task_dataset(0, 16, K, N), steps_per_epoch=150, epochs=1,
            verbose=0)
  root = tmp_path_factory.mktemp('maml') / 'export'
  path = maml_export_generator.MAMLExportGenerator().export(model, str(root))
  return model, path
