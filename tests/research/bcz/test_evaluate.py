"""Closed-loop evaluation: expert, random and exported-model policies."""

import numpy as np
import pytest
import tf_keras

from research.bcz import bcz_env
from research.bcz import bcz_model
from research.bcz import evaluate
from t2r import layers
from t2r.export.default_export_generator import DefaultExportGenerator

_TASKS = ('reach the duck', 'pick up the red block')


@pytest.fixture(scope='module')
def env():
  made = bcz_env.BCZEnv(tasks=_TASKS)
  yield made
  made.close()


def test_expert_and_random_baselines_through_one_function(env):
  expert = evaluate.evaluate_policy(env, evaluate.ExpertPolicy(env),
                                    episodes_per_task=2)
  random = evaluate.evaluate_policy(
      env, evaluate.RandomPolicy(env.action_space, seed=0),
      episodes_per_task=2)
  assert expert.success_rates == {task: 1.0 for task in _TASKS}
  assert random.success_rates == {task: 0.0 for task in _TASKS}
  # Both ran on the same held-out initial states.
  for task in _TASKS:
    assert expert.results[task].seeds == random.results[task].seeds
    assert expert.results[task].seeds[0] >= bcz_env.SEED_STARTS['test']
  table = evaluate.format_table({'expert': expert, 'random': random})
  assert '| reach the duck | 100% (2/2) | 0% (0/2) |' in table


def test_an_exported_model_acts_in_the_env(tmp_path):
  tf_keras.utils.set_random_seed(0)
  model = bcz_model.BCZModel(
      image_size=64, num_waypoints=2, head_hidden_sizes=(16,),
      image_tower=lambda: layers.FiLMConvTower(
          filters=(4,), kernel_sizes=(3,), strides=(4,)))
  DefaultExportGenerator(export_tf_example_signature=False).export(
      model, str(tmp_path / 'export'))
  env = bcz_env.BCZEnv(tasks=_TASKS, max_steps=3)
  try:
    policy = evaluate.ExportedPolicy(str(tmp_path / 'export'),
                                     env.task_table, env.action_space.low,
                                     env.action_space.high)
    obs, _ = env.reset(seed=0)
    action = policy(obs, _TASKS[0])
    assert action.shape == (7,) and env.action_space.contains(action)
    result = evaluate.evaluate_policy(env, policy, episodes_per_task=1,
                                      tasks=[_TASKS[0]])
    assert result.results[_TASKS[0]].steps.tolist() == [3]
    policy.close()
  finally:
    env.close()


def test_a_history_export_sees_the_episodes_last_frames(tmp_path):
  tf_keras.utils.set_random_seed(0)
  model = bcz_model.BCZModel(
      image_size=64, num_waypoints=2, head_hidden_sizes=(16,),
      history_length=3, image_tower=lambda: layers.FiLMConvTower(
          filters=(4,), kernel_sizes=(3,), strides=(4,)))
  DefaultExportGenerator(export_tf_example_signature=False).export(
      model, str(tmp_path / 'export'))
  env = bcz_env.BCZEnv(tasks=_TASKS, max_steps=4)
  try:
    policy = evaluate.ExportedPolicy(str(tmp_path / 'export'),
                                     env.task_table)
    obs, _ = env.reset(seed=0)
    first = obs['image']
    # The first call repeats the first frame (as training pads episodes).
    np.testing.assert_array_equal(policy._image(first),  # pylint: disable=protected-access
                                  np.stack([first] * 3))
    later = np.full_like(first, 7)
    np.testing.assert_array_equal(policy._image(later),  # pylint: disable=protected-access
                                  np.stack([first, first, later]))
    policy.reset()
    np.testing.assert_array_equal(policy._image(later),  # pylint: disable=protected-access
                                  np.stack([later] * 3))
    result = evaluate.evaluate_policy(env, policy, episodes_per_task=1,
                                      tasks=[_TASKS[0]])
    assert result.results[_TASKS[0]].steps.tolist() == [4]
    policy.close()
  finally:
    env.close()


def test_bad_evaluation_arguments_are_explained(env, tmp_path):
  with pytest.raises(ValueError, match='episodes_per_task'):
    evaluate.evaluate_policy(env, evaluate.ExpertPolicy(env), 0)
  with pytest.raises(TypeError, match='callable'):
    evaluate.evaluate_policy(env, 'expert')
  with pytest.raises(ValueError, match='Unknown task'):
    evaluate.evaluate_policy(env, evaluate.ExpertPolicy(env), 1,
                             tasks=['reach the moon'])
  with pytest.raises(ValueError, match='no complete t2r export'):
    evaluate.ExportedPolicy(str(tmp_path), env.task_table)
