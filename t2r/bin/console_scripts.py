"""The console scripts `t2r`, `t2r-train`, `t2r-flywheel`, `t2r-spec-demo`.

Each quiets TensorFlow's log chatter (`t2r.quiet_logs`; `--verbosity` brings
it back) and only then imports its job module, which imports TensorFlow.
"""

import sys

from t2r import quiet_logs


def t2r_train():
  """`t2r-train`: see `t2r.bin.run_t2r_trainer`."""
  quiet_logs.quiet_tensorflow_logs()
  from t2r.bin import run_t2r_trainer  # pylint: disable=g-import-not-at-top
  run_t2r_trainer.console_main()


def t2r_spec_demo():
  """`t2r-spec-demo`: see `t2r.bin.spec_demo`."""
  quiet_logs.quiet_tensorflow_logs()
  from t2r.bin import spec_demo  # pylint: disable=g-import-not-at-top
  spec_demo.console_main()


def t2r_flywheel():
  """`t2r-flywheel`: see `t2r.bin.run_flywheel`."""
  quiet_logs.quiet_tensorflow_logs()
  from t2r.bin import run_flywheel  # pylint: disable=g-import-not-at-top
  run_flywheel.console_main()


def t2r_main():
  """`t2r inspect ...` and `t2r lineage ...`: see `t2r.bin.data_tools`."""
  quiet_logs.quiet_tensorflow_logs()
  from t2r.bin import data_tools  # pylint: disable=g-import-not-at-top
  sys.exit(data_tools.main(sys.argv[1:]))
