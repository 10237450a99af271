"""Runs a gin-configured flywheel (the `t2r-flywheel` command).

Without `--role` it is the launcher: it starts the trainer, the collectors
and the evaluator as processes of this same command (with `--role`), shows
one status line, and prints a summary table and writes a picture at the end
(`t2r.collect.flywheel`). Ctrl-C stops every process; running the command
again resumes them all.

Example:
  t2r-flywheel --gin_configs=research/pose_env/configs/flywheel.gin \\
      --gin_bindings="ROOT_DIR='/tmp/flywheel'"

Config errors exit with one line and a non-zero status, as for `t2r-train`.
"""

if __name__ == '__main__':
  # Before TensorFlow is imported: its C++ logs print at import.
  from t2r import quiet_logs  # pylint: disable=g-import-not-at-top
  quiet_logs.quiet_tensorflow_logs()

import signal
import sys
from typing import Sequence

from absl import app
from absl import flags

# Defines --gin_configs and --gin_bindings; registers the t2r configurables.
from t2r.bin import run_t2r_trainer
import t2r.collect  # pylint: disable=unused-import
from t2r.collect import flywheel
from t2r.collect import flywheel_roles
from t2r.train import strategies

ROLES = ('trainer', 'collector', 'evaluator')
_ROLE = flags.DEFINE_enum(
    'role', None, ROLES,
    'Run one process of the flywheel (the launcher starts them); unset: '
    'the launcher.')
_INDEX = flags.DEFINE_integer('index', 0, 'The collector number.')


def run_role(role: str, index: int):
  """Runs one flywheel process, configured by the parsed gin config."""
  with run_t2r_trainer.config_errors_in_one_line():
    if role == 'trainer':
      strategy = strategies.create_strategy()
      with strategy.scope():
        flywheel_roles.run_trainer(strategy=strategy)
    elif role == 'collector':
      flywheel_roles.run_collector(index=index)
    else:
      flywheel_roles.run_evaluator()


def main(argv: Sequence[str]):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}. Pass configs '
                         'with --gin_configs and --gin_bindings.')
  # Ctrl-C and SIGTERM stop the flywheel even when the shell started this
  # process with SIGINT ignored (a background job, nohup).
  signal.signal(signal.SIGINT, signal.default_int_handler)
  flywheel_roles.stop_on_sigterm()
  configs = run_t2r_trainer.GIN_CONFIGS.value
  bindings = run_t2r_trainer.GIN_BINDINGS.value
  who = f'flywheel {_ROLE.value}' if _ROLE.value else 't2r-flywheel'
  try:
    run_t2r_trainer.parse_gin_config(configs, bindings)
    if _ROLE.value:
      run_role(_ROLE.value, _INDEX.value)
    else:
      with run_t2r_trainer.config_errors_in_one_line():
        flywheel.run_flywheel(gin_configs=configs, gin_bindings=bindings)
  except run_t2r_trainer.ConfigError as e:
    sys.exit(f'{who}: {e}')
  except flywheel.FlywheelError as e:
    # gin appends 'In call to configurable ...' lines: keep the message.
    sys.exit(str(e).splitlines()[0])
  except KeyboardInterrupt:
    if _ROLE.value:
      sys.exit(130)
    sys.exit('t2r-flywheel: stopped every process (Ctrl-C); run the same '
             'command again to resume.')


def console_main():
  """The `t2r-flywheel` console script."""
  app.run(main)


if __name__ == '__main__':
  console_main()
