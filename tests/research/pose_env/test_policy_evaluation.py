"""Scoring pose-env policies on held-out seeds, and the table of scores."""

import numpy as np
import pytest

from research.pose_env import pose_env
from research.pose_env.policy_evaluation import Episodes
from research.pose_env.policy_evaluation import evaluate_policy
from research.pose_env.policy_evaluation import format_table
from research.pose_env.policy_evaluation import load_policy
from research.pose_env.policy_evaluation import PolicyResult
from research.pose_env.policy_evaluation import REGRESSION
from research.pose_env.random_policy import PoseEnvRandomPolicy
from research.pose_env.training_stage import TrainResult


@pytest.fixture
def env():
  env = pose_env.PoseEnv()
  yield env
  env.close()


def _result(name, distances, train=None):
  count = len(distances)
  episodes = Episodes(actions=np.zeros((count, 2), np.float32),
                      distances=np.asarray(distances, np.float64),
                      targets=np.zeros((count, 2)),
                      images=[np.zeros((64, 64, 3), np.uint8)] * count)
  return PolicyResult(name, episodes, train)


def test_evaluate_policy_runs_one_episode_per_seed(env):
  episodes = evaluate_policy(PoseEnvRandomPolicy(seed=0), env, seeds=[3, 4])
  assert episodes.actions.shape == (2, 2)
  assert episodes.actions.dtype == np.float32
  assert episodes.targets.shape == (2, 2)
  assert [image.shape for image in episodes.images] == [(64, 64, 3)] * 2
  # The distance is -reward, i.e. how far the guess is from the duck.
  np.testing.assert_allclose(
      episodes.distances,
      np.linalg.norm(episodes.actions - episodes.targets, axis=1), rtol=1e-5)


def test_evaluate_policy_shows_every_policy_the_same_scenes(env):
  first = evaluate_policy(PoseEnvRandomPolicy(seed=0), env, seeds=[3, 4])
  second = evaluate_policy(PoseEnvRandomPolicy(seed=1), env, seeds=[3, 4])
  np.testing.assert_array_equal(first.targets, second.targets)
  assert not np.array_equal(first.actions, second.actions)


def test_load_policy_rejects_a_directory_without_an_export(tmp_path):
  with pytest.raises(ValueError, match='No complete t2r export'):
    load_policy(REGRESSION, str(tmp_path / 'export'))


def test_policy_result_mean_and_median_distance():
  result = _result('random', [0.1, 0.2, 0.6])
  assert result.mean_distance == pytest.approx(0.3)
  assert result.median_distance == pytest.approx(0.2)


def test_format_table_has_a_header_and_one_row_per_policy():
  lines = format_table([_result('random', [0.5]),
                        _result('regression', [0.25])]).splitlines()
  assert lines[0].split() == ['policy', 'mean', 'dist', '(m)', 'median',
                              '(m)', 'train', 'steps', 'train', 's']
  assert [line.split()[0] for line in lines[1:]] == ['random', 'regression']
  assert len({len(line) for line in lines}) == 1  # Fixed width columns.


@pytest.mark.parametrize('train, steps, seconds', [
    (None, '-', '-'),
    (TrainResult(1500, 46.25, '/m/export/1500', {}), '1500', '46.2'),
    (TrainResult(1500, 0.0, '/m/export/1500', {}), '1500', 'skipped'),
])
def test_format_table_row_shows_distances_and_training(train, steps, seconds):
  row = format_table([_result('regression', [0.02, 0.04, 0.03],
                              train)]).splitlines()[1]
  assert row.split() == ['regression', '0.0300', '0.0300', steps, seconds]
