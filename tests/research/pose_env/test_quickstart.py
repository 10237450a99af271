"""The pose-env quickstart end to end, tiny: collect, train, export, act.

The job runs once as the command a user types (a subprocess); the exports it
leaves are then loaded and run in the simulator by another fresh process
that imports no model code, and a second run must reuse everything and
score the same.
"""

import json
import os
import re
import subprocess
import sys

import numpy as np
from PIL import Image
import pytest

from research.pose_env import quickstart

_REPO_ROOT = os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
        __file__)))))
_STEPS = 6
_FLAGS = ['--num_train_episodes=24', '--num_eval_episodes=8',
          '--num_test_episodes=4', '--num_images=3',
          f'--max_train_steps={_STEPS}', f'--max_critic_steps={_STEPS}',
          # Tiny batches: a few steps, not a few large ones, is what is tested.
          '--gin_bindings=train/DefaultRecordInputGenerator.batch_size = 8',
          '--gin_bindings=eval/DefaultRecordInputGenerator.batch_size = 8']


_CPP_LOG_LINE = re.compile(r'^[IWE]\d{4} ', re.MULTILINE)


def _run_process(*args, timeout=240):
  result = subprocess.run([sys.executable, *args], cwd=_REPO_ROOT,
                          capture_output=True, text=True, timeout=timeout,
                          check=False)
  assert result.returncode == 0, result.stdout + result.stderr
  return result


def _run(*args, timeout=240):
  return _run_process(*args, timeout=timeout).stdout


def _quickstart(root_dir):
  return _run_process('-m', 'research.pose_env.quickstart',
                      f'--root_dir={root_dir}', *_FLAGS)


@pytest.fixture(scope='module')
def first_run_process(tmp_path_factory):
  """(root_dir, CompletedProcess) of one tiny quickstart run."""
  root_dir = tmp_path_factory.mktemp('quickstart')
  return root_dir, _quickstart(root_dir)


@pytest.fixture(name='first_run')
def fixture_first_run(first_run_process):
  """(root_dir, stdout) of the tiny quickstart run."""
  root_dir, process = first_run_process
  return root_dir, process.stdout


def _results(root_dir):
  with open(root_dir / quickstart.RESULTS_JSON) as f:
    return json.load(f)


def test_scores_all_three_policies_and_prints_them(first_run):
  root_dir, stdout = first_run
  results = _results(root_dir)['policies']
  assert sorted(results) == ['cem_critic', 'random', 'regression']
  for name, entry in results.items():
    assert entry['episodes'] == 4
    assert 0 < entry['mean_distance'] < 2.0
    assert f'{name} ' in stdout
  for name in ('regression', 'cem_critic'):
    assert results[name]['train_steps'] == _STEPS
    assert results[name]['export_path'].endswith(os.path.join('export',
                                                               str(_STEPS)))
  assert 'mean dist (m)' in stdout


def test_prints_no_tensorflow_log_lines(first_run_process):
  _, process = first_run_process
  assert not _CPP_LOG_LINE.search(process.stderr), process.stderr
  assert 'Sanitizing' not in process.stderr
  assert 'absl::InitializeLog' not in process.stderr


def test_shows_progress_of_every_long_stage(first_run):
  _, stdout = first_run
  for stage in ('[collect train-24.tfrecord] 24/24 episodes',
                '[train PoseEnvRegressionModel] 6/6 steps',
                '[train PoseEnvContinuousMCModel] 6/6 steps',
                '[evaluate cem_critic] 4/4 episodes'):
    assert stage in stdout, stdout


def test_writes_a_picture_of_the_table_and_camera_images(first_run):
  root_dir, _ = first_run
  with Image.open(root_dir / quickstart.RESULTS_PNG) as picture:
    assert picture.format == 'PNG'
    width, height = picture.size
    pixels = np.asarray(picture.convert('RGB'))
  assert width >= 3 * 128 and height > 128
  assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 50  # Not blank.


_ACT_IN_FRESH_PROCESS = r'''
import sys
import numpy as np
from research.pose_env import pose_env
from t2r import policies, predictors

root_dir = sys.argv[1]
env = pose_env.PoseEnv()
for name in ('regression', 'critic'):
  predictor = predictors.ExportedSavedModelPredictor(
      f'{root_dir}/{name}/export', timeout=0)
  assert predictor.restore() and predictor.global_step == int(sys.argv[2])
  low, high = zip(pose_env.DUCK_X_RANGE, pose_env.DUCK_Y_RANGE)
  if name == 'regression':
    acting = [policies.RegressionPolicy(predictor, action_low=low,
                                        action_high=high)]
  else:
    acting = [policies.CEMPolicy(predictor, low, high, seed=0),
              policies.CEMPolicy(predictor, low, high,
                                 exported_cem_signature='cem_action')]
  for policy in acting:
    image, info = env.reset(seed=123)
    action, _ = policy.sample_action(image, 0.0)
    _, reward, done, _, _ = env.step(action)
    assert action.shape == (2,) and done and np.isfinite(reward)
    assert np.all(action >= np.float32(low)) and np.all(
        action <= np.float32(high))
    print(name, type(policy).__name__, reward)
assert 'research.pose_env.pose_env_models' not in sys.modules
assert 't2r.models' not in sys.modules
print('acted')
'''


def test_exports_act_in_a_fresh_process_without_model_code(first_run):
  root_dir, _ = first_run
  stdout = _run('-c', _ACT_IN_FRESH_PROCESS, str(root_dir), str(_STEPS))
  assert stdout.splitlines()[-1] == 'acted'


@pytest.fixture(scope='module')
def second_run(first_run_process):
  """The same command again on the first run's root_dir, and what it found."""
  root_dir, _ = first_run_process
  data = sorted((root_dir / 'data').iterdir())
  before = {
      'data_mtimes': [path.stat().st_mtime_ns for path in data],
      'checkpoints': _checkpoints(root_dir),
      'results': _results(root_dir)['policies'],
  }
  stdout = _quickstart(root_dir).stdout
  return root_dir, data, before, stdout


def _checkpoints(root_dir):
  return sorted(p.name for p in (root_dir / 'regression').iterdir()
                if p.name.startswith('ckpt-'))


def test_second_run_reuses_the_data_and_skips_training(second_run):
  root_dir, data, before, stdout = second_run
  assert 'Reusing train data' in stdout and 'Reusing eval data' in stdout
  assert stdout.count('already trained; skipped') == 2
  assert [p.stat().st_mtime_ns for p in data] == before['data_mtimes']
  assert _checkpoints(root_dir) == before['checkpoints']
  assert _results(root_dir)['policies']['regression']['train_steps'] == _STEPS


def test_second_run_scores_every_policy_exactly_as_the_first(second_run):
  # Same seed, same exports: the evaluation episodes and actions repeat.
  # (That training itself is seeded is tested in tests/train.)
  root_dir, _, before, _ = second_run
  again = _results(root_dir)['policies']
  for name, entry in before['results'].items():
    assert again[name]['mean_distance'] == entry['mean_distance'], name
