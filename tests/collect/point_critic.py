"""A real critic export for `PointReachEnv`: Q = -|next position - goal|^2.

No weights to learn: the in-graph CEM of its export steers the point to the
goal, so collectors can be tested against real exports in milliseconds.
"""

import tensorflow as tf

from t2r import models
from t2r import specs
from t2r.policies import cem_export_generator
from point_env import STEP_SIZE

NUM_SAMPLES = 32


class ReachCritic(models.CriticModel):
  """Scores an action by how close it brings the point to the goal."""

  def __init__(self, **kwargs):
    super().__init__(action_batch_size=NUM_SAMPLES, **kwargs)

  def get_state_specification(self):
    return specs.TensorSpecStruct(
        position=specs.ExtendedTensorSpec((2,), tf.float32, name='position'),
        goal=specs.ExtendedTensorSpec((2,), tf.float32, name='goal'))

  def get_action_specification(self):
    return specs.ExtendedTensorSpec((2,), tf.float32, name='action')

  def q_func(self, features, mode, config=None, params=None):
    moved = features.state.position + STEP_SIZE * features.action
    return -tf.reduce_sum(tf.square(moved - features.state.goal), axis=-1)


def export(export_root: str, global_step: int) -> str:
  """Exports the critic (with the `cem_action` signature) at a step."""
  return cem_export_generator.CEMExportGenerator(
      num_samples=NUM_SAMPLES, export_tf_example_signature=False).export(
          ReachCritic(), export_root, global_step)
