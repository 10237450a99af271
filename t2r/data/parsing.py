"""Parses batches of serialized records into spec-keyed (features, labels).

The parser is derived from the specs (`t2r.data.record_layout` says which
stream and record type holds each spec). The input pipeline batches
serialized strings first and maps the parse function over the batches, so a
batch costs one parse op per record stream plus one image-decoding `map_fn`
per image feature.

Optional features: a traced tf.data map cannot change its output structure
from batch to batch, so which optional features the records hold is decided
up front, from `present_optional_names` (the input generator reads the first
record of its files with `optional_names_present_in_record`). Called eagerly
without it, the parse function looks at the batch it is given. An optional
feature that is declared present but missing from some records parses as
zeros (empty images decode to zeros).

Records cannot crash the process: a traced parse validates the wire format
of records that hold strings or images first (`record_guard`), and values
that do not fit the spec's dtype (300 for uint8, 2**40 for int32, 1e6 for
float16) are errors naming the feature, the value and the range, never
wrapped values.
"""

from typing import (AbstractSet, Any, Callable, Dict, FrozenSet, Mapping,
                    Optional, Tuple, Union)

from google.protobuf import message as protobuf_message
import tensorflow as tf

from t2r import specs
from t2r.data import decode_hints
from t2r.data import image_decoding
from t2r.data import record_guard
from t2r.data import record_layout
from t2r.specs import feature_dict

# parse_fn(serialized) -> features, or (features, labels) with a label spec.
ParseFn = Callable[[Any], Union[specs.TensorSpecStruct,
                                Tuple[specs.TensorSpecStruct,
                                      specs.TensorSpecStruct]]]

# The finite values a float dtype narrower than the records' float32 holds.
_FLOAT_RANGES = {tf.float16: (-65504.0, 65504.0)}
# Record int64 values that integer dtypes cannot hold wrap. (uint64 is
# stored as its int64 bit pattern; bool takes any value as nonzero.)
_UNCHECKED_INTEGERS = (tf.bool, tf.int64, tf.uint64)
# How TensorFlow's parser reports a record it cannot read (then quoting it).
_UNPARSABLE = 'Could not parse example input'


def _record_names(record: bytes, is_sequence_example: bool,
                  where: str) -> Tuple[AbstractSet[str], AbstractSet[str]]:
  """Returns the (context or plain, sequence) feature names of one record."""
  proto_type = (
      tf.train.SequenceExample if is_sequence_example else tf.train.Example)
  try:
    proto = proto_type.FromString(record)
  except protobuf_message.DecodeError as e:
    raise ValueError(f'{where} is not a serialized {proto_type.__name__} '
                     f'({len(record)} bytes): {e}. Check the file pattern and '
                     'the specs (is_sequence decides the record type).') from e
  if is_sequence_example:
    return (proto.context.feature.keys(),
            proto.feature_lists.feature_list.keys())
  return proto.features.feature.keys(), frozenset()


def _present_names(records: Any, layout: record_layout.StreamLayout,
                   source_description: Optional[str]) -> FrozenSet[str]:
  """Checks records with the proto API; returns the optional names present.

  Raises:
    ValueError: If a record lacks a required feature, or is not a record of
      the expected type.
  """
  source = f' of {source_description}' if source_description else ''
  stream = (f' (dataset_key {layout.dataset_key!r})'
            if layout.dataset_key else '')
  present = set()
  for index, record in enumerate(records):
    where = f'Record {index}{source}{stream}'
    context_names, sequence_names = _record_names(
        record, layout.is_sequence_example, where)
    for name, spec in layout.specs_by_name.items():
      if name in (sequence_names if spec.is_sequence else context_names):
        if spec.is_optional:
          present.add(name)
      elif not spec.is_optional:
        kind = 'feature list' if spec.is_sequence else 'feature'
        has = f'It has {sorted(context_names)}'
        if sequence_names:
          has += f' and feature lists {sorted(sequence_names)}'
        raise ValueError(
            f'{where} has no {kind} {name!r}, which the required spec '
            f'{layout.describe(name)} reads. {has}. Write the feature, fix '
            'the spec name, or declare the spec is_optional=True.')
  return frozenset(present)


def optional_names_present_in_record(
    serialized_record: bytes,
    feature_spec: Any,
    label_spec: Any = None,
    dataset_key: Optional[str] = None,
    source_description: Optional[str] = None) -> FrozenSet[str]:
  """Returns the names of the optional specs that one record holds.

  The input generator calls this on the first record of its files and passes
  the result to `create_parse_tf_example_fn(present_optional_names=...)`.

  Example:
    >>> first = next(iter(tf.data.TFRecordDataset(files[:1]))).numpy()
    >>> present = optional_names_present_in_record(
    ...     first, feature_spec, label_spec, source_description=files[0])

  Args:
    serialized_record: One serialized `tf.train.Example` (or
      `SequenceExample` when a spec of the stream `is_sequence`).
    feature_spec: The feature spec structure.
    label_spec: The label spec structure, or None.
    dataset_key: The stream the record belongs to; may be omitted when the
      specs use a single dataset key.
    source_description: Where the record came from (e.g. the file name), for
      error messages.

  Returns:
    The names (`spec.name`, or the path when unnamed) of the optional specs
    of that stream present in the record.

  Raises:
    ValueError: If the record lacks a required feature (the message names
      the spec path, the name looked up and the source), is not a record of
      the expected type, or `dataset_key` is ambiguous or unknown.
  """
  layouts = record_layout.stream_layouts(
      record_layout.flat_feature_and_label_specs(feature_spec, label_spec))
  key = record_layout.single_dataset_key(layouts, dataset_key,
                                         'optional_names_present_in_record')
  return _present_names([serialized_record], layouts[key], source_description)


def _io_feature(spec: Any) -> Any:
  """The `tf.io` parse feature of a spec, with defaults for optional specs."""
  if spec.varlen_default_value is not None and spec.is_sequence:
    # A ragged (batch, time, list) result keeps each example's time length.
    return tf.io.RaggedFeature(specs.record_dtype(spec))
  feature = feature_dict.feature_for_spec(spec)
  if isinstance(feature, tf.io.FixedLenFeature) and spec.is_optional:
    # Records that lack an optional feature the batch has get zeros ('' for
    # images, which decode to zeros).
    feature = feature._replace(
        default_value=tf.zeros(feature.shape, feature.dtype))
  return feature


def _densify_varlen(tensor: Any, spec: Any) -> tf.Tensor:
  """Pads or clips a sparse/ragged list feature to the spec's list length."""
  dtype = specs.record_dtype(spec)
  fill = '' if dtype == tf.string else tf.cast(spec.varlen_default_value,
                                                dtype)
  if isinstance(tensor, tf.SparseTensor):
    return specs.pad_or_clip_tensor_to_spec_shape(
        tf.sparse.to_dense(tensor, default_value=fill), spec)
  # Ragged (batch, time, list) of a sequence spec: pad every timestep.
  dense = tensor.to_tensor(default_value=fill)
  batch_time = tf.shape(dense)[:2]
  steps = tf.reshape(dense, tf.concat([[-1], tf.shape(dense)[2:]], 0))
  padded = specs.pad_or_clip_tensor_to_spec_shape(steps, spec)
  result = tf.reshape(padded, tf.concat([batch_time, tf.shape(padded)[1:]],
                                        0))
  result.set_shape(dense.shape[:2].concatenate(padded.shape[1:]))
  return result


def value_range(dtype: tf.DType) -> Optional[Tuple[float, float]]:
  """The values of a record dtype that `dtype` holds; None: all of them."""
  if dtype.is_integer and dtype not in _UNCHECKED_INTEGERS:
    return dtype.min, dtype.max
  return _FLOAT_RANGES.get(dtype)


def _check_range(tensor: tf.Tensor, spec: Any, label: str) -> tf.Tensor:
  """Fails unless every record value fits the spec's dtype; then casts.

  A cast would wrap integers (300 becomes 44 in uint8) and overflow floats
  (1e6 becomes inf in float16) silently; non-finite floats are kept.
  """
  bounds = value_range(spec.dtype)
  if bounds is None:
    return tf.cast(tensor, spec.dtype)
  low, high = bounds
  shape = tf.shape(tensor)
  values = tf.reshape(tensor, [shape[0], tf.reduce_prod(shape[1:])])
  finite = values if values.dtype.is_integer else tf.where(
      tf.math.is_finite(values), values, tf.zeros_like(values))
  outside = tf.logical_or(finite < tf.cast(low, values.dtype),
                          finite > tf.cast(high, values.dtype))
  fits = tf.logical_not(tf.reduce_any(outside))

  def message():
    record = tf.argmax(tf.reduce_any(outside, axis=1), output_type=tf.int64)
    value = tf.boolean_mask(values[record], outside[record])[0]
    effect = 'wrap' if spec.dtype.is_integer else 'become inf'
    return tf.strings.join([
        f'Feature {label.replace(chr(39), "`")} expects {spec.dtype.name} '
        f'values in [{low:.15g}, {high:.15g}], but record ',
        tf.strings.as_string(record), ' of the batch holds ',
        tf.strings.as_string(value, shortest=True)
        if values.dtype.is_floating else tf.strings.as_string(value),
        f', which would {effect}. Fix the data, or declare a wider dtype in '
        'the spec.'
    ])

  check = record_guard.require(fits, message)
  with tf.control_dependencies([check] if check is not None else []):
    return tf.cast(tensor, spec.dtype)


def _to_spec_tensor(tensor: Any, spec: Any, label: str,
                    plan: Optional[decode_hints.DecodePlan]) -> tf.Tensor:
  """Turns one parsed record tensor into the tensor the spec declares.

  Images are decoded by `plan` (None: in full).
  """
  is_varlen = spec.varlen_default_value is not None
  if is_varlen:
    tensor = _densify_varlen(tensor, spec)
  if specs.is_encoded_image_spec(spec):
    return image_decoding.decode_images(
        tensor, spec, label,
        may_be_empty=spec.is_optional or spec.is_sequence or is_varlen,
        plan=plan)
  if tensor.dtype != spec.dtype:
    tensor = _check_range(tensor, spec, label)
  return tensor


def _reads_strings(specs_by_name: Mapping[str, Any]) -> bool:
  """True if a spec reads a bytes_list (strings, encoded images)."""
  return any(
      specs.record_dtype(spec) == tf.string for spec in specs_by_name.values())


def _parse_stream(
    serialized: tf.Tensor, layout: record_layout.StreamLayout,
    present: Optional[AbstractSet[str]], source_description: Optional[str],
    check_wire_format: bool, plans: Mapping[str, decode_hints.DecodePlan]
) -> Tuple[Dict[str, tf.Tensor], Dict[str, tf.Tensor]]:
  """Parses one batch of one stream; returns (values, lengths) by name.

  `plans` says how to decode image specs, by name (absent: in full).
  """
  wanted = {
      name: spec
      for name, spec in layout.specs_by_name.items()
      if not spec.is_optional or present is None or name in present
  }
  if not wanted:
    return {}, {}
  source = 'of the batch' + (f' of {source_description}'
                             if source_description else '')
  if layout.dataset_key:
    source += f' (dataset_key `{layout.dataset_key}`)'
  if tf.executing_eagerly():
    # The records passed the protobuf parser (`_present_names`), which
    # accepts fields that TensorFlow's rejects with the raw bytes as the
    # message (which Python may not even decode).
    try:
      return _parse_checked_stream(serialized, layout, wanted, plans)
    except (UnicodeDecodeError, tf.errors.InvalidArgumentError) as e:
      if not isinstance(e, UnicodeDecodeError) and (
          _UNPARSABLE not in e.message):
        raise
      valid = record_guard.valid_records(serialized,
                                         layout.is_sequence_example)
      raise ValueError(
          f'Record {int(tf.argmin(tf.cast(valid, tf.int32)))} {source} '
          f'{record_guard.wire_format_problem(layout.is_sequence_example)}. '
          'Rewrite or remove it, and check that the records are of the '
          'specs.') from e
  if check_wire_format and _reads_strings(wanted):
    with tf.control_dependencies([record_guard.check_wire_format(
        serialized, layout.is_sequence_example, source)]):
      return _parse_checked_stream(serialized, layout, wanted, plans)
  return _parse_checked_stream(serialized, layout, wanted, plans)


def _parse_checked_stream(
    serialized: tf.Tensor, layout: record_layout.StreamLayout,
    wanted: Dict[str, Any], plans: Mapping[str, decode_hints.DecodePlan]
) -> Tuple[Dict[str, tf.Tensor], Dict[str, tf.Tensor]]:
  """`_parse_stream` of records that cannot crash the parser."""
  if layout.is_sequence_example:
    context = {
        n: _io_feature(s) for n, s in wanted.items() if not s.is_sequence
    }
    sequence = {n: _io_feature(s) for n, s in wanted.items() if s.is_sequence}
    context_out, sequence_out, dense_lengths = tf.io.parse_sequence_example(
        serialized,
        context_features=context or None,
        sequence_features=sequence or None)
    raw = {**context_out, **sequence_out}
    lengths = dict(dense_lengths)
  else:
    raw = tf.io.parse_example(
        serialized, {n: _io_feature(s) for n, s in wanted.items()})
    lengths = {}
  values = {}
  for name, spec in wanted.items():
    tensor = raw[name]
    if isinstance(tensor, tf.RaggedTensor):
      lengths[name] = tensor.row_lengths()
    values[name] = _to_spec_tensor(tensor, spec, layout.describe(name),
                                   plans.get(name))
  return values, lengths


def _streams(serialized: Any,
             layouts: Dict[str, record_layout.StreamLayout]) -> Dict[str, Any]:
  """Maps every dataset key to its batch of serialized strings."""
  if isinstance(serialized, Mapping):
    missing = [key for key in layouts if key not in serialized]
    if missing:
      raise ValueError(
          f'The specs read the record streams {list(layouts)} but the parse '
          f'function got only {list(serialized)}; missing {missing}. Pass '
          '{dataset_key: serialized strings} for every key.')
    streams = {key: serialized[key] for key in layouts}
  else:
    if len(layouts) > 1:
      raise ValueError(
          f'The specs read several record streams {list(layouts)} (their '
          'dataset_key); pass a dict {dataset_key: serialized strings} '
          'instead of a single tensor.')
    streams = {key: serialized for key in layouts}
  result = {}
  for key, strings in streams.items():
    strings = tf.convert_to_tensor(strings, dtype=tf.string)
    if strings.shape.rank != 1:
      raise ValueError(
          f'The parse function expects a 1-D batch of serialized records for '
          f'dataset_key {key!r}, got shape {strings.shape}. Batch the '
          'serialized strings first (dataset.batch(n).map(parse_fn)), or '
          'wrap one record in a list.')
    result[key] = strings
  return result


def _pack(flat_spec: specs.TensorSpecStruct, values: Dict[Tuple[str, str],
                                                          tf.Tensor],
          lengths: Dict[Tuple[str, str], tf.Tensor]) -> specs.TensorSpecStruct:
  """Lays the parsed tensors out by spec path, adding `<path>_length`s."""
  packed = specs.TensorSpecStruct()
  for path, spec in flat_spec.items():
    if record_layout.is_derived_length(flat_spec, path):
      sequence_path = path[:-len(record_layout.LENGTH_SUFFIX)]
      sequence_spec = flat_spec[sequence_path]
      key = (sequence_spec.dataset_key,
             specs.spec_name(sequence_spec, sequence_path))
      if key in lengths:
        packed[path] = lengths[key]
      continue
    key = (getattr(spec, 'dataset_key', ''), specs.spec_name(spec, path))
    if key not in values:
      continue  # An optional spec the records lack.
    packed[path] = values[key]
    length_path = path + record_layout.LENGTH_SUFFIX
    if getattr(spec, 'is_sequence', False) and length_path not in flat_spec:
      packed[length_path] = lengths[key]
  return packed


def create_parse_tf_example_fn(
    feature_spec: Any,
    label_spec: Any = None,
    present_optional_names: Optional[AbstractSet[str]] = None,
    source_description: Optional[str] = None,
    check_wire_format: bool = True,
    image_decode_hints: Optional[Mapping[str, decode_hints.DecodeHint]] = None
) -> ParseFn:
  """Returns a function parsing batches of serialized records by spec.

  Records are `tf.train.Example`s, or `tf.train.SequenceExample`s in a stream
  where some spec `is_sequence`: sequence specs come out as (batch, time,
  ...) padded to the longest sequence of the batch, with an int64 (batch,)
  `<path>_length` next to each; other specs come from the context. Images
  (`data_format`) are decoded and checked against the spec; dtypes a record
  cannot hold are cast back from float32 / int64; variable-length lists
  (`varlen_default_value`) are padded or clipped to the spec's shape.

  The function works eagerly and inside a traced `tf.data` map:

  Example:
    >>> parse_fn = create_parse_tf_example_fn(feature_spec, label_spec)
    >>> dataset = tf.data.TFRecordDataset(files).batch(32).map(parse_fn)
    >>> features, labels = next(iter(dataset))
    >>> features['state/image'].shape       # (32, 64, 64, 3) uint8

  Args:
    feature_spec: The feature spec structure.
    label_spec: The label spec structure, or None (the function then returns
      the features alone, as in Tensor2Robot). Specs shared with
      `feature_spec` (same name) are parsed once.
    present_optional_names: The names of the optional specs the records
      hold (see `optional_names_present_in_record`); the others are left out
      of the output. None: an eager call decides from the batch it gets, a
      traced call assumes all present.
    source_description: Where the records come from (e.g. a file pattern),
      for error messages.
    check_wire_format: Validate the records' wire format before a traced
      parse of strings or images (`record_guard`). False only for records
      checked already: a broken one would crash the process.
    image_decode_hints: `{feature spec path: decode_hints.DecodeHint}` from
      the preprocessor (`decode_hints(mode)`): those JPEG images are decoded
      by `decode_hints.plan_decode` (only the crop window, or DCT-scaled),
      so they come out at the plan's size instead of the spec's; see
      `decoded_image_sizes`. None or {}: every image in full.

  Returns:
    `parse_fn(serialized) -> (features, labels)`, or `-> features` when
    `label_spec` is None: `serialized` is a 1-D string tensor of records, or
    `{dataset_key: 1-D strings}` when the specs use several dataset keys;
    `features` and `labels` are flat `specs.TensorSpecStruct`s keyed by spec
    path.

    Errors at call time, a ValueError from an eager call and a
    `tf.errors.InvalidArgumentError` from a traced one: a record that is no
    serialized Example, or whose wire format would crash TensorFlow's parser
    (naming its index in the batch); a missing required feature (a traced
    call fails in the parse op, with TensorFlow's message naming the
    feature); a value out of the spec dtype's range (naming the feature, the
    value and the range). An InvalidArgumentError for an image that decodes
    to a shape other than the spec's (naming the feature, the spec's shape
    and the decoded one).

  Raises:
    ValueError: If specs sharing a name differ, a shape is not fully
      defined, or a decode hint names no encoded image of the feature spec
      (or does not fit it).
    TypeError: For a dtype records cannot hold.
  """
  flat_specs = record_layout.flat_feature_and_label_specs(feature_spec,
                                                          label_spec)
  layouts = record_layout.stream_layouts(flat_specs)
  plans = _decode_plans(flat_specs[0][1], image_decode_hints or {})
  fixed_present = (
      frozenset(present_optional_names)
      if present_optional_names is not None else None)

  def parse_fn(serialized):
    streams = _streams(serialized, layouts)
    values, lengths = {}, {}
    for key, strings in streams.items():
      present = fixed_present
      if tf.executing_eagerly():
        # Also reports a missing required feature with a clear ValueError.
        in_batch = _present_names(strings.numpy(), layouts[key],
                                  source_description)
        if present is None:
          present = in_batch
      stream_values, stream_lengths = _parse_stream(
          strings, layouts[key], present, source_description,
          check_wire_format, plans.get(key, {}))
      values.update({(key, name): v for name, v in stream_values.items()})
      lengths.update({(key, name): v for name, v in stream_lengths.items()})
    features = _pack(flat_specs[0][1], values, lengths)
    if len(flat_specs) == 1:
      return features
    return features, _pack(flat_specs[1][1], values, lengths)

  return parse_fn


def _decode_plans(
    flat_feature_spec: specs.TensorSpecStruct,
    hints: Mapping[str, decode_hints.DecodeHint]
) -> Dict[str, Dict[str, decode_hints.DecodePlan]]:
  """The plans of hinted images not decoded in full, by dataset key, name.

  Raises:
    ValueError: If a hint names no encoded image spec, or does not fit it.
  """
  plans = {}
  for path, hint in hints.items():
    spec = flat_feature_spec.get(path)
    if spec is None or not specs.is_encoded_image_spec(spec):
      images = [p for p, s in flat_feature_spec.items()
                if specs.is_encoded_image_spec(s)]
      found = 'not in the feature spec' if spec is None else repr(spec)
      raise ValueError(
          f'A decode hint names the feature {path!r}, which is {found}; '
          'hints are for encoded images (data_format jpeg or png). The '
          f'encoded images of the feature spec: {images}.')
    plan = decode_hints.plan_decode(hint, spec)
    if plan.kind != 'full':
      plans.setdefault(spec.dataset_key or '', {})[specs.spec_name(
          spec, path)] = plan
  return plans


def decoded_image_sizes(
    feature_spec: Any, image_decode_hints: Mapping[str, decode_hints.DecodeHint]
) -> Dict[str, Tuple[int, int]]:
  """The (height, width) that hinted images parse to, by feature spec path.

  Only images that are not decoded in full are listed: what a preprocessor's
  `preprocess(..., decoded_image_sizes=...)` is told.

  Example:
    >>> decoded_image_sizes(in_spec, {'image': DecodeHint(
    ...     (472, 472), True, (472, 472))})   # image stored at 512x640
    {'image': (472, 472)}

  Args:
    feature_spec: The feature spec structure the parser reads.
    image_decode_hints: As for `create_parse_tf_example_fn`.

  Returns:
    `{path: (height, width)}`.

  Raises:
    ValueError: As `create_parse_tf_example_fn` for a bad hint.
  """
  flat = specs.flatten_spec_structure(feature_spec)
  _decode_plans(flat, image_decode_hints)
  sizes = {}
  for path, hint in image_decode_hints.items():
    plan = decode_hints.plan_decode(hint, flat[path])
    if plan.kind != 'full':
      sizes[path] = plan.decoded_size
  return sizes
