"""DataServiceInputGenerator: training through a dispatcher and two workers.

The dispatcher runs in the test process; the workers are separate processes
on 127.0.0.1 (`python -m t2r.bin.run_data_service --worker`), as they would
be on other machines.
"""

import functools
import os
import subprocess
import sys

import pytest
import tf_keras

from t2r import train
from t2r.data import data_service
from t2r.data import record_input_generator
from t2r.modes import ModeKeys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'train'))
import tiny_model  # pylint: disable=g-import-not-at-top,wrong-import-position

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


@pytest.fixture(scope='module')
def service():
  """A dispatcher here and two worker processes; yields its target."""
  dispatcher = data_service.start_dispatcher()
  address = dispatcher.target.split('://')[1]
  environ = dict(os.environ, PYTHONPATH=_ROOT, CUDA_VISIBLE_DEVICES='')
  workers = [subprocess.Popen(
      [sys.executable, '-m', 't2r.bin.run_data_service', '--worker',
       f'--dispatcher_address={address}', '--worker_host=127.0.0.1'],
      env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for _ in range(2)]
  yield dispatcher.target
  for worker in workers:
    worker.terminate()
    worker.wait(timeout=30)


def _records(directory, count=4):
  os.makedirs(str(directory), exist_ok=True)
  paths = []
  for index in range(count):
    path = os.path.join(str(directory), f'train-{index}.tfrecord')
    tiny_model.write_linear_records(path, 64, marker=float(index), seed=index)
    paths.append(path)
  return os.path.join(str(directory), 'train-*.tfrecord')


def _generator(pattern, service_target, **kwargs):
  return data_service.DataServiceInputGenerator(
      record_input_generator.DefaultRecordInputGenerator(
          file_patterns=pattern, batch_size=16, **kwargs),
      service=service_target)


def test_batches_come_through_the_service_with_the_wrapped_specs(
    tmp_path, service):
  generator = _generator(_records(tmp_path), service, num_epochs=1)
  generator.set_specification_from_model(tiny_model.LinearModel(),
                                         ModeKeys.EVAL)
  markers = []
  for features, labels in generator.create_dataset(ModeKeys.EVAL):
    assert features.state.shape[1:] == (4,) and labels.target.shape[1:] == (
        1,)
    markers.extend(features.state[:, 3].numpy().tolist())
  # distributed_epoch: every record of every file once, across the workers.
  assert sorted(set(markers)) == [0.0, 1.0, 2.0, 3.0]
  assert len(markers) == 4 * 64


def test_train_eval_model_trains_through_the_workers(tmp_path, service):
  generator = _generator(_records(tmp_path / 'data'), service)
  result = train.train_eval_model(
      t2r_model=functools.partial(
          tiny_model.LinearModel,
          create_optimizer_fn=lambda: tf_keras.optimizers.Adam(0.05)),
      input_generator_train=generator,
      max_train_steps=60, model_dir=str(tmp_path / 'model'),
      save_checkpoints_steps=60, log_every_n_steps=20, seed=0,
      show_progress=False)
  assert result['global_step'] == 60
  # The loss of the untrained model is about |WEIGHTS|^2 = 14.25.
  assert result['train']['loss'] < 5.0


@pytest.mark.parametrize('kwargs,error,match', [
    ({'input_generator': 'records'}, TypeError, 'wraps a t2r input generator'),
    ({'processing_mode': 'sharded'}, ValueError, 'processing_mode must be'),
    ({'service': ''}, ValueError, 'host:port'),
])
def test_bad_arguments_fail_clearly(kwargs, error, match):
  arguments = dict(
      input_generator=record_input_generator.DefaultRecordInputGenerator(
          file_patterns='/nonexistent/*.tfrecord'),
      service='localhost:5050')
  arguments.update(kwargs)
  with pytest.raises(error, match=match):
    data_service.DataServiceInputGenerator(**arguments)
