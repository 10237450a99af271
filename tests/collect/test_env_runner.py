"""run_env: episodes side by side, one policy call per step, atomic files."""

import glob
import os
import sys

import gymnasium
import numpy as np
import pytest

from t2r import collect
from t2r import policies
from t2r.data import replay_writer as replay_writer_lib
from point_env import PointReachEnv
from point_env import ScriptedReachPolicy
import point_records

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'train'))
import event_files  # pylint: disable=g-import-not-at-top,wrong-import-position


class CountingPolicy(policies.BatchedPolicy):
  """Scripted reaching, counting how often (and for how many envs) it acts."""

  def __init__(self):
    super().__init__()
    self.batch_sizes = []
    self._scripted = ScriptedReachPolicy()

  def sample_actions(self, observations, explore_prob, slots=None):
    self.batch_sizes.append(len(observations))
    return policies.Policy.sample_actions(self._scripted, observations,
                                          explore_prob, slots)


def _writer():
  return replay_writer_lib.TFRecordReplayWriter(
      feature_spec=point_records.feature_spec(),
      label_spec=point_records.label_spec())


def _run(root_dir, envs, policy=None, num_episodes=4, **kwargs):
  return collect.run_env(
      envs, policy or ScriptedReachPolicy(),
      episode_to_transitions_fn=point_records.episode_to_transitions,
      replay_writer=_writer(), root_dir=str(root_dir),
      num_episodes=num_episodes, seed=0, show_progress=False, **kwargs)


def test_writes_every_transition_to_a_file_named_by_step_and_tag(tmp_path):
  stats = _run(tmp_path, PointReachEnv(), tag='collect', global_step=120)
  [path] = stats.paths
  assert os.path.dirname(path) == os.path.join(str(tmp_path),
                                               'policy_collect')
  assert os.path.basename(path).startswith('gs000000000120_collect_')
  assert path.endswith(f'_{os.getpid()}.tfrecord')
  labels = point_records.read_labels([path])
  assert len(labels['reward']) == stats.num_transitions == round(
      stats.mean_length * stats.num_episodes)


def test_no_temporary_file_is_left_behind(tmp_path):
  _run(tmp_path, PointReachEnv())
  # Temporaries only: each replay file has a '.<name>.t2r.json' sidecar.
  assert not glob.glob(
      os.path.join(str(tmp_path), 'policy_collect', '.*.tmp-*'))


def test_eight_envs_share_one_policy_call_per_step(tmp_path):
  policy = CountingPolicy()
  stats = _run(tmp_path, [PointReachEnv() for _ in range(8)], policy,
               num_episodes=8)
  # One call per step of the longest episode (at most 8), each for every
  # env still running.
  assert policy.batch_sizes[0] == 8 and len(policy.batch_sizes) <= 8
  assert policy.batch_sizes == sorted(policy.batch_sizes, reverse=True)
  assert sum(policy.batch_sizes) == stats.num_transitions


def test_the_same_seed_gives_the_same_episodes_for_one_or_four_envs(tmp_path):
  one = _run(tmp_path / 'one', PointReachEnv(), num_episodes=6)
  four = _run(tmp_path / 'four', [PointReachEnv() for _ in range(4)],
              num_episodes=6)
  assert (point_records.read_labels(one.paths) ==
          point_records.read_labels(four.paths))


def test_a_sync_vector_env_is_stepped_like_a_list(tmp_path):
  vector_env = gymnasium.vector.SyncVectorEnv(
      [PointReachEnv for _ in range(3)])
  stats = _run(tmp_path, vector_env, num_episodes=5)
  assert stats.num_episodes == 5 and stats.success_rate == 1.0


def test_done_is_terminated_and_a_time_limit_is_not_done(tmp_path):

  class StandStill(policies.Policy):

    def sample_action(self, obs, explore_prob):
      return np.zeros(2, np.float32), {}

  stats = _run(tmp_path, PointReachEnv(max_steps=3), StandStill(),
               num_episodes=2)
  labels = point_records.read_labels(stats.paths)
  assert stats.success_rate == 0.0 and stats.mean_length == 3
  assert labels['done'] == [0.0] * 6


def test_stats_report_return_success_length_and_q(tmp_path):
  stats = _run(tmp_path, PointReachEnv(), num_episodes=5)
  assert stats.success_rate == 1.0 and stats.mean_return == 1.0
  assert stats.mean_q == 1.0 and 1 <= stats.mean_length <= 8
  assert stats.episodes_per_second > 0


def test_summaries_are_keyed_by_the_global_step(tmp_path):
  _run(tmp_path, PointReachEnv(), tag='eval', global_step=300)
  steps = event_files.steps_by_tag(os.path.join(str(tmp_path), 'summaries',
                                                'eval'))
  for tag in ('mean_return', 'success_rate', 'episode_length',
              'q_chosen_actions', 'explore_prob'):
    assert steps[tag] == [300]


def test_the_explore_schedule_is_read_at_the_global_step(tmp_path):
  schedule = policies.PiecewiseSchedule([100], [1.0, 0.25])
  assert _run(tmp_path, PointReachEnv(), explore_schedule=schedule,
              global_step=150).explore_prob == 0.25


def test_the_global_step_defaults_to_the_policy_weights():
  stats = collect.run_env(PointReachEnv(), ScriptedReachPolicy(),
                          num_episodes=1, show_progress=False)
  assert stats.global_step == -1 and stats.paths == []


def test_a_bad_episode_keeps_the_episodes_written_before_it(tmp_path):
  calls = []

  def fail_on_third(episode):
    calls.append(1)
    if len(calls) == 3:
      return [({'action': np.zeros(5)}, {})]
    return point_records.episode_to_transitions(episode)

  with pytest.raises(ValueError):
    collect.run_env(PointReachEnv(), ScriptedReachPolicy(),
                    episode_to_transitions_fn=fail_on_third,
                    replay_writer=_writer(), root_dir=str(tmp_path),
                    num_episodes=4, seed=0, show_progress=False)
  [path] = glob.glob(collect.replay_pattern(str(tmp_path)))
  assert len(point_records.read_labels([path])['done']) > 0
  # Temporaries only: each replay file has a '.<name>.t2r.json' sidecar.
  assert not glob.glob(
      os.path.join(str(tmp_path), 'policy_collect', '.*.tmp-*'))


@pytest.mark.parametrize('kwargs,error,match', [
    ({'num_episodes': 0}, ValueError, 'num_episodes must be a positive int'),
    ({'tag': 'my_tag'}, ValueError, 'collector tag'),
    ({'explore_schedule': lambda step: 2.0}, ValueError, r'in \[0, 1\]'),
    ({'env': 'CartPole'}, TypeError, 'needs a gymnasium environment'),
])
def test_bad_arguments_fail_clearly(tmp_path, kwargs, error, match):
  arguments = dict(env=PointReachEnv(), policy=ScriptedReachPolicy(),
                   root_dir=str(tmp_path), show_progress=False)
  arguments.update(kwargs)
  with pytest.raises(error, match=match):
    collect.run_env(**arguments)


def test_records_need_a_root_dir():
  with pytest.raises(ValueError, match='no root_dir'):
    collect.run_env(PointReachEnv(), ScriptedReachPolicy(),
                    episode_to_transitions_fn=(
                        point_records.episode_to_transitions),
                    show_progress=False)
