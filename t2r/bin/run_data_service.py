"""Runs a tf.data service dispatcher or worker (see `t2r.data.data_service`).

Example:
  python -m t2r.bin.run_data_service --dispatcher --port=5050
  python -m t2r.bin.run_data_service --worker \\
      --dispatcher_address=trainer-host:5050 --worker_host=$(hostname)

The process serves until it is stopped (Ctrl-C or SIGTERM). A worker needs
the training data's filesystem (local, GCS, S3 through `tf.io.gfile`) and
the same t2r version as the trainer; it needs no model code.
"""

if __name__ == '__main__':
  from t2r import quiet_logs  # pylint: disable=g-import-not-at-top
  quiet_logs.quiet_tensorflow_logs()

import signal
import sys
import threading
from typing import Sequence

from absl import app
from absl import flags

from t2r.data import data_service

_DISPATCHER = flags.DEFINE_bool('dispatcher', False, 'Run a dispatcher.')
_WORKER = flags.DEFINE_bool('worker', False, 'Run a worker.')
_PORT = flags.DEFINE_integer('port', 0, 'The port to serve on (0: any).')
_DISPATCHER_ADDRESS = flags.DEFINE_string(
    'dispatcher_address', None, "A worker's dispatcher, 'host:port'.")
_WORKER_HOST = flags.DEFINE_string(
    'worker_host', 'localhost',
    'How trainers reach this worker (its host name or IP).')
_WORK_DIR = flags.DEFINE_string(
    'work_dir', None, "The dispatcher's journal directory (fault tolerance).")


def main(argv: Sequence[str]):
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}.')
  if _DISPATCHER.value == _WORKER.value:
    sys.exit('run_data_service: pass exactly one of --dispatcher and '
             '--worker.')
  if _DISPATCHER.value:
    server = data_service.start_dispatcher(_PORT.value, _WORK_DIR.value)
    print(f'tf.data service dispatcher at {server.target}', flush=True)
  else:
    if not _DISPATCHER_ADDRESS.value:
      sys.exit('run_data_service: a worker needs --dispatcher_address '
               '(host:port of the dispatcher).')
    server = data_service.start_worker(
        _DISPATCHER_ADDRESS.value, _PORT.value,
        worker_address=f'{_WORKER_HOST.value}:%port%')
    print(f'tf.data service worker for {_DISPATCHER_ADDRESS.value}',
          flush=True)
  stop = threading.Event()
  signal.signal(signal.SIGTERM, lambda *_: stop.set())
  try:
    stop.wait()
  except KeyboardInterrupt:
    pass
  del server


if __name__ == '__main__':
  app.run(main)
