"""A tiny reach task, model and flywheel steps for the provenance tests."""

import numpy as np
import tensorflow as tf
import tf_keras

from t2r import models
from t2r import specs
from t2r import train
from t2r.collect import env_runner
from t2r.collect import replay_files
from t2r.data import record_input_generator
from t2r.data import replay_writer
from t2r.export import export_hooks
from t2r.policies import policies
from t2r.predictors import export_dirs
from t2r.predictors.exported_savedmodel_predictor import (
    ExportedSavedModelPredictor)


def feature_spec() -> specs.TensorSpecStruct:
  spec = specs.TensorSpecStruct()
  spec['state/position'] = specs.ExtendedTensorSpec((2,), tf.float32,
                                                    name='position')
  spec['state/goal'] = specs.ExtendedTensorSpec((2,), tf.float32, name='goal')
  return spec


def label_spec() -> specs.TensorSpecStruct:
  return specs.TensorSpecStruct(
      action=specs.ExtendedTensorSpec((2,), tf.float32, name='action'))


class ReachModel(models.RegressionModel):
  """Predicts the action from (position, goal)."""

  def __init__(self, **kwargs):
    super().__init__(**kwargs)
    self.dense = tf_keras.layers.Dense(2)

  def get_feature_specification(self, mode):
    return feature_spec()

  def get_label_specification(self, mode):
    return label_spec()

  def a_func(self, features, mode, config=None, params=None):
    return {'inference_output': self.dense(
        tf.concat([features.state.position, features.state.goal], -1))}


class ReachEnv:
  """A point moving towards a goal; 3 steps per episode."""

  def __init__(self):
    self._rng = np.random.default_rng(0)
    self._position = self._goal = None
    self._steps = 0

  def _obs(self):
    return {'position': self._position.copy(), 'goal': self._goal.copy()}

  def reset(self, *, seed=None, options=None):
    del options
    self._rng = np.random.default_rng(seed)
    self._position = self._rng.uniform(-1, 1, 2).astype(np.float32)
    self._goal = self._rng.uniform(-1, 1, 2).astype(np.float32)
    self._steps = 0
    return self._obs(), {}

  def step(self, action):
    self._position = np.clip(self._position + 0.2 * np.asarray(
        action, np.float32), -1, 1).astype(np.float32)
    self._steps += 1
    return self._obs(), 0.0, False, self._steps >= 3, {}


class RandomPolicy(policies.Policy):
  """Random actions, no export (the bootstrap)."""

  def __init__(self):
    super().__init__()
    self._rng = np.random.default_rng(0)

  def sample_action(self, obs, explore_prob):
    del obs, explore_prob
    return self._rng.uniform(-1, 1, 2).astype(np.float32), {}


def episode_to_transitions(episode):
  return [({'state/position': obs['position'], 'state/goal': obs['goal']},
           {'action': np.asarray(action, np.float32)})
          for obs, action, *_ in episode]


def collect(policy, root_dir: str, tag: str, num_episodes: int = 4):
  """Runs `policy` and writes its transitions; returns the files."""
  stats = env_runner.run_env(
      ReachEnv(), policy, episode_to_transitions_fn=episode_to_transitions,
      replay_writer=replay_writer.TFRecordReplayWriter(
          feature_spec(), label_spec(), max_records_per_file=6),
      root_dir=root_dir, tag=tag, global_step=0, num_episodes=num_episodes,
      seed=0, write_summaries=False, show_progress=False)
  return stats.paths


def train_and_export(data_root: str, model_dir: str) -> str:
  """Trains ReachModel for 2 steps on the replay of `data_root`; returns
  the export."""
  train.train_eval_model(
      t2r_model=ReachModel,
      input_generator_train=record_input_generator.DefaultRecordInputGenerator(
          file_patterns=replay_files.replay_pattern(data_root), batch_size=4,
          seed=0),
      max_train_steps=2, model_dir=model_dir, save_checkpoints_steps=2,
      export_hooks=[export_hooks.PeriodicExporter()], show_progress=False)
  return export_dirs.latest_export(f'{model_dir}/export')[1]


def export_policy(export_dir: str) -> policies.RegressionPolicy:
  predictor = ExportedSavedModelPredictor(export_dir)
  predictor.restore()
  return policies.RegressionPolicy(predictor)
