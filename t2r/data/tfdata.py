"""Tensor2Robot's `tfdata` helpers: the two halves of a record pipeline.

  parallel_read           files -> serialized records
  serialized_to_parsed    batches of serialized records -> (features, labels)
  create_compress_fn,     image pixels <-> JPEG/PNG strings inside a pipeline
  create_decompress_fn
  get_batch_size,         T2R's small input_fn helpers
  infer_data_format

`DefaultRecordInputGenerator` is built from the same pieces (file patterns,
the TFRecord reader that names corrupt files, the spec-derived parser) and
adds what a training job needs on top (file names in error messages,
skipping corrupt records, sharding, preprocessing). These functions are for
pipelines of your own, e.g. over a replay buffer:

  >>> records = parallel_read('tfrecord:/data/replay-*', seed=0)
  >>> batches = serialized_to_parsed(records.batch(32), feature_spec,
  ...                                label_spec)
"""

from typing import AbstractSet, Any, Callable, Dict, Mapping, Optional, Tuple

from absl import logging
import tensorflow as tf

from t2r import specs
from t2r.data import corrupt_record_log
from t2r.data import file_patterns as file_patterns_lib
from t2r.data import image_decoding
from t2r.data import parsing
from t2r.data import record_layout
from t2r.data import record_reading

# compress_fn / decompress_fn: (features[, labels]) -> the same, images
# encoded (or decoded).
ImageCodingFn = Callable[..., Any]
# The encoded-image specs of the features and of the labels, by path.
ImageSpecs = Tuple[Dict[str, Any], Dict[str, Any]]


def _check_optional_positive_int(function: str, name: str, value: Any):
  if value is not None and (isinstance(value, bool) or
                            not isinstance(value, int) or value <= 0):
    raise ValueError(
        f'{function}: {name} must be a positive int or None, got {value!r}.')


def get_batch_size(params: Optional[Mapping[str, Any]], batch_size: int) -> int:
  """Returns the batch size an input function should use.

  T2R's TPUEstimator convention: a `batch_size` in `params` (set by the
  caller, e.g. per host) wins over the input generator's own.

  Example:
    >>> get_batch_size({'batch_size': 8}, 32)
    8
    >>> get_batch_size(None, 32)
    32

  Args:
    params: Hyperparameters passed to the input function, or None.
    batch_size: The input generator's batch size.

  Returns:
    `params['batch_size']` if it is set, else `batch_size`.

  Raises:
    ValueError: If the batch size to use is not a positive int.
  """
  params_batch_size = params.get('batch_size') if params else None
  if params_batch_size is None:
    chosen, source = batch_size, 'batch_size'
  else:
    chosen, source = params_batch_size, "params['batch_size']"
  if isinstance(chosen, bool) or not isinstance(chosen, int) or chosen <= 0:
    raise ValueError(f'get_batch_size: {source} must be a positive int, got '
                     f'{chosen!r}.')
  if chosen != batch_size:
    logging.info(
        'The input function got batch_size %d through params and %r from the '
        'input generator; using %d from params.', chosen, batch_size, chosen)
  return chosen


def infer_data_format(file_patterns: str) -> str:
  """Returns the record format a file pattern string names.

  The format comes from the entries' prefixes ('tfrecord:/data/*'); entries
  without one are TFRecord files, the only format t2r reads. Nothing is
  read from the filesystem (see `get_data_format_and_filenames` for that).

  Example:
    >>> infer_data_format('tfrecord:/data/train-*,/more/*.tfrecord')
    'tfrecord'

  Args:
    file_patterns: Comma-separated globs, each optionally prefixed with a
      record format.

  Returns:
    The format, 'tfrecord'.

  Raises:
    TypeError: If `file_patterns` is not a string.
    ValueError: If it holds no pattern, a prefix names a format t2r cannot
      read (T2R's 'recordio:', 'sstable:'), or the entries mix formats.
  """
  if not isinstance(file_patterns, str):
    raise TypeError(
        'infer_data_format: file_patterns must be a comma-separated string of '
        f"globs such as 'tfrecord:/data/train-*', got {file_patterns!r} "
        f'({type(file_patterns).__name__}).')
  entries = [entry.strip() for entry in file_patterns.split(',')]
  prefixes = {
      # pylint: disable-next=protected-access
      file_patterns_lib._split_prefix(entry)[0] for entry in entries if entry
  }
  if not prefixes:
    raise ValueError(
        f'infer_data_format: file_patterns {file_patterns!r} holds no pattern; '
        "pass one or more comma-separated globs such as 'tfrecord:/data/*'.")
  formats = {prefix or file_patterns_lib.DEFAULT_DATA_FORMAT
             for prefix in prefixes}
  unknown = formats - set(file_patterns_lib.SUPPORTED_DATA_FORMATS)
  if unknown:
    raise ValueError(
        f'infer_data_format: {file_patterns!r} names the record format(s) '
        f'{sorted(unknown)}; t2r reads '
        f'{list(file_patterns_lib.SUPPORTED_DATA_FORMATS)} (no prefix means '
        "'tfrecord'). Convert the data to TFRecord files.")
  if len(formats) > 1:
    raise ValueError(
        f'infer_data_format: {file_patterns!r} mixes the record formats '
        f'{sorted(formats)}; use one pattern string per format.')
  return formats.pop()


def parallel_read(file_patterns: str,
                  num_shards: Optional[int] = None,
                  num_readers: Optional[int] = None,
                  num_epochs: Optional[int] = None,
                  shuffle: bool = True,
                  seed: Optional[int] = None,
                  compression_type: Optional[str] = None) -> tf.data.Dataset:
  """Reads the serialized records of many files, interleaved.

  The files are shuffled (against correlations between files), repeated and
  read `num_readers` at a time, one record from each in turn (against
  correlations within a file). A damaged or truncated file fails the
  iteration with an error naming it.

  Example:
    >>> records = parallel_read('tfrecord:/data/train-*', num_epochs=1)
    >>> parse_fn = create_parse_tf_example_fn(feature_spec, label_spec)
    >>> batches = records.batch(32).map(parse_fn)

  Args:
    file_patterns: Comma-separated globs, optionally 'tfrecord:'-prefixed.
    num_shards: Files in the file shuffle buffer; None: all of them.
    num_readers: Files read concurrently; None lets tf.data choose (about
      one per CPU core). T2R's default was one reader per file.
    num_epochs: Passes over the files; None repeats forever (as in T2R).
    shuffle: Shuffle the files (each epoch anew). False reads them in sorted
      order, and the record order is the same on every run.
    seed: Seed of the file shuffle; also keeps the interleave's order.
    compression_type: 'GZIP', 'ZLIB', '' (none) or None (detect GZIP from the
      first file).

  Returns:
    A dataset of scalar string tensors, the serialized records.

  Raises:
    ValueError: If a glob matches no file, a prefix names an unknown format,
      or a count is not a positive int.
  """
  for name, value in (('num_shards', num_shards), ('num_readers', num_readers),
                      ('num_epochs', num_epochs)):
    _check_optional_positive_int('parallel_read', name, value)
  _, filenames = file_patterns_lib.get_data_format_and_filenames(file_patterns)
  if compression_type is None:
    compression_type = file_patterns_lib.detect_compression_type(filenames[0])
  files = tf.data.Dataset.from_tensor_slices(
      (tf.constant(filenames, tf.string),
       tf.constant(record_reading.file_sizes(filenames, compression_type),
                   tf.int64)))
  if shuffle:
    files = files.shuffle(num_shards or len(filenames), seed=seed,
                          reshuffle_each_iteration=True)
  files = files.repeat(num_epochs)
  # Only consulted when skipping corrupt data, which parallel_read does not.
  log = corrupt_record_log.CorruptRecordLog()

  def read(filename, size):
    return record_reading.read_records_with_filenames(
        filename, size, compression_type, buffer_size=None,
        skip_corrupt=False, log=log)

  records = files.interleave(
      read,
      cycle_length=num_readers or tf.data.AUTOTUNE,
      block_length=1,
      num_parallel_calls=tf.data.AUTOTUNE,
      deterministic=not shuffle or seed is not None)
  return records.map(lambda record, filename: record)


def _has_optional_specs(feature_spec: Any, label_spec: Any) -> bool:
  return any(
      getattr(spec, 'is_optional', False)
      for _, flat in record_layout.flat_feature_and_label_specs(
          feature_spec, label_spec)
      for spec in flat.values())


def _optional_names_in_first_batch(dataset: tf.data.Dataset,
                                   feature_spec: Any,
                                   label_spec: Any) -> AbstractSet[str]:
  """The optional specs present in the first record of the first batch."""
  first = next(iter(dataset.take(1)), None)
  if first is None:
    return frozenset()
  streams = first if isinstance(first, Mapping) else {None: first}
  present = set()
  for key, strings in streams.items():
    if strings.shape.rank != 1 or not strings.shape[0]:
      continue  # The parse function reports a wrong rank itself.
    present |= parsing.optional_names_present_in_record(
        strings[0].numpy(), feature_spec, label_spec, dataset_key=key,
        source_description='the first record of the dataset')
  return frozenset(present)


def serialized_to_parsed(
    dataset: tf.data.Dataset,
    feature_spec: Any,
    label_spec: Any = None,
    num_parallel_calls: int = tf.data.AUTOTUNE,
    present_optional_names: Optional[AbstractSet[str]] = None
) -> tf.data.Dataset:
  """Parses batches of serialized records into spec-shaped tensors.

  The parser is `create_parse_tf_example_fn(feature_spec, label_spec)`:
  images are decoded, sequences padded, dtypes cast back, as the specs say.

  Example:
    >>> batches = serialized_to_parsed(
    ...     parallel_read('/data/train-*').batch(32), feature_spec,
    ...     label_spec)
    >>> features, labels = next(iter(batches))

  Args:
    dataset: Batches of serialized records: 1-D string tensors, or
      `{dataset_key: 1-D strings}` dicts when the specs use several dataset
      keys (e.g. zipped streams).
    feature_spec: The feature spec structure.
    label_spec: The label spec structure, or None.
    num_parallel_calls: Batches parsed concurrently.
    present_optional_names: The names of the optional specs the records
      hold (the others are left out of the parsed features). None: when the
      specs have optional specs, taken from the first record of `dataset`
      (read once, eagerly, before the map is traced).

  Returns:
    A dataset of `(features, labels)`, flat `specs.TensorSpecStruct`s keyed
    by spec path; of `features` alone when `label_spec` is None (as in T2R).

  Raises:
    ValueError: If the specs cannot be parsed from records (see
      `create_parse_tf_example_fn`), or the first record, when read for the
      optional specs, lacks a required feature.
  """
  if (present_optional_names is None and tf.executing_eagerly() and
      _has_optional_specs(feature_spec, label_spec)):
    present_optional_names = _optional_names_in_first_batch(
        dataset, feature_spec, label_spec)
  parse_fn = parsing.create_parse_tf_example_fn(
      feature_spec, label_spec, present_optional_names=present_optional_names)
  # Without a label spec the parse function returns the features alone.
  return dataset.map(parse_fn, num_parallel_calls=num_parallel_calls)


def _image_specs(feature_spec: Any, label_spec: Any) -> ImageSpecs:
  """The encoded-image specs of the features and of the labels, by path."""
  flat = dict(record_layout.flat_feature_and_label_specs(feature_spec,
                                                         label_spec))
  return tuple({
      path: spec
      for path, spec in flat.get(structure, {}).items()
      if specs.is_encoded_image_spec(spec)
  } for structure in (record_layout.FEATURES, record_layout.LABELS))


def _map_images(features: Any, labels: Any, image_specs: ImageSpecs,
                code: Callable[[tf.Tensor, str, Any], tf.Tensor]) -> list:
  """Applies `code(tensor, path, spec)` to the image tensors present.

  Returns:
    `[features, labels]` as flat `specs.TensorSpecStruct`s (None stays None).
  """
  results = []
  for values, specs_by_path in zip((features, labels), image_specs):
    if values is None:
      results.append(None)
      continue
    flat = specs.flatten_spec_structure(values)
    for path, spec in specs_by_path.items():
      if path in flat:
        flat[path] = code(flat[path], path, spec)
    results.append(flat)
  return results


def create_compress_fn(feature_spec: Any,
                       label_spec: Any = None,
                       quality: int = 95) -> ImageCodingFn:
  """Returns a function that JPEG/PNG-encodes the images of a batch.

  The inverse of the decoding in the parser: every tensor of a spec with
  `data_format` 'jpeg' or 'png' becomes a string tensor of one encoded image
  per (H, W, C) image, e.g. to keep a shuffle buffer or a replay of decoded
  batches small. `create_decompress_fn` turns them back into pixels.

  Example:
    >>> batches = serialized_to_parsed(records.batch(8), feature_spec,
    ...                                label_spec)
    >>> small = batches.map(create_compress_fn(feature_spec, label_spec))
    >>> pixels = small.map(create_decompress_fn(feature_spec, label_spec))

  Args:
    feature_spec: The feature spec structure.
    label_spec: The label spec structure, or None.
    quality: JPEG quality in [0, 100] (PNG is lossless).

  Returns:
    `compress_fn(features, labels=None)`: takes tensors laid out like the
    specs (with any leading batch / time dimensions) and returns them as
    flat `specs.TensorSpecStruct`s with the image tensors encoded; the
    features alone when called without labels.

  Raises:
    ValueError: If `quality` is out of range, or a JPEG spec has other than 1
      or 3 channels.
  """
  if (isinstance(quality, bool) or not isinstance(quality, int) or
      not 0 <= quality <= 100):
    raise ValueError(
        f'create_compress_fn: quality must be an int in [0, 100], got '
        f'{quality!r}.')
  image_specs = _image_specs(feature_spec, label_spec)
  for specs_by_path in image_specs:
    for path, spec in specs_by_path.items():
      if spec.data_format == 'jpeg' and spec.shape[-1] not in (1, 3):
        raise ValueError(
            f"create_compress_fn: spec {path!r} (name {spec.name!r}) stores "
            f'JPEG images of shape {tuple(spec.shape.as_list())}; JPEG holds '
            "1 or 3 channels. Use data_format='png' or change the spec.")

  def encode(images: tf.Tensor, path: str, spec: Any) -> tf.Tensor:
    del path
    image_shape = spec.shape[-3:]
    flat = tf.reshape(images, tf.concat([[-1], image_shape], 0))
    if spec.data_format == 'jpeg':
      encode_one = lambda image: tf.io.encode_jpeg(image, quality=quality)
    else:
      encode_one = tf.io.encode_png
    encoded = tf.map_fn(
        encode_one, flat, fn_output_signature=tf.string,
        parallel_iterations=image_decoding.PARALLEL_DECODES)
    result = tf.reshape(encoded, tf.shape(images)[:-3])
    result.set_shape(images.shape[:-3])
    return result

  def compress_fn(features, labels=None):
    features, labels = _map_images(features, labels, image_specs, encode)
    return features if labels is None else (features, labels)

  return compress_fn


def create_decompress_fn(feature_spec: Any,
                         label_spec: Any = None) -> ImageCodingFn:
  """Returns a function decoding what `create_compress_fn`'s function encoded.

  Decoded images are checked against their spec like parsed ones: an image
  of another size fails with a `tf.errors.InvalidArgumentError` naming the
  spec.

  Example:
    >>> pixels = compressed.map(create_decompress_fn(feature_spec,
    ...                                              label_spec))

  Args:
    feature_spec: The feature spec structure.
    label_spec: The label spec structure, or None.

  Returns:
    `decompress_fn(features, labels=None)`, the inverse of `compress_fn`:
    flat `specs.TensorSpecStruct`s with the images decoded to the specs'
    dtype and shape; the features alone when called without labels.
  """
  image_specs = _image_specs(feature_spec, label_spec)

  def decode(encoded: tf.Tensor, path: str, spec: Any) -> tf.Tensor:
    return image_decoding.decode_images(
        encoded, spec, f'{path!r} (name {spec.name!r})',
        may_be_empty=(spec.is_optional or spec.is_sequence or
                      spec.varlen_default_value is not None))

  def decompress_fn(features, labels=None):
    features, labels = _map_images(features, labels, image_specs, decode)
    return features if labels is None else (features, labels)

  return decompress_fn

