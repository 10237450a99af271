"""Recording, writing, reading back and checking BC-Z demonstrations."""

import dataclasses
import functools
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from research.bcz import bcz_env
from research.bcz import bcz_specs
from research.bcz import collect_demos
from research.bcz import experts

_TASKS = ('reach the duck', 'push the blue block to the left')
_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))


@pytest.fixture(scope='module')
def env():
  made = bcz_env.BCZEnv(tasks=_TASKS)
  yield made
  made.close()


def test_demos_round_trip_the_records_and_pass_the_checks(env, tmp_path):
  demos, stats = collect_demos.collect_demonstrations(env, 'train', 2)
  assert len(demos) == 4 and stats.successes == {t: 2 for t in _TASKS}
  paths = collect_demos.write_demonstrations(
      str(tmp_path / 'train.tfrecord'), demos, env.task_table)
  episodes = list(bcz_specs.read_episodes(paths))
  for demo, episode in zip(demos, episodes):
    assert episode['task'] == demo.task
    assert episode['reset_seed'] == demo.reset_seed
    assert episode['task_id'] == env.task_table.task_id(demo.task)
    np.testing.assert_allclose(episode['action'], demo.actions)
    np.testing.assert_allclose(episode['proprioception'],
                               demo.proprioception)
    assert episode['image'].shape == demo.images.shape
  report = collect_demos.check_records(
      paths, functools.partial(bcz_env.BCZEnv, tasks=_TASKS))
  assert report.counts['kept'] == 4, report.summary()


def test_a_robot_that_does_nothing_is_flagged_idle(env, tmp_path):
  env.reset(seed=0, options={'task': 'reach the duck'})
  frames, poses = [], []
  for _ in range(20):
    obs = env._observation()  # pylint: disable=protected-access
    frames.append(obs['image'])
    poses.append(obs['proprioception'])
    env.step(np.zeros(7, np.float32))
  demo = experts.Demonstration('reach the duck', 0, np.stack(frames),
                               np.stack(poses), np.zeros((20, 7), np.float32),
                               np.zeros((20, 7), np.float32), False)
  paths = collect_demos.write_demonstrations(
      str(tmp_path / 'idle.tfrecord'), [demo], env.task_table)
  report = collect_demos.check_records(
      paths, functools.partial(bcz_env.BCZEnv, tasks=_TASKS))
  assert report.idle_indices == [0] and report.counts['kept'] == 0


def test_collection_rejects_bad_arguments(env):
  with pytest.raises(ValueError, match='split'):
    collect_demos.collect_demonstrations(env, 'test', 1)
  with pytest.raises(ValueError, match='demos_per_task'):
    collect_demos.collect_demonstrations(env, 'train', 0)
  with pytest.raises(ValueError, match='Unknown task'):
    collect_demos.collect_demonstrations(env, 'train', 1,
                                         tasks=['reach the moon'])


def test_script_writes_both_splits_per_task_and_prints_the_checks(tmp_path):
  result = subprocess.run(
      [sys.executable, '-m', 'research.bcz.collect_demos',
       f'--output_dir={tmp_path}', '--demos_per_task=1',
       '--eval_demos_per_task=1', '--tasks=reach the duck'],
      cwd=_ROOT, capture_output=True, text=True, timeout=120, check=False)
  assert result.returncode == 0, result.stderr[-2000:]
  assert sorted(os.listdir(tmp_path)) == [
      'eval-checks.json', 'eval-reach_the_duck-00000.tfrecord',
      'train-checks.json', 'train-reach_the_duck-00000.tfrecord']
  assert 'train: episode checks: 1 episodes, 1 kept' in result.stdout
  with open(tmp_path / 'train-checks.json') as f:
    checks = json.load(f)
  assert checks['counts']['kept'] == 1 and checks['flagged'] == []
  # A subset keeps the standard task ids (and with them the initial states).
  episode, = bcz_specs.read_episodes(
      str(tmp_path / 'train-reach_the_duck-00000.tfrecord'))
  assert episode['task_id'] == bcz_env.TASKS.index('reach the duck')
  assert episode['reset_seed'] == bcz_env.initial_state_seeds(
      'train', bcz_env.TASKS.index('reach the duck'), 1)[0]
  # A second run into the same directory fails before collecting anything.
  again = subprocess.run(
      [sys.executable, '-m', 'research.bcz.collect_demos',
       f'--output_dir={tmp_path}', '--demos_per_task=1',
       '--tasks=reach the duck'],
      cwd=_ROOT, capture_output=True, text=True, timeout=120, check=False)
  assert again.returncode == 1
  assert again.stderr.strip().splitlines()[-1] == (
      f'collect_demos: {tmp_path} already holds demos of these tasks (2 '
      f"files, e.g. {tmp_path / 'eval-reach_the_duck-00000.tfrecord'}); "
      'choose another --output_dir or pass --overwrite.')
  assert 'collect train' not in again.stdout + again.stderr


def test_demos_whose_labels_fail_are_flagged_and_named(env):
  good, _ = collect_demos.collect_demonstrations(env, 'train', 1,
                                                 tasks=['reach the duck'])
  demo = good[0]
  # Labels that go up instead of to the duck: the replay cannot succeed.
  actions = np.zeros_like(demo.actions)
  actions[:, 2] = 0.05
  broken = dataclasses.replace(demo, actions=actions)
  report = collect_demos.check_demonstrations(
      [demo, broken], functools.partial(bcz_env.BCZEnv, tasks=_TASKS))
  assert report.kept_indices == [0]
  flagged = collect_demos.flagged_demos([demo, broken], report)
  assert [f['reset_seed'] for f in flagged] == [demo.reset_seed]
  assert flagged[0]['task'] == 'reach the duck'
  assert flagged[0]['reason'].startswith('label replay')


@pytest.mark.parametrize('task, name', [
    ('reach the duck', 'reach_the_duck'),
    ('push the blue block to the left', 'push_the_blue_block_to_the_left'),
    ('Pick up the Red block!', 'pick_up_the_red_block'),
])
def test_record_files_name_their_task(task, name):
  assert collect_demos.task_file_name(task) == name
