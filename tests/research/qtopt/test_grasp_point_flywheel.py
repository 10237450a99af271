"""The grasp-point QT-Opt flywheel end to end, tiny, through its real config.

`t2r-flywheel` runs research/qtopt/configs/grasp_point_flywheel.gin (the
config of the learning runs) in separate processes, bound down to a few
episodes, a few train steps and a cheap scene.
"""

import glob
import os
import subprocess
import sys

import pytest
import tensorflow as tf

from research.qtopt import grasping_critic
from t2r import collect
from t2r.collect import status_files
from t2r.modes import ModeKeys

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
_CONFIG = os.path.join(_ROOT, 'research', 'qtopt', 'configs',
                       'grasp_point_flywheel.gin')
_EPISODES_PER_COLLECTOR = 6
_COLLECTORS = 2  # As in the config: two simulators feed one trainer.
_TINY = (
    f'MAX_EPISODES = {_EPISODES_PER_COLLECTOR}',
    f'run_flywheel.num_collectors = {_COLLECTORS}',
    'MAX_TRAIN_STEPS = 12',
    'EXPORT_EVERY = 6',
    'NUM_SAMPLES = 16',
    'CEMExportGenerator.num_elites = 4',
    'run_collector.bootstrap_episodes = 2',
    'run_collector.episodes_per_round = 2',
    'run_evaluator.num_episodes = 2',
    'GrowingReplayInputGenerator.batch_size = 4',
    'GrowingReplayInputGenerator.shuffle_buffer_size = 10',
    'train_eval_model.show_progress = False',
    'KukaGraspEnv.num_objects = 2',
    'KukaGraspEnv.settle_substeps = 30',
    'KukaGraspEnv.close_substeps = 100',
    'KukaGraspEnv.lift_substeps = 60',
    'KukaGraspPointEnv.approach_substeps = 40',
    'KukaGraspPointEnv.descent_substeps = 40',
)


@pytest.fixture(scope='module')
def flywheel(tmp_path_factory):
  root_dir = str(tmp_path_factory.mktemp('grasp_point_flywheel'))
  bindings = [f"ROOT_DIR = '{root_dir}'", *_TINY]
  command = [sys.executable, '-m', 't2r.bin.run_flywheel',
             f'--gin_configs={_CONFIG}',
             *[f'--gin_bindings={b}' for b in bindings]]
  environ = dict(os.environ, CUDA_VISIBLE_DEVICES='')
  environ['PYTHONPATH'] = os.pathsep.join(
      p for p in (_ROOT, environ.get('PYTHONPATH')) if p)
  result = subprocess.run(command, capture_output=True, text=True,
                          timeout=400, env=environ, cwd=_ROOT, check=False)
  return root_dir, result


def test_the_flywheel_runs_to_its_limits_and_exits_cleanly(flywheel):
  root_dir, result = flywheel
  assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
  statuses = status_files.read_statuses(root_dir)
  for index in range(_COLLECTORS):
    collector = statuses[f'collector-{index}']
    assert collector['episodes'] == _EPISODES_PER_COLLECTOR
    assert collector['state'] == 'done'
  assert statuses['trainer']['global_step'] == 12
  assert 'flywheel done' in result.stdout


def test_the_evaluator_scores_exports_against_collected_episodes(flywheel):
  root_dir, _ = flywheel
  history = status_files.read_statuses(root_dir)['evaluator']['history']
  assert history and history[-1]['global_step'] == 12
  most = _COLLECTORS * _EPISODES_PER_COLLECTOR
  assert all(0 <= h['collected_episodes'] <= most for h in history)
  assert os.path.getsize(os.path.join(root_dir, 'flywheel.png')) > 0


def test_the_replay_parses_with_the_critics_specs(flywheel):
  root_dir, _ = flywheel
  files = sorted(glob.glob(collect.replay_pattern(root_dir, 'collect')))
  assert files
  critic = grasping_critic.GraspingCriticModel(network='small',
                                               action_size=3)
  feature_spec = critic.preprocessor.get_in_feature_specification(
      ModeKeys.TRAIN)
  records = [r for f in files for r in tf.data.TFRecordDataset(f)]
  assert len(records) == _COLLECTORS * _EPISODES_PER_COLLECTOR
  example = tf.train.Example.FromString(records[0].numpy())
  assert sorted(example.features.feature) == sorted(
      [spec.name for spec in feature_spec.values()] + ['reward', 'done'])
