"""`MetaRecordInputGenerator`: meta batches from the base model's TFRecords.

The records are the ones the base model reads (its preprocessor's in specs);
a task is a file: every file holds the records of one task (one camera and
drift of pose_env, one sinusoid, ...), as Tensor2Robot's meta_tfdata
expected. A task sample is K + N records of one file (shuffled in TRAIN, the
first ones in EVAL and PREDICT): the first K are the condition set, the
other N the inference set. A batch holds `batch_size` task samples:

  files (shuffled in TRAIN, repeated) -> per file: records (shuffled) ->
  batch(K + N).take(1) -> interleave -> batch(tasks) -> parse the
  (tasks * (K + N)) records with the base specs -> reshape to (tasks, K + N,
  ...) -> split into condition/features, condition/labels,
  inference/features and meta_labels -> the MAML preprocessor (the base
  preprocessor per task) -> prefetch

In TRAIN each pass over the files draws one new task sample per file, so
`num_epochs=None` gives an endless stream of fresh condition/inference
splits.
"""

from typing import Any, Optional

import gin
import tensorflow as tf

from t2r import specs
from t2r.data import abstract_input_generator
from t2r.data import file_patterns as file_patterns_lib
from t2r.data import parsing
from t2r.data import record_input_generator
from t2r.meta_learning import meta_specs
from t2r.modes import ModeKeys



@gin.configurable
class MetaRecordInputGenerator(abstract_input_generator.AbstractInputGenerator):
  """Groups the records of each task file into condition and inference sets.

  Example:
    >>> generator = MetaRecordInputGenerator(
    ...     file_patterns='/data/tasks/task_*.tfrecord', batch_size=8, seed=0)
    >>> generator.set_specification_from_model(maml_model, 'train')
    >>> features, labels = next(iter(generator.create_dataset('train')))
    >>> features['condition/features/x'].shape     # (8, K, 1)

  Args:
    file_patterns: Comma-separated globs (optionally 'tfrecord:'-prefixed);
      every matched file holds the records of one task.
    batch_size: Tasks per batch (the meta batch size).
    shuffle_buffer_size: In TRAIN a task sample is K + N records drawn at
      random from the first `shuffle_buffer_size` records of its file (at
      least the records per task file, to draw from all of them).
    num_epochs: Passes over the task files; None repeats forever.
    seed: Seeds the file and record shuffles (TRAIN).
    compression_type: 'GZIP', 'ZLIB', '' or None (detect from the first
      file).

  Raises:
    ValueError: For invalid arguments; from `create_dataset`, for files
      that hold fewer records than a task sample needs.
  """

  def __init__(self,
               file_patterns: str,
               batch_size: int = 8,
               shuffle_buffer_size: int = 256,
               num_epochs: Optional[int] = None,
               seed: Optional[int] = None,
               compression_type: Optional[str] = None):
    super().__init__(batch_size=batch_size)
    if not file_patterns or not isinstance(file_patterns, str):
      raise ValueError(
          f'file_patterns must be a non-empty comma-separated glob string, got '
          f'{file_patterns!r}.')
    record_input_generator.check_reader_arguments(
        compression_type, shuffle_buffer_size=shuffle_buffer_size,
        num_epochs=num_epochs)
    self._file_patterns = file_patterns
    self._shuffle_buffer_size = shuffle_buffer_size
    self._num_epochs = num_epochs
    self._seed = seed
    self._compression_type = compression_type
    self._record_feature_spec = None
    self._record_label_spec = None
    self._num_samples = None

  def set_record_specifications(self, record_feature_spec: Any,
                                record_label_spec: Any,
                                num_condition_samples_per_task: int,
                                num_inference_samples_per_task: int):
    """Sets the record specs and K, N directly (without a model).

    The meta specs of the produced batches (`meta_specs`) are set too, with
    no preprocessing.

    Args:
      record_feature_spec: The base feature specs the records hold.
      record_label_spec: The base label specs the records hold.
      num_condition_samples_per_task: K.
      num_inference_samples_per_task: N.

    Raises:
      ValueError: If K or N is not a positive int.
    """
    k = meta_specs.check_num_samples(num_condition_samples_per_task,
                                     'num_condition_samples_per_task')
    n = meta_specs.check_num_samples(num_inference_samples_per_task,
                                     'num_inference_samples_per_task')
    if k is None or n is None:
      raise ValueError(
          'MetaRecordInputGenerator needs a fixed number of condition and '
          f'inference samples per task, got K={k!r}, N={n!r}.')
    self._record_feature_spec = specs.flatten_spec_structure(
        record_feature_spec)
    self._record_label_spec = specs.flatten_spec_structure(record_label_spec)
    self._num_samples = (k, n)
    feature_spec = meta_specs.create_maml_feature_spec(
        self._record_feature_spec, self._record_label_spec, k, n)
    label_spec = meta_specs.create_maml_label_spec(self._record_label_spec, n)
    self.set_feature_specifications(feature_spec, feature_spec)
    self.set_label_specifications(label_spec, label_spec)

  def set_specification_from_model(self, model: Any, mode: str):
    """Takes the meta specs, K and N from a `MAMLModel` for `mode`.

    The records are parsed with the base preprocessor's in specs; the meta
    model's `MAMLPreprocessor` then runs on the batches.

    Args:
      model: A `MAMLModel` (anything with `base_model`,
        `num_samples_per_task(mode)` and a meta `preprocessor`).
      mode: A `ModeKeys` value.

    Raises:
      TypeError: If `model` is not a meta model.
      ValueError: If the model's K or N is not fixed in `mode`.
    """
    base = getattr(model, 'base_model', None)
    if base is None or not callable(getattr(model, 'num_samples_per_task',
                                            None)):
      raise TypeError(
          f'MetaRecordInputGenerator reads task files for a meta model such '
          f'as MAMLModel; got {type(model).__name__}. Use '
          'DefaultRecordInputGenerator for a base model.')
    k, n = model.num_samples_per_task(mode)
    base_preprocessor = base.preprocessor
    self.set_record_specifications(
        base_preprocessor.get_in_feature_specification(mode),
        base_preprocessor.get_in_label_specification(mode), k, n)
    super().set_specification_from_model(model, mode)

  def _is_deterministic(self, mode: str) -> bool:
    return self._seed is not None or mode != ModeKeys.TRAIN

  def _create_dataset(self, mode, batch_size, input_context):
    if self._num_samples is None:
      raise ValueError(
          'MetaRecordInputGenerator has no record specs; call '
          'set_specification_from_model(maml_model, mode) or '
          'set_record_specifications(...) first.')
    k, n = self._num_samples
    per_task = k + n
    _, filenames = file_patterns_lib.get_data_format_and_filenames(
        self._file_patterns)
    compression = self._compression_type
    if compression is None:
      compression = file_patterns_lib.detect_compression_type(filenames[0])
    first = list(tf.data.TFRecordDataset(filenames[0], compression).take(
        per_task))
    if len(first) < per_task:
      raise ValueError(
          f'Task file {filenames[0]} holds {len(first)} records, but a task '
          f'sample needs K + N = {k} + {n} = {per_task}. Write more records '
          'per task file or lower num_condition_samples_per_task / '
          'num_inference_samples_per_task.')
    present = parsing.optional_names_present_in_record(
        first[0].numpy(), self._record_feature_spec, self._record_label_spec,
        source_description=filenames[0])
    parse_fn = parsing.create_parse_tf_example_fn(
        self._record_feature_spec, self._record_label_spec,
        present_optional_names=present,
        source_description=self._file_patterns)
    is_train = mode == ModeKeys.TRAIN
    files = tf.data.Dataset.from_tensor_slices(tf.constant(filenames))
    if input_context is not None and input_context.num_input_pipelines > 1:
      files = files.shard(input_context.num_input_pipelines,
                          input_context.input_pipeline_id)
    if is_train:
      files = files.shuffle(len(filenames), seed=self._seed,
                            reshuffle_each_iteration=True)
    files = files.repeat(self._num_epochs)
    # One shuffle seed per file visit: each visit draws a new task sample.
    files = tf.data.Dataset.zip(
        (files, tf.data.Dataset.random(seed=self._seed)))
    buffer_size = self._shuffle_buffer_size

    def task_sample(filename, visit_seed):
      records = tf.data.TFRecordDataset(filename, compression)
      if not is_train:
        return records.batch(per_task, drop_remainder=True).take(1)
      # Up to buffer_size records of the file, in a random order drawn from
      # the visit's seed (stateless: the same with or without a global seed).
      window = records.batch(max(buffer_size, per_task)).take(1)

      def draw(serialized):
        order = tf.random.experimental.stateless_shuffle(
            tf.range(tf.shape(serialized)[0]),
            seed=tf.stack([visit_seed, tf.constant(0, tf.int64)]))
        return tf.gather(serialized, order[:per_task])

      return window.map(draw).filter(
          lambda sample: tf.shape(sample)[0] >= per_task)

    tasks = files.interleave(
        task_sample, cycle_length=min(len(filenames), 8),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=self._is_deterministic(mode))
    drop_remainder = self._num_epochs is None
    batches = tasks.batch(batch_size, drop_remainder=drop_remainder)

    @tf.autograph.experimental.do_not_convert
    def to_meta_batch(serialized):
      features, labels = parse_fn(tf.reshape(serialized, [-1]))
      return _split_tasks(features, labels, k, per_task)

    return batches.map(to_meta_batch, num_parallel_calls=tf.data.AUTOTUNE,
                       deterministic=self._is_deterministic(mode))


def _split_tasks(features: specs.TensorSpecStruct,
                 labels: specs.TensorSpecStruct, k: int, per_task: int):
  """(tasks * (K + N), ...) records -> the meta (features, labels)."""

  def by_task(value):
    value = tf.convert_to_tensor(value)
    return tf.reshape(value, tf.concat([[-1, per_task], tf.shape(value)[1:]],
                                       axis=0))

  meta_features = specs.TensorSpecStruct()
  meta_labels = specs.TensorSpecStruct()
  for path, value in features.items():
    value = by_task(value)
    meta_features[f'{meta_specs.CONDITION_FEATURES}/{path}'] = value[:, :k]
    meta_features[f'{meta_specs.INFERENCE_FEATURES}/{path}'] = value[:, k:]
  for path, value in labels.items():
    value = by_task(value)
    meta_features[f'{meta_specs.CONDITION_LABELS}/{path}'] = value[:, :k]
    meta_labels[f'{meta_specs.META_LABELS}/{path}'] = value[:, k:]
  return meta_features, meta_labels
