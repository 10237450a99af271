"""The t2r-train command line: gin parsing and its error messages."""

import os
import subprocess
import sys

import gin
import pytest

from t2r.bin import run_t2r_trainer


@pytest.fixture(autouse=True)
def clear_gin():
  gin.clear_config()
  yield
  gin.clear_config()


def _write(path, text):
  path.write_text(text)
  return str(path)


@pytest.mark.parametrize('binding', [
    'train_eval_model.max_train_steps = 3',
    'create_strategy.name = "mirrored"',
    'DefaultRecordInputGenerator.batch_size = 4',
    'create_adam_optimizer.learning_rate = 0.5',
    'NoOpPreprocessor.is_model_device_tpu = False',
    'PeriodicExporter.num_versions = 2',
])
def test_t2r_configurables_are_registered_before_parsing(binding):
  run_t2r_trainer.parse_gin_config([], [binding])


def test_files_then_bindings_configure_train_eval_model(tmp_path):
  first = _write(tmp_path / 'a.gin', 'train_eval_model.max_train_steps = 5\n')
  second = _write(tmp_path / 'b.gin', 'train_eval_model.eval_steps = 7\n')
  run_t2r_trainer.parse_gin_config(
      [f'{first},{second}'], ['train_eval_model.max_train_steps = 9'])
  assert gin.query_parameter('train_eval_model.max_train_steps') == 9
  assert gin.query_parameter('train_eval_model.eval_steps') == 7


@pytest.mark.parametrize('config, bindings, expected', [
    ('train_eval_model.max_train_steps = 5\nnot_a_configurable.x = 1\n', [],
     r"config file .*bad\.gin: ValueError: No configurable matching "
     r"'not_a_configurable'\. \| In file \".*bad\.gin\", line 2"),
    ('train_eval_model.max_train_steps = (5\n', [],
     r'config file .*bad\.gin: TokenError'),
    ('', ['train_eval_model.no_such_parameter = 3'],
     r"binding 'train_eval_model.no_such_parameter = 3': ValueError: "
     r"Configurable 'train_eval_model' doesn't have a parameter named "
     r"'no_such_parameter'"),
    ('', ['train_eval_model.max_train_steps = '],
     r"binding 'train_eval_model.max_train_steps = ': SyntaxError: Unable "
     r'to parse value'),
])
def test_bad_config_gives_one_line_naming_the_source(tmp_path, config,
                                                     bindings, expected):
  path = _write(tmp_path / 'bad.gin', config)
  with pytest.raises(run_t2r_trainer.ConfigError, match=expected) as error:
    run_t2r_trainer.parse_gin_config([path], bindings)
  assert '\n' not in str(error.value)


def test_missing_config_file_is_a_config_error(tmp_path):
  with pytest.raises(run_t2r_trainer.ConfigError,
                     match='Gin config file not found: .*missing.gin'):
    run_t2r_trainer.parse_gin_config([str(tmp_path / 'missing.gin')], [])


def test_unbound_required_parameters_are_named():
  run_t2r_trainer.parse_gin_config([], ["train_eval_model.model_dir = '/m'"])
  with pytest.raises(run_t2r_trainer.ConfigError,
                     match='Missing required gin bindings: '
                     r'train_eval_model\.t2r_model\. Bind them'):
    run_t2r_trainer.check_required_bindings()


def test_command_exits_with_one_line_and_no_traceback(tmp_path):
  path = _write(tmp_path / 'bad.gin', 'not_a_configurable.x = 1\n')
  result = subprocess.run(
      [sys.executable, '-m', 't2r.bin.run_t2r_trainer',
       f'--gin_configs={path}'],
      capture_output=True, text=True, timeout=120, check=False)
  assert result.returncode != 0
  assert 'Traceback' not in result.stderr
  assert len(result.stderr.strip().splitlines()) == 1, result.stderr
  assert result.stderr.strip().startswith(
      f"t2r-train: Bad gin config in config file {path}: ValueError: No "
      "configurable matching 'not_a_configurable'.")
