"""The flywheel launcher end to end: separate processes sharing a directory.

Each test runs `python -m t2r.bin.run_flywheel` on the tiny point-reach
flywheel of `point_flywheel` (a trainable critic, the growing replay, one
collector, the evaluator).
"""

import glob
import os
import signal
import subprocess
import sys
import time

import pytest
import tensorflow as tf

from t2r import collect
from t2r.collect import status_files
import point_flywheel

_HERE = os.path.dirname(os.path.abspath(__file__))
_ROOT = os.path.dirname(os.path.dirname(_HERE))


def _environ():
  environ = dict(os.environ, CUDA_VISIBLE_DEVICES='')
  environ['PYTHONPATH'] = os.pathsep.join(
      p for p in (_ROOT, _HERE, environ.get('PYTHONPATH')) if p)
  return environ


def _config(root_dir, max_steps, export_every=20):
  path = f'{root_dir}.gin'
  with open(path, 'w') as f:
    f.write(point_flywheel.config(str(root_dir), max_steps, export_every))
  return path


def _command(config, *flags):
  return [sys.executable, '-m', 't2r.bin.run_flywheel',
          f'--gin_configs={config}', *flags]


def _run(config, *flags, timeout=240):
  return subprocess.run(_command(config, *flags), capture_output=True,
                        text=True, timeout=timeout, env=_environ(),
                        check=False)


def _collect_files(root_dir):
  return sorted(glob.glob(collect.replay_pattern(str(root_dir), 'collect')))


def _wait_for(condition, timeout_secs=120):
  deadline = time.monotonic() + timeout_secs
  while not condition():
    if time.monotonic() > deadline:
      raise AssertionError(f'Timed out after {timeout_secs} s.')
    time.sleep(0.2)


@pytest.fixture(scope='module')
def finished(tmp_path_factory):
  """A flywheel run to 60 steps: (root_dir, config, completed process)."""
  root_dir = tmp_path_factory.mktemp('flywheel') / 'run'
  config = _config(root_dir, max_steps=60)
  result = _run(config)
  assert result.returncode == 0, result.stdout + result.stderr
  return root_dir, config, result


def test_the_run_ends_with_a_summary_table_and_a_picture(finished):
  root_dir, _, result = finished
  assert 'flywheel done: trainer step 60' in result.stdout
  assert '| export step | eval success |' in result.stdout
  assert os.path.getsize(os.path.join(str(root_dir), 'flywheel.png')) > 0


def test_the_collector_switches_to_each_newer_export(finished):
  root_dir = finished[0]
  steps = {int(os.path.basename(p)[2:14]) for p in _collect_files(root_dir)}
  # 0: the random bootstrap; then the exports at 20, 40 and 60.
  assert {0, 60} <= steps and len(steps - {0}) >= 2


def test_the_evaluator_scores_every_export_it_saw(finished):
  history = status_files.read_statuses(str(finished[0]))['evaluator'][
      'history']
  steps = [row['global_step'] for row in history]
  assert steps == sorted(steps) and steps[-1] == 60


def test_running_again_resumes_every_process(finished):
  root_dir, _, _ = finished
  bootstrap_files = [p for p in _collect_files(root_dir)
                     if os.path.basename(p).startswith('gs000000000000')]
  result = _run(_config(root_dir, max_steps=100))
  assert result.returncode == 0, result.stdout + result.stderr
  assert 'flywheel done: trainer step 100' in result.stdout
  assert [p for p in _collect_files(root_dir) if os.path.basename(
      p).startswith('gs000000000000')] == bootstrap_files
  trainer = status_files.read_statuses(str(root_dir))['trainer']
  assert trainer['start_step'] == 60 and trainer['global_step'] == 100


def test_a_failing_process_stops_the_flywheel_with_one_line(tmp_path):
  config = _config(tmp_path / 'run', max_steps=60)
  start = time.monotonic()
  result = _run(config, '--gin_bindings=run_collector.envs_per_process=0')
  assert result.returncode != 0
  assert 'the collector-0 exited with status 1' in result.stderr
  assert 'envs_per_process must be a positive int' in result.stderr
  assert len(result.stderr.strip().splitlines()) == 1
  assert time.monotonic() - start < 120


def _processes_mentioning(text):
  pids = []
  for cmdline in glob.glob('/proc/[0-9]*/cmdline'):
    try:
      with open(cmdline, 'rb') as f:
        if text.encode() in f.read():
          pids.append(int(cmdline.split('/')[2]))
    except OSError:
      continue
  return pids


def test_ctrl_c_stops_every_process(tmp_path):
  root_dir = tmp_path / 'run'
  config = _config(root_dir, max_steps=10 ** 6)
  launcher = subprocess.Popen(_command(config), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True,
                              env=_environ())
  _wait_for(lambda: status_files.read_statuses(str(root_dir)).get(
      'trainer', {}).get('global_step', 0) > 0)
  launcher.send_signal(signal.SIGINT)
  _, stderr = launcher.communicate(timeout=60)
  assert launcher.returncode != 0
  assert 'stopped every process (Ctrl-C)' in stderr
  assert _processes_mentioning(config) == []
  # Temporaries only: each replay file has a '.<name>.t2r.json' sidecar.
  assert not glob.glob(
      os.path.join(str(root_dir), 'policy_collect', '.*.tmp-*'))


def test_kill_9_of_a_collector_leaves_only_complete_files(tmp_path):
  root_dir = tmp_path / 'run'
  config = _config(root_dir, max_steps=60)
  collector = subprocess.Popen(
      _command(config, '--role=collector',
               '--gin_bindings=run_collector.bootstrap_episodes=100000',
               '--gin_bindings=TFRecordReplayWriter.max_records_per_file=7'),
      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_environ())
  _wait_for(lambda: len(_collect_files(root_dir)) >= 3)
  collector.send_signal(signal.SIGKILL)
  collector.wait(timeout=30)
  for path in _collect_files(root_dir):
    # Complete and readable: a shard of 7, or a round's last, shorter one.
    assert 1 <= sum(1 for _ in tf.data.TFRecordDataset(path)) <= 7
  listed = collect.replay_pattern(str(root_dir), 'collect')
  assert all(not os.path.basename(p).startswith('.')
             for p in glob.glob(listed))
