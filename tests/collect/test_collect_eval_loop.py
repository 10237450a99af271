"""collect_eval_loop: follows the exports, bootstraps, stops, times out."""

import glob
import os
import threading

import numpy as np
import pytest
import tensorflow as tf

from t2r import collect
from t2r import policies
from t2r.data import replay_writer as replay_writer_lib
from t2r.predictors.exported_savedmodel_predictor import ExportedSavedModelPredictor
from point_env import PointReachEnv
from point_env import ScriptedReachPolicy
import point_critic
import point_records


def _cem_policy(export_root):
  predictor = ExportedSavedModelPredictor(export_root, timeout=0,
                                          poll_interval_secs=0.05)
  greedy = policies.CEMPolicy(predictor, exported_cem_signature='cem_action',
                              seed=0)
  return policies.EpsilonRandomPolicy(greedy, [-1, -1], [1, 1], seed=1)


def _loop(root_dir, policy, **kwargs):
  arguments = dict(
      episode_to_transitions_fn=point_records.episode_to_transitions,
      replay_writer=replay_writer_lib.TFRecordReplayWriter(
          feature_spec=point_records.feature_spec(),
          label_spec=point_records.label_spec()),
      explore_schedule=policies.ConstantSchedule(0.3), num_collect=4,
      num_eval=3, seed=0, poll_interval_secs=0.05, show_progress=False)
  arguments.update(kwargs)
  return collect.collect_eval_loop(
      [PointReachEnv(), PointReachEnv()], PointReachEnv(), policy,
      str(root_dir), **arguments)


def test_one_round_without_exports_bootstraps_the_replay(tmp_path):
  [round_] = _loop(tmp_path, ScriptedReachPolicy(), continuous=False)
  assert round_.global_step == -1
  assert round_.collect.num_episodes == 4 and round_.eval.num_episodes == 3
  [path] = glob.glob(collect.replay_pattern(str(tmp_path), 'collect'))
  assert os.path.basename(path).startswith('gs000000000000_collect_')
  assert not glob.glob(os.path.join(str(tmp_path), 'policy_eval'))


def test_a_newer_export_is_picked_up_until_max_steps(tmp_path):
  export_root = str(tmp_path / 'export')
  point_critic.export(export_root, 10)
  timer = threading.Timer(1.0, point_critic.export, (export_root, 20))
  timer.start()
  rounds = _loop(tmp_path, _cem_policy(export_root), max_steps=20,
                 new_export_timeout_secs=60)
  timer.join()
  assert [r.global_step for r in rounds] == [10, 20]
  assert all(r.eval.success_rate > 0.5 for r in rounds)
  names = sorted(os.path.basename(p) for p in glob.glob(
      collect.replay_pattern(str(tmp_path), 'collect')))
  assert [n[:14] for n in names] == ['gs000000000010', 'gs000000000020']


def test_every_round_evaluates_on_the_same_scenes(tmp_path):
  export_root = str(tmp_path / 'export')
  point_critic.export(export_root, 10)
  threading.Timer(0.5, point_critic.export, (export_root, 20)).start()
  rounds = _loop(tmp_path, _cem_policy(export_root), max_steps=20,
                 record_eval_episodes=True, new_export_timeout_secs=60)
  by_step = {}
  for path in glob.glob(collect.replay_pattern(str(tmp_path), 'eval')):
    by_step[os.path.basename(path)[:14]] = path
  assert len(rounds) == 2 and len(by_step) == 2
  first_positions = []
  for path in sorted(by_step.values()):
    first = next(iter(tf.data.TFRecordDataset(path))).numpy()
    example = tf.train.Example.FromString(first)
    first_positions.append(
        list(example.features.feature['position'].float_list.value))
  np.testing.assert_array_equal(first_positions[0], first_positions[1])


def test_the_loop_waits_for_the_first_export(tmp_path):
  export_root = str(tmp_path / 'export')
  threading.Timer(0.5, point_critic.export, (export_root, 5)).start()
  rounds = _loop(tmp_path, _cem_policy(export_root), max_steps=5,
                 new_export_timeout_secs=60)
  assert [r.global_step for r in rounds] == [5]


def test_no_newer_export_in_time_is_a_clear_timeout(tmp_path):
  export_root = str(tmp_path / 'export')
  point_critic.export(export_root, 10)
  with pytest.raises(TimeoutError, match='no export newer than global step '
                     '10 appeared within 0 s; is the trainer running'):
    _loop(tmp_path, _cem_policy(export_root), max_steps=100,
          new_export_timeout_secs=0.3)


def test_negative_episode_counts_are_rejected(tmp_path):
  with pytest.raises(ValueError, match='num_eval must be an int >= 0'):
    _loop(tmp_path, ScriptedReachPolicy(), num_eval=-1)


class _ExportsBeforeEveryRestore(ScriptedReachPolicy):
  """A scripted policy whose trainer exports 10 steps more before restore().

  Stands in for a fast trainer: every `restore()` finds a newer export (steps
  9, 19, 29, ...), so the loop never waits and each round's step tells which
  export it acted with.
  """

  def __init__(self):
    super().__init__()
    self._step = -1

  @property
  def predictor(self):
    return 'a predictor'

  def restore(self):
    self._step += 10
    return True

  @property
  def global_step(self):
    return self._step


def _run_env_at_most(calls):
  """`run_env`, failing the test instead of looping on past `calls` calls."""
  made = []

  def run_agent(*args, **kwargs):
    made.append(None)
    assert len(made) <= calls, f'the loop ran more than {calls} rounds'
    return collect.run_env(*args, **kwargs)

  return run_agent


@pytest.fixture(scope='module')
def single_export(tmp_path_factory):
  """An export root holding one export, at global step 10 (and no other)."""
  export_root = str(tmp_path_factory.mktemp('single_export') / 'export')
  point_critic.export(export_root, 10)
  return export_root


@pytest.mark.parametrize('max_episodes, collected', [
    (6, [4, 2]),
    (8, [4, 4]),
    (3, [3]),
    (1, [1]),
])
def test_max_episodes_cuts_the_last_round_to_fit(tmp_path, max_episodes,
                                                 collected):
  rounds = _loop(tmp_path, _ExportsBeforeEveryRestore(), num_collect=4,
                 num_eval=0, max_episodes=max_episodes,
                 run_agent_fn=_run_env_at_most(3))
  assert [r.collect.num_episodes for r in rounds] == collected


def test_max_episodes_ends_the_loop_before_max_steps(tmp_path):
  rounds = _loop(tmp_path, _ExportsBeforeEveryRestore(), num_collect=4,
                 num_eval=0, max_episodes=6, max_steps=1000,
                 run_agent_fn=_run_env_at_most(3))
  assert [r.global_step for r in rounds] == [9, 19]


def test_max_episodes_cuts_a_single_bootstrap_round_too(tmp_path):
  [round_] = _loop(tmp_path, ScriptedReachPolicy(), continuous=False,
                   num_collect=4, max_episodes=2)
  assert round_.collect.num_episodes == 2 and round_.eval.num_episodes == 3


@pytest.mark.parametrize('max_episodes', [0, -1, True, False, 2.0, '3'])
def test_max_episodes_must_be_a_positive_int(tmp_path, max_episodes):
  with pytest.raises(ValueError,
                     match='max_episodes must be None or an int >= 1'):
    _loop(tmp_path, ScriptedReachPolicy(), max_episodes=max_episodes)


def test_without_waiting_every_round_uses_the_one_export_there_is(
    tmp_path, single_export):
  rounds = _loop(tmp_path, _cem_policy(single_export), num_collect=4,
                 num_eval=0, max_episodes=8, wait_for_new_export=False,
                 new_export_timeout_secs=0.3,
                 run_agent_fn=_run_env_at_most(3))
  assert [r.global_step for r in rounds] == [10, 10]
  assert [r.collect.num_episodes for r in rounds] == [4, 4]


def test_waiting_for_a_new_export_with_only_one_times_out(tmp_path,
                                                          single_export):
  with pytest.raises(TimeoutError,
                     match='no export newer than global step 10'):
    _loop(tmp_path, _cem_policy(single_export), num_collect=4, num_eval=0,
          max_episodes=8, wait_for_new_export=True,
          new_export_timeout_secs=0.3)


def test_without_waiting_each_round_picks_up_the_newest_export(tmp_path):
  rounds = _loop(tmp_path, _ExportsBeforeEveryRestore(), num_collect=2,
                 num_eval=0, max_episodes=6, wait_for_new_export=False,
                 run_agent_fn=_run_env_at_most(4))
  assert [r.global_step for r in rounds] == [9, 19, 29]


def test_without_waiting_the_first_export_is_still_awaited(tmp_path):
  with pytest.raises(TimeoutError,
                     match='no export newer than global step -1'):
    _loop(tmp_path, _cem_policy(str(tmp_path / 'export')), max_episodes=4,
          wait_for_new_export=False, new_export_timeout_secs=0.3)
