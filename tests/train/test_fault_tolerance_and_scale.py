"""t2r-train in subprocesses: resume after kill -9, two-worker training."""

import glob
import json
import os
import time

import gin
import numpy as np
import tensorflow as tf

from t2r import train
from t2r.data import synthetic_input_generators  # pylint: disable=unused-import
import job_util
import tiny_model

_TIMEOUT_SECS = 120


def _wait(process, timeout):
  try:
    return process.wait(timeout=timeout)
  except Exception:
    process.kill()
    raise


def _logged_values(path):
  """The numbers tf.print wrote to `path`."""
  text = path.read_text().replace('[', ' ').replace(']', ' ')
  return np.array(text.split(), float)


def test_rerun_after_kill_9_continues_from_the_checkpoint(tmp_path):
  model_dir = tmp_path / 'model'
  gin_file = job_util.write_gin(tmp_path / 'job.gin', [
      'GeneratorInputGenerator.generator_fn = @linear_batches',
      'GeneratorInputGenerator.batch_size = 8',
      'train_eval_model.t2r_model = @LinearModel',
      'train_eval_model.input_generator_train = @GeneratorInputGenerator()',
      f"train_eval_model.model_dir = '{model_dir}'",
      'train_eval_model.max_train_steps = 1000000',
      'train_eval_model.save_checkpoints_steps = 5',
      'train_eval_model.keep_checkpoint_max = 3',
  ])
  trainer = job_util.start_trainer(gin_file, tmp_path / 'first.log')
  deadline = time.monotonic() + _TIMEOUT_SECS
  try:
    while job_util.checkpoint_step(model_dir) in (None, 5):
      assert trainer.poll() is None, (tmp_path / 'first.log').read_text()
      assert time.monotonic() < deadline, 'no checkpoint appeared'
      time.sleep(0.1)
  finally:
    trainer.kill()  # SIGKILL, mid-training (likely mid-save).
    trainer.wait()
  killed_step = job_util.checkpoint_step(model_dir)
  assert killed_step % 5 == 0

  # The model_dir is loadable and the re-run continues from its checkpoint:
  # one more checkpoint interval, so the export hook runs once.
  gin.parse_config_files_and_bindings(
      [gin_file], [f'train_eval_model.max_train_steps = {killed_step + 5}'])
  saved_steps = []
  result = train.train_eval_model(
      export_hooks=[lambda model, directory, step: saved_steps.append(step)])
  assert saved_steps == [killed_step + 5]
  assert result['global_step'] == killed_step + 5
  assert job_util.checkpoint_step(model_dir) == killed_step + 5


def test_two_workers_train_on_their_own_shards(tmp_path):
  data_dir = tmp_path / 'data'
  data_dir.mkdir()
  for marker in (0, 1):
    tiny_model.write_linear_records(
        str(data_dir / f'part-{marker}.tfrecord'), 32, float(marker),
        seed=marker)
  model_dir = tmp_path / 'model'
  worker_dirs = [tmp_path / f'worker_{i}' for i in range(2)]
  for directory in worker_dirs:
    directory.mkdir()
  gin_file = job_util.write_gin(tmp_path / 'job.gin', [
      "create_strategy.name = 'multi_worker_mirrored'",
      f"ShardLoggingRecordInputGenerator.file_patterns = '{data_dir}/*'",
      f"ShardLoggingRecordInputGenerator.log_dir = '{tmp_path}'",
      'ShardLoggingRecordInputGenerator.batch_size = 8',
      # An instance, as T2R configs write it: the CLI creates it in the scope.
      'train_eval_model.t2r_model = @LinearModel()',
      'train_eval_model.input_generator_train = '
      '@ShardLoggingRecordInputGenerator()',
      f"train_eval_model.model_dir = '{model_dir}'",
      'train_eval_model.max_train_steps = 6',
      'train_eval_model.save_checkpoints_steps = 3',
      'train_eval_model.save_summary_steps = 3',
  ])
  ports = job_util.free_ports(2)
  cluster = {'worker': [f'127.0.0.1:{port}' for port in ports]}
  workers = [
      job_util.start_trainer(
          gin_file, tmp_path / f'worker_{i}.log',
          TF_CONFIG=json.dumps({'cluster': cluster,
                                'task': {'type': 'worker', 'index': i}}),
          TMPDIR=str(worker_dirs[i]))
      for i in range(2)
  ]
  for i, worker in enumerate(workers):
    assert _wait(worker, _TIMEOUT_SECS) == 0, (
        tmp_path / f'worker_{i}.log').read_text()

  # Each worker read only its own file (its marker, 6 steps of 4 examples).
  seen = [_logged_values(tmp_path / f'pipeline_{i}.txt') for i in range(2)]
  assert all(values.size >= 6 * 4 for values in seen)
  assert [set(values) for values in seen] in ([{0.0}, {1.0}], [{1.0}, {0.0}])
  # The chief alone wrote model_dir; the other worker's temp dir is gone.
  assert job_util.checkpoint_step(model_dir) == 6
  assert glob.glob(str(model_dir / 'train' / 'events.*'))
  assert os.listdir(worker_dirs[1]) == []
  assert tf.train.latest_checkpoint(str(model_dir)).endswith('ckpt-6')
