"""The flywheel's roles in-process: status totals, the replay ratio, limits.

`collected_totals` and `_StatusReporter` read and continue the status files;
`ReplayRatioLimiter` holds a trainer to the collectors' transitions;
`run_collector` stops at `max_episodes`, also across runs.
"""

import glob
import os
import threading
import time

import pytest
import tf_keras

from t2r import collect
from t2r.collect import flywheel_roles
from t2r.collect import status_files
from t2r.data import replay_writer as replay_writer_lib
from t2r.specs import proto_conversion
import point_env
import point_flywheel
import point_records


def _write(root_dir, name, **status):
  status_files.write_status(str(root_dir), name, status)


def _writer():
  return replay_writer_lib.TFRecordReplayWriter(
      feature_spec=point_records.feature_spec(),
      label_spec=point_records.label_spec())


def _status(root_dir, name):
  return status_files.read_statuses(str(root_dir))[name]


# collected_totals


def test_collected_totals_sum_the_collectors_only(tmp_path):
  _write(tmp_path, 'collector-0', episodes=3, transitions=30)
  _write(tmp_path, 'collector-1', episodes=4, transitions=45)
  _write(tmp_path, 'evaluator', episodes=100, transitions=0, history=[])
  _write(tmp_path, 'trainer', global_step=500, episodes=9, transitions=9)
  assert flywheel_roles.collected_totals(str(tmp_path)) == {
      'episodes': 7, 'transitions': 75}


def test_collected_totals_are_zero_without_statuses(tmp_path):
  assert flywheel_roles.collected_totals(str(tmp_path)) == {
      'episodes': 0, 'transitions': 0}


def test_a_collector_that_reported_no_counts_yet_adds_nothing(tmp_path):
  _write(tmp_path, 'collector-0', state='starting')
  _write(tmp_path, 'collector-1', episodes=2, transitions=12)
  assert flywheel_roles.collected_totals(str(tmp_path)) == {
      'episodes': 2, 'transitions': 12}


# _StatusReporter


def test_a_reporter_resumes_the_totals_of_its_status_file(tmp_path):
  _write(tmp_path, 'collector-0', episodes=7, transitions=70, files=2,
         global_step=30, state='collecting')
  reporter = flywheel_roles._StatusReporter(str(tmp_path), 'collector-0',
                                            None)
  assert reporter.status == {'episodes': 7, 'transitions': 70, 'files': 2,
                             'global_step': 30}


def test_a_reporter_without_a_status_file_starts_from_zero(tmp_path):
  _write(tmp_path, 'collector-1', episodes=7, transitions=70, files=2,
         global_step=30)
  reporter = flywheel_roles._StatusReporter(str(tmp_path), 'collector-0',
                                            None)
  assert reporter.status == {'episodes': 0, 'transitions': 0, 'files': 0,
                             'global_step': -1}


def test_resumed_totals_grow_with_the_next_episodes(tmp_path):
  _write(tmp_path, 'collector-0', episodes=7, transitions=70, files=2)
  reporter = flywheel_roles._StatusReporter(str(tmp_path), 'collector-0',
                                            None)
  stats = reporter(
      [point_env.PointReachEnv()], point_env.RandomReachPolicy(seed=0),
      episode_to_transitions_fn=point_records.episode_to_transitions,
      replay_writer=_writer(), root_dir=str(tmp_path), tag='collect',
      global_step=-1, num_episodes=2, seed=0, show_progress=False)
  status = _status(tmp_path, 'collector-0')
  assert status['episodes'] == 9
  assert status['transitions'] == 70 + stats.num_transitions
  assert status['files'] == 2 + len(stats.paths)


def test_the_evaluator_reporter_resumes_its_history(tmp_path):
  history = [{'global_step': 10, 'success_rate': 0.25, 'mean_return': 0.25,
              'mean_length': 5.0, 'collected_episodes': 40}]
  _write(tmp_path, 'evaluator', episodes=4, history=history)
  reporter = flywheel_roles._StatusReporter(str(tmp_path), 'evaluator',
                                            history_key='history')
  assert reporter.history == history
  reporter.report(state='waiting for an export')
  assert _status(tmp_path, 'evaluator')['history'] == history


def test_a_history_entry_records_the_episodes_collected_by_then(tmp_path):
  _write(tmp_path, 'collector-0', episodes=12, transitions=60)
  _write(tmp_path, 'collector-1', episodes=3, transitions=20)
  reporter = flywheel_roles._StatusReporter(str(tmp_path), 'evaluator',
                                            history_key='history')
  reporter([point_env.PointReachEnv()], point_env.ScriptedReachPolicy(),
           root_dir=str(tmp_path), tag='eval', global_step=10,
           num_episodes=1, seed=0, show_progress=False)
  [entry] = _status(tmp_path, 'evaluator')['history']
  assert entry['global_step'] == 10 and entry['collected_episodes'] == 15


# ReplayRatioLimiter


def _trainer_at_step(step):
  """A tiny compiled model whose optimizer has taken `step` steps."""
  model = tf_keras.Sequential([tf_keras.layers.Dense(1, input_shape=(1,))])
  model.compile(optimizer=tf_keras.optimizers.SGD(), loss='mse')
  model.optimizer.iterations.assign(step)
  return model


def _write_complete_export(root_dir, version=1):
  """The files that make `export_dirs` see a complete export version."""
  path = os.path.join(flywheel_roles.export_root(str(root_dir)), str(version))
  assets = os.path.join(path, proto_conversion.ASSETS_DIRNAME,
                        proto_conversion.ASSETS_FILENAME)
  os.makedirs(os.path.dirname(assets))
  for name in (os.path.join(path, 'saved_model.pb'), assets):
    with open(name, 'wb'):
      pass


def _limiter(root_dir, ratio, step, exported=True):
  if exported:
    _write_complete_export(root_dir)
  limiter = flywheel_roles.ReplayRatioLimiter(
      str(root_dir), max_steps_per_transition=ratio, poll_secs=0.05)
  limiter.set_model(_trainer_at_step(step))
  return limiter


def _later(seconds, function, *args, **kwargs):
  timer = threading.Timer(seconds, function, args, kwargs)
  timer.start()
  return timer


@pytest.mark.parametrize('ratio', [0, 0.0, -1, True, '2', float('nan')])
def test_the_limiter_rejects_a_ratio_that_is_not_positive(tmp_path, ratio):
  with pytest.raises(ValueError,
                     match='max_steps_per_transition must be a positive'):
    flywheel_roles.ReplayRatioLimiter(str(tmp_path), ratio)


@pytest.mark.parametrize('ratio, transitions, step', [
    (2.0, 3, 5),
    (2, 3, 0),
    (0.5, 20, 9),
])
def test_the_limiter_lets_a_trainer_within_the_ratio_step(tmp_path, ratio,
                                                          transitions, step):
  _write(tmp_path, 'collector-0', state='collecting', transitions=transitions)
  limiter = _limiter(tmp_path, ratio, step)
  limiter.on_train_batch_begin(0)
  assert limiter.waited_secs == 0


def test_the_limiter_never_holds_back_the_first_export(tmp_path):
  # Collectors out of bootstrap episodes wait for it: holding the trainer
  # back then would stall both.
  _write(tmp_path, 'collector-0', state='collecting', transitions=1)
  limiter = _limiter(tmp_path, 1.0, 50, exported=False)
  limiter.on_train_batch_begin(0)
  assert limiter.waited_secs == 0


@pytest.mark.timeout(10)
@pytest.mark.parametrize('step', [6, 7])
def test_the_limiter_waits_until_the_collectors_catch_up(tmp_path, step):
  _write(tmp_path, 'collector-0', state='collecting', transitions=3)
  limiter = _limiter(tmp_path, 2.0, step)
  timer = _later(0.3, _write, tmp_path, 'collector-0', state='collecting',
                 transitions=4)
  start = time.monotonic()
  limiter.on_train_batch_begin(0)
  timer.join()
  assert time.monotonic() - start >= 0.25
  assert limiter.waited_secs > 0


@pytest.mark.timeout(10)
def test_a_trainer_started_before_any_collector_waits_for_one(tmp_path):
  limiter = _limiter(tmp_path, 1.0, 0)
  timer = _later(0.3, _write, tmp_path, 'collector-0', state='collecting',
                 transitions=5)
  limiter.on_train_batch_begin(0)
  timer.join()
  assert limiter.waited_secs > 0


def test_the_limiter_stops_holding_back_once_every_collector_is_done(
    tmp_path):
  _write(tmp_path, 'collector-0', state='done', transitions=10)
  _write(tmp_path, 'collector-1', state='done', transitions=0)
  _write(tmp_path, 'evaluator', state='waiting for an export')
  limiter = _limiter(tmp_path, 1.0, 100)
  limiter.on_train_batch_begin(0)
  assert limiter.waited_secs == 0


@pytest.mark.timeout(10)
def test_the_limiter_holds_back_while_any_collector_still_runs(tmp_path):
  _write(tmp_path, 'collector-0', state='done', transitions=10)
  _write(tmp_path, 'collector-1', state='collecting', transitions=0)
  limiter = _limiter(tmp_path, 1.0, 100)
  timer = _later(0.3, _write, tmp_path, 'collector-1', state='done',
                 transitions=0)
  limiter.on_train_batch_begin(0)
  timer.join()
  assert limiter.waited_secs > 0


# run_collector


def _exploring_policy(predictor):
  return flywheel_roles.exploring_cem_policy(
      predictor, (-1.0, -1.0), (1.0, 1.0), seed=0)


def _run_collector(root_dir, **kwargs):
  arguments = dict(
      env_fn=point_flywheel.point_reach_env, policy_fn=_exploring_policy,
      bootstrap_policy_fn=point_env.RandomReachPolicy,
      episode_to_transitions_fn=point_records.episode_to_transitions,
      replay_writer=_writer(), episodes_per_round=2, bootstrap_episodes=10,
      new_export_timeout_secs=0.5)
  arguments.update(kwargs)
  flywheel_roles.run_collector(root_dir=str(root_dir), **arguments)


def _replay_files(root_dir):
  return sorted(glob.glob(collect.replay_pattern(str(root_dir), 'collect')))


def _num_records(root_dir):
  return len(point_records.read_labels(_replay_files(root_dir))['done'])


@pytest.mark.timeout(30)
def test_a_collector_stops_bootstrapping_at_max_episodes(tmp_path):
  _run_collector(tmp_path, max_episodes=5)
  status = _status(tmp_path, 'collector-0')
  assert status['episodes'] == 5 and status['state'] == 'done'
  assert status['transitions'] == _num_records(tmp_path) > 0


@pytest.mark.timeout(30)
def test_a_collector_at_max_episodes_writes_nothing_when_run_again(
    tmp_path):
  _run_collector(tmp_path, max_episodes=5)
  files = _replay_files(tmp_path)
  transitions = _status(tmp_path, 'collector-0')['transitions']
  _run_collector(tmp_path, max_episodes=5)
  status = _status(tmp_path, 'collector-0')
  assert status['episodes'] == 5 and status['state'] == 'done'
  assert status['transitions'] == transitions
  assert _replay_files(tmp_path) == files


@pytest.mark.timeout(30)
def test_a_resumed_collector_tops_up_to_max_episodes(tmp_path):
  _run_collector(tmp_path, max_episodes=3)
  _run_collector(tmp_path, max_episodes=5)
  status = _status(tmp_path, 'collector-0')
  assert status['episodes'] == 5 and status['state'] == 'done'
  assert status['transitions'] == _num_records(tmp_path)


class _OneExportPolicy(point_env.ScriptedReachPolicy):
  """Acts as if the collector's predictor had one export, at step 10.

  `restore()` always succeeds and never finds a newer export, so the policy
  stands for a trainer that stopped exporting (without a real export's cost).
  """

  def restore(self):
    return True

  @property
  def global_step(self):
    return 10


@pytest.mark.timeout(30)
def test_a_collector_not_waiting_for_exports_reuses_the_newest(tmp_path):
  _run_collector(tmp_path, policy_fn=_OneExportPolicy,
                 bootstrap_policy_fn=None, max_episodes=6,
                 wait_for_new_export=False)
  status = _status(tmp_path, 'collector-0')
  assert status['episodes'] == 6 and status['state'] == 'done'
  assert status['global_step'] == 10
  assert {f.split('/')[-1][:14] for f in _replay_files(tmp_path)} == {
      'gs000000000010'}


@pytest.mark.timeout(30)
def test_a_collector_waiting_for_a_newer_export_times_out_without_one(
    tmp_path):
  with pytest.raises(TimeoutError, match='no export newer than global step '
                     '10'):
    _run_collector(tmp_path, policy_fn=_OneExportPolicy,
                   bootstrap_policy_fn=None, max_episodes=6,
                   wait_for_new_export=True)
  assert _status(tmp_path, 'collector-0')['episodes'] == 2


@pytest.mark.timeout(30)
def test_bootstrap_episodes_count_towards_max_episodes(tmp_path):
  _run_collector(tmp_path, policy_fn=_OneExportPolicy, bootstrap_episodes=2,
                 max_episodes=5, wait_for_new_export=False)
  status = _status(tmp_path, 'collector-0')
  assert status['episodes'] == 5 and status['state'] == 'done'
  names = [f.split('/')[-1][:14] for f in _replay_files(tmp_path)]
  assert names.count('gs000000000000') == 1  # The bootstrap's one round.


# run_trainer


def test_a_trainer_with_a_non_positive_ratio_fails_before_training(
    tmp_path):
  with pytest.raises(ValueError, match='max_steps_per_transition'):
    flywheel_roles.run_trainer(root_dir=str(tmp_path),
                               max_steps_per_transition=0)
  assert status_files.read_statuses(str(tmp_path)) == {}
