"""Rejects records that would crash TensorFlow's example parser.

TensorFlow's example parsers (`ParseExampleV2`, `ParseSequenceExampleV2`,
so `tf.io.parse_example` and `tf.io.parse_sequence_example`) read the
declared length of a bytes_list value into a signed 32-bit int: a damaged
record that declares 2**31 bytes or more (e.g. the varint `80 80 80 80 08`
before 3 bytes of data) makes the op copy a negative length, and the process
dies with a segfault, whatever the caller does (`ignore_errors`, skip mode,
a serving signature).

`check_wire_format` validates records with `tf.io.decode_proto` first, whose
parser checks every length against the bytes it has: one decode per nesting
level, down to the bytes_list values (Example > Features > feature entry >
Feature > BytesList; for a SequenceExample also through its feature lists).
It also requires the layout that serializers write and the fast parser
expects: each message holds only its own fields, singular ones once, and
feature entries a key and a value. (The fast parser fails on other fields of
Features or entries with the raw record as its message, which Python may
not even decode; a repeated top-level `features` it would merge, but only
the last one would be checked here.)

Only bytes values can crash the parser (float and int64 lists are read with
bounds checks), so only streams whose specs read strings or images need the
check. Each level but the last copies the records once: about 3 ms of CPU
for a batch of 32 records of 236 KB, where parsing and decoding their JPEGs
takes 80 ms (2-core machine; see benchmarks/input_pipeline.py for the whole
pipeline).

The module also holds the in-graph `try` that the check and the guarded
parser build on (`passing`, `try_map`: tf.data's `ignore_errors`) and
`require`: a `tf.py_function` in an input pipeline can keep a failing
process from exiting (see `corrupt_record_log`).
"""

from typing import Any, Callable, List, NamedTuple, Optional, Tuple

from google.protobuf import descriptor_pb2
import tensorflow as tf

_WIRE_FORMAT_PROBLEM = (
    'is not a valid serialized {record_type}: its protobuf wire format is '
    'broken (a field declares more bytes than the record holds, or is not a '
    'field of {record_type}), which would crash the TensorFlow example '
    'parser or make it fail quoting the raw bytes')


def _any_message_descriptor_source() -> bytes:
  """A descriptor of a message with no fields that data can hold.

  Decoding it validates the wire format of any message (every field is
  skipped with a bounds check) without copying the fields.
  """
  files = descriptor_pb2.FileDescriptorSet()
  proto = files.file.add(name='t2r_record_guard.proto',
                         package='t2r_record_guard', syntax='proto3')
  message = proto.message_type.add(name='AnyMessage')
  message.field.add(
      name='unused', number=536870911,  # The largest field number.
      type=descriptor_pb2.FieldDescriptorProto.TYPE_INT32,
      label=descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED)
  return b'bytes://' + files.SerializeToString()


_ANY_MESSAGE = _any_message_descriptor_source()


def wire_format_problem(is_sequence_example: bool) -> str:
  """What is wrong with a record that fails the check, for messages."""
  return _WIRE_FORMAT_PROBLEM.format(
      record_type=('tf.train.SequenceExample'
                   if is_sequence_example else 'tf.train.Example'))


def _not_empty(serialized: tf.Tensor,
               real: tf.Tensor) -> Tuple[tf.Tensor, tf.Tensor]:
  """The messages, or one empty padding message for none.

  (decode_proto needs at least one.) `real` tells the messages from padding.
  """
  return tf.cond(tf.size(serialized) > 0, lambda: (serialized, real),
                 lambda: (tf.constant([''], tf.string),
                          tf.constant([False])))


def _varint_size(value: tf.Tensor) -> tf.Tensor:
  """The bytes of the varint encoding of each (non-negative int32) value."""
  return 1 + tf.add_n([tf.cast(value >= 2**(7 * k), tf.int32)
                       for k in range(1, 5)])


class _Decoded(NamedTuple):
  """The fields of a batch of messages, flattened.

  values: One 1-D string tensor per field, its serialized values (padding
    and absent entries are '').
  real: One 1-D bool per field: the entry is a value of a real message.
  sound: A scalar bool, whether the messages are laid out as TensorFlow's
    fast parser requires (see `_decode`).
  """
  values: List[tf.Tensor]
  real: List[tf.Tensor]
  sound: tf.Tensor


def _decode(serialized: tf.Tensor, message_type: str, fields: List[str],
            real: Optional[tf.Tensor] = None,
            required: bool = False) -> _Decoded:
  """Decodes `fields` of each message; fails on a broken wire format.

  Also tells whether the messages hold these fields only, each singular one
  once, and with `required` every one: TensorFlow's fast parser rejects
  other messages with an error that quotes the raw record, which Python
  cannot even decode.

  Args:
    serialized: 1-D serialized messages.
    message_type: The type in package `tensorflow`, e.g. 'Features'.
    fields: The (length-delimited) fields to decode.
    real: Which messages are real rather than padding; None: all.
    required: Every field must be present (in the real messages).

  Returns:
    The decoded fields.
  """
  if real is None:
    real = tf.ones_like(serialized, tf.bool)
  serialized, real = _not_empty(serialized, real)
  sizes, values = tf.io.decode_proto(
      serialized, f'tensorflow.{message_type}', fields,
      [tf.string] * len(fields))
  encoded = tf.zeros_like(sizes[:, 0])
  present = []
  for index, value in enumerate(values):
    lengths = tf.strings.length(value)
    is_value = tf.sequence_mask(sizes[:, index], tf.shape(value)[1])
    # A 1-byte tag (field numbers < 16), the length, the bytes.
    encoded += tf.reduce_sum(tf.where(
        is_value, 1 + _varint_size(lengths) + lengths,
        tf.zeros_like(lengths)), axis=1)
    present.append(tf.reshape(tf.logical_and(is_value, real[:, None]), [-1]))
  sound = tf.reduce_all(tf.equal(encoded, tf.strings.length(serialized)))
  if required:
    sound = tf.logical_and(sound, tf.reduce_all(
        tf.logical_or(tf.logical_not(real), tf.reduce_all(sizes > 0, 1))))
  return _Decoded([tf.reshape(value, [-1]) for value in values], present,
                  sound)


def _validate_features(features: tf.Tensor,
                       real: tf.Tensor) -> tf.Tensor:
  """Validates serialized `Features` down to their bytes_list values.

  Returns:
    A scalar bool: they are sound (see `_validate`).
  """
  decoded = _decode(features, 'Features', ['feature'], real)
  entries = _decode(decoded.values[0], 'Features.FeatureEntry',
                    ['key', 'value'], decoded.real[0], required=True)
  return tf.reduce_all(tf.stack([
      decoded.sound, entries.sound,
      _validate_feature(entries.values[1], entries.real[1])]))


def _validate_feature(feature: tf.Tensor, real: tf.Tensor) -> tf.Tensor:
  """Validates serialized `Feature`s down to their bytes_list values.

  Returns:
    A scalar True computed by the last decode: depend on it, so that the
    decodes run (ops whose results go unused are pruned from a graph).
  """
  bytes_lists = _decode(feature, 'Feature', ['bytes_list'], real)
  checked, _ = _not_empty(bytes_lists.values[0], bytes_lists.real[0])
  sizes, _ = tf.io.decode_proto(checked, 't2r_record_guard.AnyMessage',
                                ['unused'], [tf.int32],
                                descriptor_source=_ANY_MESSAGE)
  return tf.reduce_sum(sizes) >= 0


def _validate(serialized: tf.Tensor, is_sequence_example: bool) -> tf.Tensor:
  """Whether a 1-D batch of records is sound; raises DataLossError if broken.

  Sound: a wire format that the decodes accept (else they raise), laid out
  as TensorFlow's fast parser requires (see `_decode`). (No assertion: a
  stateful op would slow down the tf.data maps of `is_valid`.)

  Returns:
    A scalar bool.
  """
  if not is_sequence_example:
    example = _decode(serialized, 'Example', ['features'])
    return tf.logical_and(example.sound, _validate_features(
        example.values[0], example.real[0]))
  example = _decode(serialized, 'SequenceExample',
                    ['context', 'feature_lists'])
  lists = _decode(example.values[1], 'FeatureLists', ['feature_list'],
                  example.real[1])
  entries = _decode(lists.values[0], 'FeatureLists.FeatureListEntry',
                    ['key', 'value'], lists.real[0], required=True)
  steps = _decode(entries.values[1], 'FeatureList', ['feature'],
                  entries.real[1])
  return tf.reduce_all(tf.stack([
      example.sound, lists.sound, entries.sound, steps.sound,
      _validate_features(example.values[0], example.real[0]),
      _validate_feature(steps.values[0], steps.real[0])]))


def _first_or(dataset: tf.data.Dataset, fallback: Any) -> Any:
  """The first element of `dataset`, or `fallback` if it has none."""
  return dataset.concatenate(tf.data.Dataset.from_tensors(fallback)).take(
      1).get_single_element()


def _results(fn: Callable[[Any], Any],
             elements: Any) -> Tuple[tf.Tensor, tf.data.Dataset]:
  """(count, dataset of (index, fn(element)) for the elements fn passes)."""
  count = tf.shape(tf.nest.flatten(elements)[0], out_type=tf.int64)[0]
  return count, tf.data.Dataset.from_tensor_slices(
      (tf.range(count), elements)).map(
          lambda index, element: (index, fn(element))).ignore_errors()


def _collect(count: tf.Tensor, results: tf.data.Dataset,
             fallback: tf.Tensor) -> tf.Tensor:
  """Scatters the (index, value) results into `count` copies of fallback.

  (`batch` and `get_single_element` cost a fraction of a millisecond;
  `reduce` about ten times more.)
  """
  indices, values = _first_or(
      results.batch(tf.maximum(count, 1)),
      (tf.zeros([0], tf.int64), tf.zeros([0], fallback.dtype)))
  return tf.tensor_scatter_nd_update(
      tf.fill([count], fallback), indices[:, None], values)


def try_map(fn: Callable[[Any], tf.Tensor], elements: Any,
            fallback: tf.Tensor) -> tf.Tensor:
  """fn's scalar result per element (sliced along the first axis).

  The in-graph `try`: where fn fails, the element's result is `fallback`.

  Example:
    >>> try_map(lambda record: tf.size(parse_fn(record[None])['x']),
    ...         serialized, tf.constant(-1))
  """
  count, results = _results(fn, elements)
  return _collect(count, results, fallback)


def passing(fn: Callable[[Any], Any], elements: Any) -> tf.Tensor:
  """A bool per element (sliced along the first axis): `fn` succeeds on it.

  Example:
    >>> passing(lambda record: parse_fn(record[None]), serialized)
  """
  # fn's results stay in the elements until errors are dropped, so that its
  # ops run (ops whose results go unused would be pruned).
  count, results = _results(fn, elements)
  return _collect(count, results.map(lambda index, _: (index, True)),
                  tf.constant(False))


def require(condition: tf.Tensor,
            message: Callable[[], tf.Tensor]) -> Optional[tf.Operation]:
  """Fails with `message()` (a scalar string) unless `condition` holds.

  Eagerly: raises ValueError at once (returns None). In a graph: returns a
  `tf.debugging.Assert` op (an InvalidArgumentError when it fails), which
  prints its strings C-escaped, so messages quote with ` rather than '.
  `message` runs only when the condition fails.
  """
  if tf.executing_eagerly():
    if not bool(condition):
      raise ValueError(message().numpy().decode())
    return None
  return tf.debugging.Assert(
      condition, [tf.cond(condition, lambda: tf.constant(''), message)])


def is_valid(serialized: tf.Tensor, is_sequence_example: bool) -> tf.Tensor:
  """A scalar bool: every record of the 1-D batch is sound."""
  return _first_or(
      tf.data.Dataset.from_tensors(serialized).map(
          lambda batch: _validate(batch, is_sequence_example)).ignore_errors(),
      tf.constant(False))


def valid_records(serialized: tf.Tensor,
                  is_sequence_example: bool) -> tf.Tensor:
  """A bool per record of the 1-D batch: it is sound.

  Example:
    >>> valid_records(tf.constant([good, broken]), False)
    <tf.Tensor: shape=(2,), dtype=bool, numpy=array([ True, False])>
  """
  return try_map(lambda record: _validate(record[None], is_sequence_example),
                 serialized, tf.constant(False))


def check_wire_format(serialized: tf.Tensor, is_sequence_example: bool,
                      source_description: str) -> Optional[tf.Operation]:
  """An op that fails, naming the first broken record, unless all are sound.

  Example:
    >>> with tf.control_dependencies([check_wire_format(
    ...     serialized, False, 'of the serving_tf_example input')]):
    ...   parsed = tf.io.parse_example(serialized, features)

  Args:
    serialized: A 1-D string tensor of serialized records.
    is_sequence_example: The records are `tf.train.SequenceExample`s.
    source_description: Where the records come from, completing 'Record 3
      ...' (e.g. 'of the batch').

  Returns:
    The op (see `require`).
  """
  valid = is_valid(serialized, is_sequence_example)

  def message():
    first_broken = tf.argmin(tf.cast(
        valid_records(serialized, is_sequence_example), tf.int64))
    return tf.strings.join([
        'Record ', tf.strings.as_string(first_broken),
        f' {source_description} {wire_format_problem(is_sequence_example)}. '
        'Rewrite or remove it, and check that the records are of the specs.'
    ])

  return require(valid, message)
