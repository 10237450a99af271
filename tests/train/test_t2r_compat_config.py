"""The README's t2r version of a Tensor2Robot job config runs end to end."""

import os
import re

import gin
import numpy as np
import pytest

from research import pose_env
from t2r import predictors
from t2r.train import train_eval

_README = os.path.join(os.path.dirname(__file__), '..', '..', 'README.md')


def _t2r_style_config() -> str:
  """The code block after the README line 't2r:' in 'Coming from T2R'."""
  with open(_README) as f:
    readme = f.read()
  section = readme[readme.index('## Coming from Tensor2Robot'):]
  match = re.search(r'^t2r:\n\n```\n(.*?)```', section, re.S | re.M)
  assert match, 'README lost the t2r config block of "Coming from T2R".'
  return match.group(1)


@pytest.fixture(name='records')
def fixture_records(tmp_path):
  env = pose_env.PoseEnv()
  try:
    stats = pose_env.collect_episodes(
        env, pose_env.PoseEnvRandomPolicy(seed=0), num_episodes=8,
        output_dir=str(tmp_path / 'data'), seed=0, show_progress=False)
  finally:
    env.close()
  return stats.paths[0]


def test_config_binds_the_tensor2robot_parameters():
  config = _t2r_style_config()
  assert 'train_eval_model.export_generator = @DefaultExportGenerator()' in (
      config)
  assert "file_patterns = 'tfrecord:/data/train-*'" in config


def test_readme_config_trains_and_exports(records, tmp_path):
  model_dir = str(tmp_path / 'pose')
  gin.clear_config()
  try:
    gin.parse_config(_t2r_style_config())
    gin.parse_config([
        f"train/DefaultRecordInputGenerator.file_patterns = 'tfrecord:{records}'",
        'train/DefaultRecordInputGenerator.batch_size = 4',
        'train_eval_model.max_train_steps = 2',
        f"train_eval_model.model_dir = '{model_dir}'",
        'train_eval_model.seed = 0',
    ])
    result = train_eval.train_eval_model()
  finally:
    gin.clear_config()
  assert result['global_step'] == 2
  predictor = predictors.ExportedSavedModelPredictor(
      os.path.join(model_dir, 'export'), timeout=0)
  assert predictor.restore()
  assert predictor.global_step == 2
  image = np.zeros((64, 64, 3), np.uint8)
  outputs = predictor.predict({'state/image': image[np.newaxis]})
  assert outputs['inference_output'].shape == (1, 2)
