"""Input pipelines on other machines' CPUs, through tf.data service.

An input-bound trainer (JPEG decoding, crops, photometric distortions) can
move that work to worker processes: a dispatcher hands out the dataset
graph, workers (any number, on any machines that reach the dispatcher and
the files) run it, and the trainer only receives finished batches.
`DataServiceInputGenerator` wraps any t2r input generator: the specs, the
parsing and the preprocessing are the wrapped generator's, built on the
trainer as usual, then run by the workers.

  # Once per cluster (or let the trainer machine host it):
  python -m t2r.bin.run_data_service --dispatcher --port=5050
  # On every machine that lends CPUs:
  python -m t2r.bin.run_data_service --worker --dispatcher_address=trainer:5050

  # The trainer's gin config:
  train_eval_model.input_generator_train = @DataServiceInputGenerator()
  DataServiceInputGenerator.input_generator = @DefaultRecordInputGenerator()
  DataServiceInputGenerator.service = 'grpc://trainer:5050'

The pipeline must be serializable TensorFlow (t2r's are: no Python runs per
record). In 'distributed_epoch' mode (the default) the workers split the
input files between them, so each record is read once per epoch; in
'parallel_epochs' mode every worker runs the whole pipeline (seed the
generator differently per job, or workers produce the same order).
"""

from typing import Any, Optional

import gin
import tensorflow as tf

from t2r.data import abstract_input_generator

PROCESSING_MODES = ('distributed_epoch', 'parallel_epochs')


def _check_address(name: str, address: Any) -> str:
  if not isinstance(address, str) or not address.strip():
    raise ValueError(f'{name} must be a "host:port" (or "grpc://host:port") '
                     f'string, got {address!r}.')
  return address


@gin.configurable
class DataServiceInputGenerator(abstract_input_generator.AbstractInputGenerator):
  """Runs another input generator's pipeline on tf.data service workers.

  Example:
    >>> generator = DataServiceInputGenerator(
    ...     DefaultRecordInputGenerator(file_patterns='/data/train-*',
    ...                                 batch_size=64),
    ...     service='grpc://localhost:5050')
    >>> generator.set_specification_from_model(model, ModeKeys.TRAIN)
    >>> dataset = generator.create_dataset(ModeKeys.TRAIN)  # batches

  Args:
    input_generator: The generator whose pipeline the workers run (its
      specs, batch size and seed are the ones used).
    service: The dispatcher, 'grpc://host:port' or 'host:port'.
    processing_mode: 'distributed_epoch' (workers split the files) or
      'parallel_epochs' (every worker runs the whole pipeline).
    job_name: Trainers that share a job name share its elements (e.g. the
      replicas of one job); None: a job of its own.
    max_outstanding_requests: Caps the batches in flight per trainer (its
      memory); None: tf.data's default.

  Raises:
    ValueError: For an unknown processing mode or a malformed address.
    TypeError: If `input_generator` is not an input generator.
  """

  def __init__(self,
               input_generator: abstract_input_generator.AbstractInputGenerator
               = gin.REQUIRED,
               service: str = gin.REQUIRED,
               processing_mode: str = 'distributed_epoch',
               job_name: Optional[str] = None,
               max_outstanding_requests: Optional[int] = None):
    if not isinstance(input_generator,
                      abstract_input_generator.AbstractInputGenerator):
      raise TypeError(
          'DataServiceInputGenerator wraps a t2r input generator (e.g. '
          f'@DefaultRecordInputGenerator()), got {input_generator!r}.')
    if processing_mode not in PROCESSING_MODES:
      raise ValueError(
          f'DataServiceInputGenerator processing_mode must be one of '
          f'{list(PROCESSING_MODES)}, got {processing_mode!r}.')
    super().__init__(batch_size=input_generator.batch_size)
    self._inner = input_generator
    service = _check_address('DataServiceInputGenerator service', service)
    self._service = service if '://' in service else f'grpc://{service}'
    self._processing_mode = processing_mode
    self._job_name = job_name
    self._max_outstanding_requests = max_outstanding_requests

  @property
  def input_generator(self) -> abstract_input_generator.AbstractInputGenerator:
    return self._inner

  @property
  def seed(self) -> Optional[int]:
    return self._inner.seed

  def set_default_seed(self, seed: int):
    self._inner.set_default_seed(seed)

  @property
  def feature_spec(self) -> Any:
    return self._inner.feature_spec

  @property
  def label_spec(self) -> Any:
    return self._inner.label_spec

  def set_feature_specifications(self, feature_spec, out_feature_spec=None):
    self._inner.set_feature_specifications(feature_spec, out_feature_spec)

  def set_label_specifications(self, label_spec, out_label_spec=None):
    self._inner.set_label_specifications(label_spec, out_label_spec)

  def set_preprocess_fn(self, preprocess_fn):
    self._inner.set_preprocess_fn(preprocess_fn)

  def set_specification_from_model(self, model: Any, mode: str):
    self._inner.set_specification_from_model(model, mode)

  def create_dataset(self, mode, params=None, input_context=None):
    """The wrapped generator's dataset, its elements made by the workers.

    Args and Returns: as `AbstractInputGenerator.create_dataset`.
    """
    dataset = self._inner.create_dataset(mode, params, input_context)
    return dataset.apply(tf.data.experimental.service.distribute(
        processing_mode=self._processing_mode, service=self._service,
        job_name=self._job_name,
        max_outstanding_requests=self._max_outstanding_requests))

  def _create_dataset(self, mode, batch_size, input_context):
    raise NotImplementedError('create_dataset delegates to the wrapped '
                              'input generator.')


def start_dispatcher(port: int = 0,
                     work_dir: Optional[str] = None
                    ) -> tf.data.experimental.service.DispatchServer:
  """Starts a dispatcher in this process; `.target` is its address.

  Args:
    port: The port (0: any free one).
    work_dir: A directory (any `tf.io.gfile` path) where the dispatcher
      keeps its journal, so a restarted dispatcher resumes its jobs; None:
      in memory.

  Returns:
    The running `DispatchServer` (it stops when garbage collected).
  """
  config = tf.data.experimental.service.DispatcherConfig(
      port=port, work_dir=work_dir, fault_tolerant_mode=work_dir is not None)
  return tf.data.experimental.service.DispatchServer(config)


def start_worker(dispatcher_address: str, port: int = 0,
                 worker_address: Optional[str] = None
                ) -> tf.data.experimental.service.WorkerServer:
  """Starts a worker in this process that serves `dispatcher_address`.

  Args:
    dispatcher_address: 'host:port' (or 'grpc://host:port') of the
      dispatcher.
    port: The worker's port (0: any free one).
    worker_address: How the trainer reaches this worker ('host:%port%');
      None: 'localhost:%port%', for workers on the trainer's machine.

  Returns:
    The running `WorkerServer`.

  Raises:
    ValueError: For a malformed dispatcher address.
  """
  address = _check_address('dispatcher_address', dispatcher_address)
  address = address.split('://', 1)[-1]
  config = tf.data.experimental.service.WorkerConfig(
      dispatcher_address=address, port=port,
      worker_address=worker_address)
  return tf.data.experimental.service.WorkerServer(config)
