"""A gin-selectable tf.distribute strategy and the worker roles it implies.

Training code asks `create_strategy()` for the strategy a job runs under and
`is_chief(strategy)` / `worker_write_dir(model_dir, chief)` for where this
worker may write: the chief writes to model_dir, other workers write the same
files (saving a checkpoint under MultiWorkerMirroredStrategy is a collective
operation every worker must join) into a temporary directory that is removed.

Example (gin):
  create_strategy.name = 'multi_worker_mirrored'  # cluster from TF_CONFIG
"""

import contextlib
import tempfile
from typing import Iterator, Optional, Sequence

from absl import logging
import gin
import tensorflow as tf

STRATEGY_NAMES = ('default', 'one_device', 'mirrored', 'multi_worker_mirrored',
                  'tpu')


@gin.configurable
def create_strategy(name: str = 'default',
                    devices: Optional[Sequence[str]] = None,
                    tpu: Optional[str] = None) -> tf.distribute.Strategy:
  """Creates the tf.distribute strategy a job trains under.

  MultiWorkerMirroredStrategy and TPUStrategy configure the TensorFlow runtime,
  so create the strategy before any other TensorFlow operation of the process
  (the t2r-train command line does).

  Args:
    name: one of 'default' (no distribution), 'one_device' (`devices[0]`, or
      the first GPU, else the CPU), 'mirrored' (all local GPUs or `devices`),
      'multi_worker_mirrored' (the cluster in the TF_CONFIG environment
      variable) or 'tpu'.
    devices: device names for 'one_device' and 'mirrored'.
    tpu: the TPU name or address for 'tpu' ('' or None: the local TPU).

  Returns:
    The strategy.

  Raises:
    ValueError: for an unknown name, or when the runtime was initialized before
      a multi-worker strategy could configure it.

  Example:
    >>> create_strategy('mirrored', devices=['/cpu:0']).num_replicas_in_sync
    1
  """
  if name == 'default':
    return tf.distribute.get_strategy()
  if name == 'one_device':
    if devices:
      device = devices[0]
    else:
      device = '/gpu:0' if tf.config.list_logical_devices('GPU') else '/cpu:0'
    return tf.distribute.OneDeviceStrategy(device)
  if name == 'mirrored':
    return tf.distribute.MirroredStrategy(devices=devices)
  if name == 'multi_worker_mirrored':
    try:
      return tf.distribute.MultiWorkerMirroredStrategy()
    except RuntimeError as e:
      raise ValueError(
          f'Could not create MultiWorkerMirroredStrategy: {e}. Create the '
          'strategy before any TensorFlow operation runs (before building '
          'models or datasets), e.g. first thing in main().') from e
  if name == 'tpu':
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu or '')
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)
  raise ValueError(f'Unknown strategy name {name!r}; expected one of '
                   f'{list(STRATEGY_NAMES)} (gin: create_strategy.name).')


def is_chief(strategy: tf.distribute.Strategy) -> bool:
  """Whether this worker owns model_dir (writes checkpoints and summaries).

  Args:
    strategy: the job's strategy.

  Returns:
    True on the chief; see `is_chief_task`.
  """
  return is_chief_task(getattr(strategy, 'cluster_resolver', None))


def is_chief_task(
    cluster_resolver: Optional[tf.distribute.cluster_resolver.ClusterResolver]
) -> bool:
  """Whether the task of `cluster_resolver` is the chief of its cluster.

  The chief is the 'chief' task if the cluster has one, else worker 0. No
  resolver or no task type (a single-process job) means chief.

  Args:
    cluster_resolver: the strategy's cluster resolver, or None.

  Returns:
    True on the chief.
  """
  if cluster_resolver is None or not cluster_resolver.task_type:
    return True
  if cluster_resolver.task_type == 'chief':
    return True
  has_chief = 'chief' in cluster_resolver.cluster_spec().as_dict()
  return (not has_chief and cluster_resolver.task_type == 'worker' and
          not cluster_resolver.task_id)


@contextlib.contextmanager
def worker_write_dir(model_dir: str, chief: bool) -> Iterator[str]:
  """Yields the directory this worker writes model_dir's files to.

  The chief gets `model_dir` (created if needed); any other worker gets a
  fresh temporary directory that is removed on exit, so that collective saves
  still run on every worker while only the chief's files persist.

  Example:
    >>> with worker_write_dir('/tmp/model', is_chief(strategy)) as directory:
    ...   manager = tf.train.CheckpointManager(checkpoint, directory, 5)

  Args:
    model_dir: the job's model directory.
    chief: whether this worker is the chief (`is_chief(strategy)`).

  Yields:
    The directory to write to.
  """
  if chief:
    tf.io.gfile.makedirs(model_dir)
    yield model_dir
    return
  temp_dir = tempfile.mkdtemp(prefix='t2r_worker_')
  try:
    yield temp_dir
  finally:
    try:
      tf.io.gfile.rmtree(temp_dir)
    except tf.errors.OpError as e:
      logging.warning('Could not remove worker temp dir %s: %s', temp_dir, e)
