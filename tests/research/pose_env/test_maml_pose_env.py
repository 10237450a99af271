"""research.pose_env.maml_pose_env: task files, the oracle, the scoring."""

import numpy as np
import pytest
import tensorflow as tf

from research.pose_env import maml_pose_env
from t2r.data import parsing


def test_task_files_hold_one_task_each_with_the_oracle_label(tmp_path):
  pattern = maml_pose_env.collect_task_files(str(tmp_path), num_tasks=2,
                                             episodes_per_task=3,
                                             first_task_seed=7)
  spec = maml_pose_env.task_record_spec()
  parse_fn = parsing.create_parse_tf_example_fn(spec.features, spec.labels)
  for path in sorted(tf.io.gfile.glob(pattern)):
    records = [r.numpy() for r in tf.data.TFRecordDataset(path)]
    _, labels = parse_fn(tf.constant(records))
    drift = labels['target_pose'].numpy() - labels['duck_xy'].numpy()
    assert len(records) == 3
    np.testing.assert_allclose(drift, np.broadcast_to(drift[0], drift.shape),
                               atol=1e-6)  # One hidden drift per task.
    assert np.abs(drift[0]).max() > 0


def test_oracle_model_reads_the_duck_position():
  model = maml_pose_env.PoseEnvOracleRegressionModel()
  label = model.get_label_specification('train')['target_pose']
  assert (label.name, label.shape.as_list()) == ('duck_xy', [2])


def test_test_tasks_share_their_drift_and_reject_too_large_k():
  tasks = maml_pose_env.make_test_tasks(num_tasks=2, num_condition=1,
                                        num_eval=1)
  assert tasks.images.shape == (2, 2, 64, 64, 3)
  with pytest.raises(ValueError, match='K=2'):
    maml_pose_env.score_policies(tasks, None, None, '/nonexistent',
                                 condition_counts=(2,))
