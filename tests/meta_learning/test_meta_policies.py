"""MAMLRegressionPolicy: unadapted in a new task, adapted after K episodes."""

import gymnasium
from gymnasium import spaces
import numpy as np
import pytest

from t2r.collect import env_runner
from t2r.meta_learning import meta_policies
from t2r.predictors import exported_savedmodel_predictor


class LinearTaskEnv(gymnasium.Env):
  """One-step episodes: observe x, answer y = a x + b of a hidden task.

  A new task (a, b) every `episodes_per_task` resets; info['y'] is the
  answer. `errors` records (episode index within its task, |action - y|).
  """

  def __init__(self, episodes_per_task: int, seed: int):
    self.observation_space = spaces.Box(-1.0, 1.0, (1,), np.float32)
    self.action_space = spaces.Box(-5.0, 5.0, (1,), np.float32)
    self._rng = np.random.default_rng(seed)
    self._episodes_per_task = episodes_per_task
    self._in_task = episodes_per_task
    self.errors = []

  def reset(self, *, seed=None, options=None):
    if self._in_task >= self._episodes_per_task:
      self._task = (self._rng.uniform(-2, 2), self._rng.uniform(-1, 1))
      self._in_task = 0
    self._in_task += 1
    self._x = self._rng.uniform(-1, 1, (1,)).astype(np.float32)
    self._y = np.float32(self._task[0] * self._x + self._task[1])
    return self._x, {'y': self._y}

  def step(self, action):
    error = float(np.abs(np.asarray(action) - self._y).sum())
    self.errors.append((self._in_task - 1, error))
    return self._x, -error, True, False, {'y': self._y}


def _episode(x, y):
  return [(np.array([x], np.float32), None, 0.0, None, True,
           {'y': np.array([y], np.float32)})]


@pytest.fixture
def predictor(exported_maml):
  _, path = exported_maml
  predictor = exported_savedmodel_predictor.ExportedSavedModelPredictor(path)
  predictor.restore()
  return predictor


def _outputs(predictor, condition, x):
  xs, ys = zip(*condition)
  return predictor.predict({
      'condition/features/x': np.array(xs, np.float32).reshape(1, -1, 1),
      'condition/labels/y': np.array(ys, np.float32).reshape(1, -1, 1),
      'inference/features/x': np.array([[[x]]], np.float32),
  })


def test_new_task_acts_with_the_unadapted_prediction(predictor):
  policy = meta_policies.MAMLRegressionPolicy(predictor,
                                              num_condition_episodes=2)
  action, debug = policy.sample_action(np.array([0.3], np.float32), 0.0)
  assert debug == {'adapted': False, 'num_condition_samples': 0}
  expected = _outputs(predictor, [(0.0, 0.0)], 0.3)
  np.testing.assert_allclose(action, expected['unadapted/inference_output'][0,
                                                                            0],
                             rtol=1e-5)


def test_after_the_condition_episodes_it_acts_adapted(predictor):
  policy = meta_policies.MAMLRegressionPolicy(predictor,
                                              num_condition_episodes=2)
  condition = [(-0.5, 1.0), (0.5, 2.0)]
  policy.observe_episode(_episode(*condition[0]))
  assert not policy.is_adapted()
  policy.observe_episode(_episode(*condition[1]))
  action, debug = policy.sample_action(np.array([0.3], np.float32), 0.0)
  assert debug == {'adapted': True, 'num_condition_samples': 2}
  expected = _outputs(predictor, condition, 0.3)
  np.testing.assert_allclose(action,
                             expected['adapted/inference_output'][0, 0],
                             rtol=1e-5)


def test_task_ends_after_episodes_per_task(predictor):
  policy = meta_policies.MAMLRegressionPolicy(
      predictor, num_condition_episodes=1, episodes_per_task=2)
  policy.observe_episode(_episode(0.1, 0.2))
  assert policy.is_adapted()
  policy.observe_episode(_episode(0.1, 0.2))
  assert not policy.is_adapted()
  assert policy.num_condition_samples() == 0


def test_run_env_feeds_episodes_and_adapted_actions_are_closer(predictor):
  env = LinearTaskEnv(episodes_per_task=4, seed=0)
  policy = meta_policies.MAMLRegressionPolicy(
      predictor, num_condition_episodes=2, episodes_per_task=4)
  env_runner.run_env(env, policy, num_episodes=40, write_summaries=False,
                     show_progress=False)
  errors = np.array(env.errors)
  adapted = errors[errors[:, 0] >= 2, 1]
  unadapted = errors[errors[:, 0] < 2, 1]
  assert len(adapted) == len(unadapted) == 20
  assert adapted.mean() < 0.7 * unadapted.mean()


def test_rejects_a_task_shorter_than_its_condition_episodes(predictor):
  with pytest.raises(ValueError, match='episodes_per_task'):
    meta_policies.MAMLRegressionPolicy(predictor, num_condition_episodes=3,
                                       episodes_per_task=2)
