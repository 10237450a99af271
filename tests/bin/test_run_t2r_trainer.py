"""The t2r-train command line: gin parsing and its error messages."""

import os
import subprocess
import sys

import gin
import pytest

from t2r.bin import run_t2r_trainer

# tests/train: the tiny model the subprocess configs import.
_TRAIN_TESTS = os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), 'train')


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


@pytest.fixture(scope='module')
def job_config(tmp_path_factory):
  """A valid job config: LinearModel trained on records it wrote."""
  sys.path.insert(0, _TRAIN_TESTS)
  try:
    import tiny_model  # pylint: disable=g-import-not-at-top
  finally:
    sys.path.remove(_TRAIN_TESTS)
  directory = tmp_path_factory.mktemp('job')
  tiny_model.write_linear_records(str(directory / 'data.tfrecord'), 8, 0.0)
  return _write(directory / 'job.gin', '\n'.join([
      'import tiny_model',
      f"DefaultRecordInputGenerator.file_patterns = '{directory}/*.tfrecord'",
      'DefaultRecordInputGenerator.batch_size = 4',
      'train_eval_model.t2r_model = @LinearModel',
      'train_eval_model.input_generator_train = '
      '@DefaultRecordInputGenerator()',
      f"train_eval_model.model_dir = '{directory}/model'",
      'train_eval_model.max_train_steps = 2',
      'train_eval_model.show_progress = False',
  ]) + '\n')


def _run_trainer(config, binding, *python_path):
  return subprocess.run(
      [sys.executable, '-m', 't2r.bin.run_t2r_trainer',
       f'--gin_configs={config}', f'--gin_bindings={binding}'],
      capture_output=True, text=True, timeout=300, check=False,
      env=dict(os.environ, CUDA_VISIBLE_DEVICES='',
               PYTHONPATH=os.pathsep.join((_TRAIN_TESTS,) + python_path)))


@pytest.mark.parametrize('binding, expected', [
    ("train_eval_model.max_train_steps = 'ten'",
     "Bad gin config in call to 'train_eval_model': ValueError: "
     "train_eval_model.max_train_steps must be a positive int, got 'ten'."),
    ('train_eval_model.max_train_steps = -5',
     'train_eval_model.max_train_steps must be a positive int, got -5.'),
    ('train_eval_model.save_checkpoints_steps = 2.5',
     'train_eval_model.save_checkpoints_steps must be a positive int, got '
     '2.5.'),
    ("DefaultRecordInputGenerator.batch_size = '32'",
     "Bad gin config in call to 'DefaultRecordInputGenerator' > "
     "'AbstractInputGenerator': ValueError: batch_size must be a positive "
     "int, got '32'."),
    ('train_eval_model.t2r_model = 5',
     'TypeError: train_eval_model.t2r_model must be a T2RModel subclass or '
     'instance (or a factory returning one), got 5.'),
    ("DefaultRecordInputGenerator.file_patterns = '/no/such/dir/*'",
     "ValueError: File pattern '/no/such/dir/*' (from '/no/such/dir/*') "
     'matches no file.'),
    ('train_eval_model.max_train_steps = %UNDEFINED_STEPS',
     'Bad gin config: Undefined gin macro %UNDEFINED_STEPS (used by '
     'train_eval_model.max_train_steps = %UNDEFINED_STEPS): define it, e.g. '
     '`UNDEFINED_STEPS = 10`, in a config file or with --gin_bindings.'),
])
def test_a_bad_value_exits_with_one_line(job_config, binding, expected):
  result = _run_trainer(job_config, binding)
  assert result.returncode != 0
  lines = result.stderr.strip().splitlines()
  assert len(lines) == 1, result.stderr
  assert lines[0].startswith('t2r-train: Bad gin config'), lines[0]
  assert expected in lines[0]


def test_an_error_from_model_code_keeps_its_traceback(job_config, tmp_path):
  _write(tmp_path / 'broken_model.py', '\n'.join([
      'import gin', 'import tiny_model', '', '',
      '@gin.configurable',
      'class BrokenModel(tiny_model.LinearModel):', '',
      '  def inference_network_fn(self, *args, **kwargs):',
      "    raise ValueError('a bug in the model')",
  ]) + '\n')
  result = _run_trainer(job_config, 'import broken_model\n'
                        'train_eval_model.t2r_model = @BrokenModel',
                        str(tmp_path))
  assert result.returncode != 0
  assert 'Traceback (most recent call last)' in result.stderr
  assert 'broken_model.py", line 9, in inference_network_fn' in result.stderr
  assert 't2r-train:' not in result.stderr
