"""The gin-selectable strategy factory and the worker roles."""

import os

import pytest
import tensorflow as tf

from t2r.train import strategies


def test_default_is_the_default_strategy():
  assert strategies.create_strategy() is tf.distribute.get_strategy()


@pytest.mark.parametrize('name, strategy_type', [
    ('one_device', tf.distribute.OneDeviceStrategy),
    ('mirrored', tf.distribute.MirroredStrategy),
])
def test_named_local_strategies(name, strategy_type):
  strategy = strategies.create_strategy(name, devices=['/cpu:0'])
  assert isinstance(strategy, strategy_type)
  assert strategy.num_replicas_in_sync == 1


def test_unknown_name_lists_the_known_ones():
  with pytest.raises(ValueError, match="Unknown strategy name 'horovod'.*"
                     "'multi_worker_mirrored'"):
    strategies.create_strategy('horovod')


def test_multi_worker_after_tensorflow_started_says_how_to_fix(monkeypatch):
  monkeypatch.setenv('TF_CONFIG', '{"cluster": {"worker": ["127.0.0.1:1", '
                     '"127.0.0.1:2"]}, "task": {"type": "worker", "index": 1}}')
  tf.constant(0)  # The runtime is initialized in this process.
  with pytest.raises(ValueError, match='Create the strategy before any'):
    strategies.create_strategy('multi_worker_mirrored')


@pytest.mark.parametrize('cluster, task_type, task_id, chief', [
    ({'chief': ['a:1'], 'worker': ['b:1']}, 'chief', 0, True),
    ({'chief': ['a:1'], 'worker': ['b:1']}, 'worker', 0, False),
    ({'worker': ['a:1', 'b:1']}, 'worker', 0, True),
    ({'worker': ['a:1', 'b:1']}, 'worker', 1, False),
    ({'worker': ['a:1'], 'evaluator': ['b:1']}, 'evaluator', 0, False),
])
def test_chief_task(cluster, task_type, task_id, chief):
  resolver = tf.distribute.cluster_resolver.SimpleClusterResolver(
      tf.train.ClusterSpec(cluster), task_type=task_type, task_id=task_id)
  assert strategies.is_chief_task(resolver) == chief


def test_single_process_strategies_are_chief():
  assert strategies.is_chief(tf.distribute.get_strategy())
  assert strategies.is_chief_task(None)


def test_chief_writes_to_model_dir(tmp_path):
  model_dir = str(tmp_path / 'model')
  with strategies.worker_write_dir(model_dir, chief=True) as directory:
    assert directory == model_dir
  assert os.path.isdir(model_dir)


def test_other_workers_write_to_a_removed_temp_dir(tmp_path):
  model_dir = str(tmp_path / 'model')
  with strategies.worker_write_dir(model_dir, chief=False) as directory:
    assert directory != model_dir
    with open(os.path.join(directory, 'ckpt'), 'w') as f:
      f.write('x')
  assert not os.path.exists(directory)
  assert not os.path.exists(model_dir)
