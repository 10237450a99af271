"""The scripted baselines and the script that measures them."""

import glob
import math

import gin
import numpy as np
import pytest
import tensorflow as tf

from research.qtopt import baselines
from research.qtopt import grasping_env
from research.qtopt import measure_baselines


@pytest.fixture(scope='module')
def envs():
  made = {'multi_step': grasping_env.KukaGraspMultiStepEnv(
              object_split='test', num_objects=1, settle_substeps=10),
          'grasp_point': grasping_env.KukaGraspPointEnv(
              object_split='test', num_objects=1, settle_substeps=10)}
  yield made
  for env in made.values():
    env.close()


@pytest.mark.parametrize('variant', ['multi_step', 'grasp_point'])
def test_every_baseline_acts_inside_the_action_space(envs, variant):
  env = envs[variant]
  obs, _ = env.reset(seed=0)
  for name in baselines.BASELINES[variant]:
    policy = baselines.make_baseline(name, [env], seed=1)
    policy.reset()
    action, debug = policy.sample_action(obs, 0.0)
    assert env.action_space.contains(action), (name, action)
    assert isinstance(debug, dict)


def test_random_policies_are_seeded(envs):
  space = envs['multi_step'].action_space
  first = [baselines.UniformRandomPolicy(space, seed=3).sample_action(
      None, 0.0)[0] for _ in range(2)]
  np.testing.assert_array_equal(first[0], first[1])
  other = baselines.UniformRandomPolicy(space, seed=4).sample_action(
      None, 0.0)[0]
  assert not np.array_equal(first[0], other)
  descending = baselines.RandomDescendingPolicy(space, seed=3)
  actions = np.stack([descending.sample_action(None, 0.0)[0]
                      for _ in range(5)])
  np.testing.assert_array_equal(actions[:, 2], -1.0)
  assert np.ptp(actions[:, 0]) > 0


def test_straight_down_actions(envs):
  np.testing.assert_array_equal(
      baselines.StraightDownPolicy(envs['multi_step'].action_space)
      .sample_action(None, 0.0)[0], [0.0, 0.0, -1.0, 0.0])
  obs, _ = envs['grasp_point'].reset(seed=0)
  action, _ = baselines.StraightDownPolicy(
      envs['grasp_point'].action_space).sample_action(obs, 0.0)
  np.testing.assert_allclose(action[:2], obs['gripper_pose'][:2], atol=1e-6)
  assert action[2] == 0.0


def test_bad_baseline_arguments(envs):
  with pytest.raises(ValueError, match='random_descending'):
    baselines.make_baseline('scripted', [envs['multi_step']])
  with pytest.raises(ValueError, match='KukaGraspMultiStep action space'):
    baselines.RandomDescendingPolicy(envs['grasp_point'].action_space)
  with pytest.raises(TypeError, match='seed'):
    baselines.UniformRandomPolicy(envs['multi_step'].action_space, seed=0.5)
  with pytest.raises(ValueError, match='KukaGraspEnv'):
    baselines.PrivilegedExpertPolicy([object()])
  expert = baselines.PrivilegedExpertPolicy([envs['multi_step']])
  envs['multi_step'].reset(seed=0)
  with pytest.raises(ValueError, match='slot 1'):
    expert.sample_actions([None, None], 0.0)


def test_grasp_yaw_and_finger_offset():
  assert baselines.grasp_yaw(0.0) == 0.0
  assert baselines.grasp_yaw(math.pi / 2) == pytest.approx(-math.pi / 2)
  assert baselines.grasp_yaw(math.pi / 2, current_yaw=1.0) == pytest.approx(
      math.pi / 2)
  np.testing.assert_allclose(baselines.end_effector_xy((0.5, 0.0), 0.0),
                             [0.5, -baselines.FINGER_CENTER_OFFSET])


def test_choose_object_prefers_isolated_reachable_objects():
  centers = np.array([[0.50, 0.00, -0.15], [0.52, 0.01, -0.15],
                      [0.60, -0.10, -0.15], [0.72, 0.2, -0.15]])
  assert baselines.choose_object(centers, (0.537, 0.0)) == 2


def test_wilson_interval():
  low, high = measure_baselines.wilson_interval(87, 100)
  assert low == pytest.approx(0.7902, abs=1e-4)
  assert high == pytest.approx(0.9224, abs=1e-4)
  assert measure_baselines.wilson_interval(0, 10)[0] == 0.0
  with pytest.raises(ValueError, match='successes'):
    measure_baselines.wilson_interval(5, 4)


def test_jobs_shard_episodes_independently_of_workers():
  jobs = measure_baselines.make_jobs(
      ['grasp_point'], ['random', 'privileged'], episodes=25, shard_size=10,
      env_kwargs={'object_split': 'test'}, num_envs=2, seed=0,
      episode_seed=100, gin_bindings=[])
  assert [(j.baseline, j.first_episode, j.num_episodes) for j in jobs] == [
      ('random', 0, 10), ('random', 10, 10), ('random', 20, 5),
      ('privileged', 0, 10), ('privileged', 10, 10), ('privileged', 20, 5)]
  with pytest.raises(ValueError, match='variant'):
    measure_baselines.make_jobs(['both'], [], 1, 1, {}, 1, 0, 0, [])
  with pytest.raises(ValueError, match='baselines'):
    measure_baselines.make_jobs(['grasp_point'], ['oracle'], 1, 1, {}, 1, 0,
                                0, [])


@pytest.fixture
def clean_gin():
  gin.clear_config()
  yield
  gin.clear_config()


def test_measure_runs_a_shard_and_prints_a_table(capsys, clean_gin):
  del clean_gin  # The bindings apply to this process.
  assert measure_baselines.main([
      '--episodes=2', '--variants=grasp_point', '--baselines=straight_down',
      '--num_envs=2', '--gin_bindings=KukaGraspEnv.num_objects=1',
      '--gin_bindings=KukaGraspEnv.settle_substeps=10']) == 0
  out = capsys.readouterr().out
  assert '| grasp_point | straight_down |' in out
  assert 'episodes/h per worker' in out


def test_an_export_dir_adds_the_critic_row():
  jobs = measure_baselines.make_jobs(
      ['grasp_point'], [], episodes=5, shard_size=10, env_kwargs={},
      num_envs=1, seed=0, episode_seed=0, gin_bindings=[],
      export_dir='/tmp/run/model/export')
  assert [j.baseline for j in jobs] == ['random', 'straight_down',
                                        'privileged', 'critic']
  assert {j.export_dir for j in jobs} == {'/tmp/run/model/export'}


def test_an_empty_export_dir_is_a_clear_error(tmp_path, clean_gin):
  del clean_gin
  with pytest.raises(ValueError, match='holds no loadable export'):
    measure_baselines.main([
        '--episodes=1', '--variants=grasp_point', '--baselines=critic',
        f'--export_dir={tmp_path}', '--gin_bindings=KukaGraspEnv.num_objects=1',
        '--gin_bindings=KukaGraspEnv.settle_substeps=10'])


def test_record_dir_writes_every_transition_as_records(tmp_path, clean_gin):
  del clean_gin
  assert measure_baselines.main([
      '--episodes=2', '--variants=grasp_point', '--baselines=straight_down',
      f'--record_dir={tmp_path}', '--gin_bindings=KukaGraspEnv.num_objects=1',
      '--gin_bindings=KukaGraspEnv.settle_substeps=10']) == 0
  files = glob.glob(str(tmp_path / 'policy_grasp-point-straight-down' /
                        '*.tfrecord'))
  assert len(files) == 1
  assert sum(1 for _ in tf.data.TFRecordDataset(files)) == 2
