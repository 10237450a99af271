"""Runs a gin-configured `train_eval_model` job (the `t2r-train` command).

Example:
  t2r-train --gin_configs=research/pose_env/configs/train_regression.gin \\
      --gin_bindings="train_eval_model.model_dir='/tmp/pose'" \\
      --gin_bindings='train_eval_model.max_train_steps=2000'

Configs may `import` the modules that define their models (e.g.
`import research.pose_env.pose_env_models`); the t2r and preprocessors
configurables are registered before parsing. A config error exits with
one line and a non-zero status: an unknown configurable or parameter, bad
syntax, a missing file or an undefined macro names the file (or binding) and
line; a bad value (`max_train_steps = 'ten'`, a file pattern that matches
nothing) that a configurable rejects with a ValueError or TypeError names
the configurable, the value and what it expects. Errors raised inside
tf-keras (training or evaluation steps) and other exception types keep their
traceback.
"""

if __name__ == '__main__':
  # Before TensorFlow is imported: its C++ logs print at import.
  from t2r import quiet_logs  # pylint: disable=g-import-not-at-top
  quiet_logs.quiet_tensorflow_logs()

import contextlib
import inspect
import re
import sys
import traceback
from typing import Optional, Sequence

from absl import app
from absl import flags
import gin
import tensorflow as tf

# Imported for their gin registrations (input generators, models, layers,
# optimizers, preprocessors, export generators and hooks).
import preprocessors  # pylint: disable=unused-import
import t2r.data  # pylint: disable=unused-import
import t2r.export  # pylint: disable=unused-import
import t2r.layers  # pylint: disable=unused-import
import t2r.models  # pylint: disable=unused-import
from t2r.train import strategies
from t2r.train import train_eval

GIN_CONFIGS = flags.DEFINE_multi_string(
    'gin_configs', [],
    'Gin config files; comma-separated and/or repeated, applied in order.')
GIN_BINDINGS = flags.DEFINE_multi_string(
    'gin_bindings', [],
    'Gin bindings applied after the files, e.g. '
    '"train_eval_model.max_train_steps=100"; repeat the flag for more.')


# gin appends this line to an error for every configurable call it passes.
_GIN_CALL = re.compile(r"\n\s*In call to configurable '([^']+)'.*")
_KERAS_FILE = re.compile(r'[\\/](tf_keras|keras)[\\/]')
_UNDEFINED_MACRO = re.compile(r"No bindings specified for '(.+)/gin\.macro'")


class ConfigError(Exception):
  """A gin config that cannot be parsed or run; the message is one line."""


def parse_gin_config(config_files: Sequence[str], bindings: Sequence[str]):
  """Parses gin config files, then bindings, and locks the config.

  Args:
    config_files: Paths; entries may hold several comma-separated paths.
    bindings: Binding strings, each possibly several lines.

  Raises:
    ConfigError: With one line saying which file or binding failed and why.
  """
  paths = [path for entry in config_files for path in entry.split(',') if path]
  missing = [path for path in paths if not tf.io.gfile.exists(path)]
  if missing:
    # Checked here: gin would log its own error line before raising.
    raise ConfigError(f'Gin config file not found: {", ".join(missing)}. '
                      'Check the --gin_configs paths.')
  sources = [(f'config file {path}', gin.parse_config_file, path)
             for path in paths]
  sources += [(f'binding {binding!r}', gin.parse_config, binding)
              for binding in bindings]
  for source, parse, value in sources:
    try:
      parse(value)
    # gin raises ValueError, SyntaxError, tokenize.TokenError, OSError and
    # whatever an `import` in a config raises.
    except Exception as e:  # pylint: disable=broad-except
      raise ConfigError(f'Bad gin config in {source}: {_one_line(e)}') from e
  try:
    gin.finalize()
  except ValueError as e:  # An undefined or unevaluated macro.
    raise ConfigError(f'Bad gin config: {_finalize_message(e)}') from e


def _finalize_message(error: ValueError) -> str:
  """gin.finalize's error without the whole config it appends."""
  message = str(error).split(' in config string:')[0]
  match = _UNDEFINED_MACRO.fullmatch(message)
  if not match:
    return _one_line(error, message)
  name = match.group(1)
  uses = [
      line.strip() for line in gin.config_str().splitlines()
      if re.search(f'%{re.escape(name)}(?![\\w.])', line)
  ]
  return (f'Undefined gin macro %{name} (used by {"; ".join(uses)}): define '
          f'it, e.g. `{name} = 10`, in a config file or with --gin_bindings.')


def check_required_bindings():
  """Raises ConfigError if a required train_eval_model parameter is unbound.

  gin itself would only report it from inside the job, with a traceback.
  """
  missing = []
  parameters = inspect.signature(train_eval.train_eval_model).parameters
  for name, parameter in parameters.items():
    if parameter.default is gin.REQUIRED:
      try:
        gin.query_parameter(f'train_eval_model.{name}')
      except ValueError:
        missing.append(f'train_eval_model.{name}')
  if missing:
    raise ConfigError(
        f'Missing required gin bindings: {", ".join(missing)}. Bind them in '
        'a --gin_configs file or with --gin_bindings.')


def _one_line(error: Exception, text: Optional[str] = None) -> str:
  """The error as one line, with the file and line where gin gives them.

  Args:
    error: The exception.
    text: Its message, if not `str(error)`.

  Returns:
    'ErrorType: message', the message's lines joined by ' | '.
  """
  text = str(error) if text is None else text
  message = ' | '.join(
      line.strip() for line in text.splitlines() if line.strip())
  if isinstance(error, SyntaxError) and error.filename:
    message += f' (file {error.filename}, line {error.lineno})'
  return f'{type(error).__name__}: {message}'


def run(config_files: Sequence[str], bindings: Sequence[str]):
  """Parses the config and runs `train_eval_model` under its strategy.

  The strategy is created before anything else touches TensorFlow (a
  multi-worker strategy must be) and the job runs in its scope, so models
  that gin creates as instances (`@MyModel()`) get distributed variables.

  Args:
    config_files: Gin config files.
    bindings: Gin bindings.

  Raises:
    ConfigError: If the config cannot be parsed, or a configurable rejects
      a value with a ValueError or TypeError outside tf-keras' steps.
  """
  parse_gin_config(config_files, bindings)
  check_required_bindings()
  with config_errors_in_one_line():
    strategy = strategies.create_strategy()
    with strategy.scope():
      train_eval.train_eval_model(strategy=strategy)


@contextlib.contextmanager
def config_errors_in_one_line():
  """Re-raises a configurable's rejection of a gin value as a ConfigError.

  Other errors pass unchanged (see `rejected_value_error`).
  """
  try:
    yield
  except (ValueError, TypeError) as e:
    config_error = rejected_value_error(e)
    if config_error is None:
      raise
    raise config_error from e


def rejected_value_error(error: Exception) -> Optional[ConfigError]:
  """A one-line ConfigError if a configurable rejected a configured value.

  That is an error gin passed on from a configurable call (it appends 'In
  call to configurable ...') that was raised neither inside tf-keras nor in
  code that `tf.function` traced (autograph marks those errors): there it
  comes from the model or the data, and its traceback is what tells where.

  Args:
    error: A ValueError or TypeError raised while running the job.

  Returns:
    The ConfigError to raise instead, or None to keep the traceback.
  """
  calls = _GIN_CALL.findall(str(error))
  frames = list(traceback.walk_tb(error.__traceback__))
  if (not calls or hasattr(error, 'ag_error_metadata') or any(
      _KERAS_FILE.search(frame.f_code.co_filename) for frame, _ in frames)):
    return None
  message = _GIN_CALL.split(str(error), maxsplit=1)[0]
  # gin names the innermost call first; the outermost is the one bound.
  configurables = ' > '.join(f"'{name}'" for name in reversed(calls))
  raising_frame, line = frames[-1]
  raised_at = f'{raising_frame.f_code.co_filename}:{line}'
  return ConfigError(
      f'Bad gin config in call to {configurables}: '
      f'{_one_line(error, message)} (raised at {raised_at})')


def main(argv: Sequence[str]):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}. Pass configs '
                         'with --gin_configs and --gin_bindings.')
  try:
    run(GIN_CONFIGS.value, GIN_BINDINGS.value)
  except ConfigError as e:
    sys.exit(f't2r-train: {e}')


def console_main():
  """The `t2r-train` console script."""
  app.run(main)


if __name__ == '__main__':
  console_main()
