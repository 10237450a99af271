"""A small, fast flywheel on `PointReachEnv` for the launcher's tests.

`LearnedReachCritic` is a trainable MLP critic Q(position, goal, action)
learned by TD (Bellman targets over its lagged target network, in-graph
CEM for the max); `config` wires it with the collectors, the evaluator and
the growing replay. The launcher's processes import this module (the tests
put this directory on PYTHONPATH).
"""

import gin
import tensorflow as tf
import tf_keras

from t2r import models
from t2r import specs
import point_env
import point_records

NUM_SAMPLES = 16


class _ReachQNetwork(tf_keras.layers.Layer):
  """Q from the packed critic features: an MLP over (position, goal, a)."""

  def __init__(self, **kwargs):
    super().__init__(**kwargs)
    self.hidden = tf_keras.layers.Dense(32, activation='relu')
    self.q = tf_keras.layers.Dense(1)

  def call(self, features):
    return self.q(self.hidden(tf.concat(
        [features.state.position, features.state.goal, features.action],
        axis=-1)))


@gin.configurable
class LearnedReachCritic(models.TDCriticModel):
  """A TD critic over (position, goal, action) with Polyak targets."""

  def __init__(self, **kwargs):
    super().__init__(gamma=0.8, target_update_tau=0.05,
                     cem_iterations=2, cem_num_samples=NUM_SAMPLES,
                     cem_num_elites=4, action_batch_size=NUM_SAMPLES,
                     **kwargs)

  def create_q_network(self):
    return _ReachQNetwork()

  def get_state_specification(self):
    spec = point_records.feature_spec()
    return specs.TensorSpecStruct(position=spec['state/position'],
                                  goal=spec['state/goal'])

  def get_action_specification(self):
    return point_records.feature_spec()['action']



@gin.configurable
def point_reach_env(max_steps: int = 6):
  return point_env.PointReachEnv(max_steps=max_steps)


gin.external_configurable(point_records.episode_to_transitions,
                          module='point_records')
gin.external_configurable(point_records.feature_spec, module='point_records')
gin.external_configurable(point_records.label_spec, module='point_records')
gin.external_configurable(point_env.RandomReachPolicy)


def config(root_dir: str, max_steps: int, export_every: int) -> str:
  """The gin config of a tiny flywheel in `root_dir`."""
  return f"""
import point_flywheel
import point_records
import t2r.collect.flywheel
import t2r.collect.flywheel_roles
import t2r.data.replay_input_generator
import t2r.data.replay_writer
import t2r.export.export_hooks
import t2r.policies.cem_export_generator
import t2r.policies.schedules

ROOT_DIR = '{root_dir}'
MAX_STEPS = {max_steps}

run_flywheel.root_dir = %ROOT_DIR
run_flywheel.num_collectors = 1
run_flywheel.refresh_secs = 0.5

run_trainer.root_dir = %ROOT_DIR
train_eval_model.t2r_model = @LearnedReachCritic
train_eval_model.max_train_steps = %MAX_STEPS
train_eval_model.save_checkpoints_steps = {export_every}
train_eval_model.seed = 0
train_eval_model.show_progress = False
train_eval_model.input_generator_train = @GrowingReplayInputGenerator()
train_eval_model.export_hooks = [@PeriodicExporter()]
PeriodicExporter.every_n_steps = {export_every}
PeriodicExporter.export_generator = @CEMExportGenerator()
CEMExportGenerator.num_samples = {NUM_SAMPLES}
CEMExportGenerator.num_elites = 4
CEMExportGenerator.export_tf_example_signature = False
GrowingReplayInputGenerator.file_patterns = @replay_glob()
GrowingReplayInputGenerator.batch_size = 16
GrowingReplayInputGenerator.wait_for_files_secs = 120
replay_glob.root_dir = %ROOT_DIR

run_collector.root_dir = %ROOT_DIR
run_collector.env_fn = @point_reach_env
run_collector.envs_per_process = 4
run_collector.policy_fn = @exploring_cem_policy
run_collector.bootstrap_policy_fn = @RandomReachPolicy
run_collector.bootstrap_episodes = 16
run_collector.episodes_per_round = 8
run_collector.episode_to_transitions_fn = @point_records.episode_to_transitions
run_collector.replay_writer = @TFRecordReplayWriter()
run_collector.explore_schedule = @ConstantSchedule()
run_collector.max_steps = %MAX_STEPS
run_collector.new_export_timeout_secs = 120
ConstantSchedule.value = 0.3
TFRecordReplayWriter.feature_spec = @point_records.feature_spec()
TFRecordReplayWriter.label_spec = @point_records.label_spec()
exploring_cem_policy.action_low = (-1.0, -1.0)
exploring_cem_policy.action_high = (1.0, 1.0)
exploring_cem_policy.seed = 0

run_evaluator.root_dir = %ROOT_DIR
run_evaluator.env_fn = @point_reach_env
run_evaluator.policy_fn = @exploring_cem_policy
run_evaluator.num_episodes = 4
run_evaluator.envs_per_process = 4
run_evaluator.max_steps = %MAX_STEPS
run_evaluator.new_export_timeout_secs = 120
"""
