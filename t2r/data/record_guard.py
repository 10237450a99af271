"""Rejects records that would crash TensorFlow's example parser.

TensorFlow's example parsers (`ParseExampleV2`, `ParseSequenceExampleV2`,
so `tf.io.parse_example` and `tf.io.parse_sequence_example`) read the
declared length of a bytes_list value into a signed 32-bit int: a damaged
record that declares 2**31 bytes or more (e.g. the varint `80 80 80 80 08`
before 3 bytes of data) makes the op copy a negative length, and the process
dies with a segfault, whatever the caller does (`ignore_errors`, skip mode,
a serving signature).

`check_wire_format` first walks through the records' fields, reading only
their headers with string ops (`tf.strings.substr` of 7 bytes at each field:
the bytes of the values are never copied), level by level down to the
bytes_list values (Example > Features > feature entry > Feature > BytesList;
for a SequenceExample also through its feature lists). It requires the
layout that serializers write, in which the fast parser reads the same
lengths: every field length-delimited, with a one-byte tag and a minimal
varint length, its bytes within its message; each message holding only its
own fields, singular ones at most once (feature entries a key and a value,
a Feature one of its lists). (The fast parser fails on other fields of
Features or entries with the raw record as its message, which Python may
not even decode; a repeated top-level `features` it would merge; of a
Feature it reads only the first list.) Records with longer lists than the
walk reads (more than 16 bytes_list values, or 256 feature entries, feature
lists or steps) are decoded level by level with `tf.io.decode_proto`
instead, whose parser checks every length against the bytes it has, and
checked for the same layout.

Only bytes values can crash the parser (float and int64 lists are read with
bounds checks, and their bytes are not read here), so only streams whose
specs read strings or images need the check. On records of a 138 KB JPEG and
two float lists, in batches of 32, it costs about 0.03 ms of CPU per record,
where parsing them takes 0.05 ms and decoding their JPEGs 2 ms (2-core
machine; benchmarks/record_guard.py; decoding every level, which copies the
records four times, took 0.09 ms). Each field of the longest list of a level
is a step of the walk (about 20 us per batch), so records of many short
fields cost about as much as decoding them, and records with longer lists
than the walk reads up to twice as much.

The module also holds the in-graph `try` that the decoding and the guarded
parser build on (`passing`, `try_map`: tf.data's `ignore_errors`) and
`require`: a `tf.py_function` in an input pipeline can keep a failing
process from exiting (see `corrupt_record_log`).
"""

from typing import Any, Callable, Dict, List, NamedTuple, Optional, Tuple

import tensorflow as tf

_WIRE_FORMAT_PROBLEM = (
    'is not a valid serialized {record_type}: its protobuf wire format is '
    'broken (a field declares more bytes than the record holds, or is not a '
    'field of {record_type}), which would crash the TensorFlow example '
    'parser or make it fail quoting the raw bytes')


def wire_format_problem(is_sequence_example: bool) -> str:
  """What is wrong with a record that fails the check, for messages."""
  return _WIRE_FORMAT_PROBLEM.format(
      record_type=('tf.train.SequenceExample'
                   if is_sequence_example else 'tf.train.Example'))


def _tag(number: int) -> int:
  """The one-byte tag of length-delimited field `number` (< 16)."""
  return number << 3 | 2


# The walk reads at most this many fields of a repeated field per message
# (bytes_list values; feature entries, feature lists and their steps):
# records with longer lists are checked by decoding them (see `_sound`).
_MOST_VALUES = 16
_MOST_FIELDS = 256
# A field header: a one-byte tag, then the length in a varint of at most 5
# bytes (a sixth byte tells a longer varint).
_HEADER_BYTES = 7


def _varint_tables() -> Tuple[List[List[int]], List[int], List[int]]:
  """Varint decoding by the continuation bits of the 6 bytes after a tag.

  Returns:
    By the bits (bit k: byte k continues the varint): the weight of each
    byte's 7 digits in the value (0 past its end), the size of the header
    (tag and varint) and the least value that the varint holds if it is
    minimal (2**62 if it is longer than 5 bytes).
  """
  weights, sizes, least = [], [], []
  for bits in range(64):
    size = next((k for k in range(6) if not bits >> k & 1), 5) + 1
    weights.append([2**(7 * k) if k < size else 0 for k in range(6)])
    sizes.append(1 + size)
    least.append(0 if size == 1 else 2**(7 * size - 7) if size <= 5 else
                 2**62)
  return weights, sizes, least


_DIGIT_WEIGHTS, _HEADER_SIZES, _LEAST_LENGTHS = _varint_tables()


class _Spans(NamedTuple):
  """Messages in the records, as [records, k] tensors: row i in record i.

  start, stop: int64 offsets of each message's bytes in its record.
  present: bool, the message exists (else padding, with start == stop).
  """
  start: tf.Tensor
  stop: tf.Tensor
  present: tf.Tensor


class _Verdict(NamedTuple):
  """A bool per record: `sound`, and `walked`: the walk read all its fields.

  (If not, one of its lists is longer than the walk reads, and `sound` only
  tells about the fields it read.)
  """
  sound: tf.Tensor
  walked: tf.Tensor


def _all(*bools: tf.Tensor) -> tf.Tensor:
  """The elementwise `and` of bool tensors of one shape."""
  return tf.reduce_all(tf.stack(bools), axis=0)


def _header(records: tf.Tensor, pos: tf.Tensor
           ) -> Tuple[tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]:
  """The header of the length-delimited field at each `pos` (unchecked).

  Reads a few bytes, never the field's bytes.

  Args:
    records: 1-D serialized records.
    pos: [records, k] int64 offsets in the record of the row, each at most
      its length (substr fails past it).

  Returns:
    (tag, start, end, minimal): the tag byte, where the field's bytes start
    and end, and whether its length is a minimal varint of at most 5 bytes.
  """
  window = tf.strings.substr(records[:, None], pos, tf.fill(
      tf.shape(pos), tf.constant(_HEADER_BYTES, tf.int64)))
  header = tf.cast(tf.io.decode_raw(window, tf.uint8,
                                    fixed_length=_HEADER_BYTES), tf.int64)
  digits = header[..., 1:]
  bits = tf.reduce_sum(tf.bitwise.right_shift(digits, 7) * tf.constant(
      [2**k for k in range(6)], tf.int64), axis=-1)
  length = tf.reduce_sum(tf.bitwise.bitwise_and(digits, 127) * tf.gather(
      tf.constant(_DIGIT_WEIGHTS, tf.int64), bits), axis=-1)
  start = pos + tf.gather(tf.constant(_HEADER_SIZES, tf.int64), bits)
  return (header[..., 0], start, start + length,
          length >= tf.gather(tf.constant(_LEAST_LENGTHS, tf.int64), bits))


def _read(records: tf.Tensor, pos: tf.Tensor, stop: tf.Tensor
         ) -> Tuple[tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]:
  """Like `_header`, with whether the field fits before `stop`.

  Returns:
    (tag, start, end, readable): readable: a minimal length, and the
    field's bytes end by `stop` (so `pos` < `stop`).
  """
  tag, start, end, minimal = _header(records, pos)
  return tag, start, end, tf.logical_and(minimal, end <= stop)


def _fields_of(records: tf.Tensor, spans: _Spans,
               most: int) -> Tuple[_Spans, _Verdict]:
  """The fields 1 that fill each span (a repeated field, e.g. Features').

  Args:
    records: 1-D serialized records.
    spans: The messages.
    most: The most steps of the walk: a message with more fields is not
      `walked`.

  Returns:
    (fields, verdict): the bytes of the fields found, as spans [records,
    k * (steps + 1)]; `sound`: the messages hold such fields only (as far as
    walked).
  """
  # The loop only finds where the fields start, one step per field of the
  # longest message; the fields are checked after it, all at once.
  def step(pos, starts):
    end = _header(records, pos)[2]
    pos = tf.where(end <= spans.stop, end, spans.stop)
    return pos, starts.write(starts.size(), pos)

  last, starts = tf.while_loop(
      lambda pos, starts: tf.logical_and(
          tf.reduce_any(pos < spans.stop), starts.size() <= most), step,
      (spans.start, tf.TensorArray(tf.int64, size=0, dynamic_size=True).write(
          0, spans.start)))
  pos = tf.transpose(starts.stack(), [1, 2, 0])
  shape = tf.shape(pos)
  flat = [shape[0], shape[1] * shape[2]]
  stop = tf.reshape(tf.broadcast_to(spans.stop[..., None], shape), flat)
  pos = tf.reshape(pos, flat)
  tag, start, end, readable = _read(records, pos, stop)
  field = tf.logical_and(readable, tf.equal(tag, _tag(1)))
  return _Spans(tf.where(field, start, 0), tf.where(field, end, 0),
                field), _Verdict(
                    tf.reduce_all(tf.logical_or(field, pos >= stop), axis=1),
                    tf.reduce_all(last >= spans.stop, axis=1))


def _message(records: tf.Tensor, spans: _Spans, numbers: Tuple[int, ...],
             oneof: bool = False,
             required: bool = False) -> Tuple[Dict[int, _Spans], tf.Tensor]:
  """The singular fields of each message (e.g. a feature entry's).

  Args:
    records: 1-D serialized records.
    spans: The messages.
    numbers: Their fields, each at most once, in any order.
    oneof: At most one of the fields (a Feature's lists).
    required: Every field (in the messages present).

  Returns:
    (fields, sound): by field number, its bytes as spans like `spans`; a
    bool per record: its messages hold only these fields, laid out so.
  """
  zeros = tf.zeros_like(spans.start)
  fields = {number: _Spans(zeros, zeros, tf.zeros_like(spans.present))
            for number in numbers}
  pos = spans.start
  for _ in range(1 if oneof else len(numbers)):
    tag, start, end, readable = _read(records, pos, spans.stop)
    found = tf.zeros_like(readable)
    for number, field in fields.items():
      # The field, unless the message held it already.
      this = _all(readable, tf.equal(tag, _tag(number)),
                  tf.logical_not(field.present))
      fields[number] = _Spans(tf.where(this, start, field.start),
                              tf.where(this, end, field.stop),
                              tf.logical_or(this, field.present))
      found = tf.logical_or(found, this)
    pos = tf.where(found, end, pos)
  sound = tf.equal(pos, spans.stop)
  if required:
    sound = tf.logical_and(sound, tf.logical_or(
        tf.logical_not(spans.present),
        _all(*[field.present for field in fields.values()])))
  return fields, tf.reduce_all(sound, axis=1)


def _walk_features(records: tf.Tensor, features: _Spans) -> _Verdict:
  """Walks serialized `Features` down to their bytes_list values."""
  entries, listed = _fields_of(records, features, _MOST_FIELDS)
  entry, sound = _message(records, entries, (1, 2), required=True)
  feature = _walk_feature(records, entry[2])
  return _Verdict(_all(listed.sound, sound, feature.sound),
                  tf.logical_and(listed.walked, feature.walked))


def _walk_feature(records: tf.Tensor, features: _Spans) -> _Verdict:
  """Walks serialized `Feature`s down to their bytes_list values."""
  lists, sound = _message(records, features, (1, 2, 3), oneof=True)
  _, values = _fields_of(records, lists[1], _MOST_VALUES)
  return _Verdict(tf.logical_and(sound, values.sound), values.walked)


def _walk(serialized: tf.Tensor, is_sequence_example: bool) -> _Verdict:
  """Reads the headers of the fields of a 1-D batch of records.

  Returns:
    Per record, whether it is sound (see `_sound`) as far as the walk read.
  """
  lengths = tf.cast(tf.strings.length(serialized), tf.int64)[:, None]
  whole = _Spans(tf.zeros_like(lengths), lengths,
                 tf.ones_like(lengths, tf.bool))
  if not is_sequence_example:
    example, sound = _message(serialized, whole, (1,))
    features = _walk_features(serialized, example[1])
    return _Verdict(tf.logical_and(sound, features.sound), features.walked)
  example, sound = _message(serialized, whole, (1, 2))
  lists, listed = _fields_of(serialized, example[2], _MOST_FIELDS)
  entry, entry_sound = _message(serialized, lists, (1, 2), required=True)
  steps, stepped = _fields_of(serialized, entry[2], _MOST_FIELDS)
  context = _walk_features(serialized, example[1])
  feature = _walk_feature(serialized, steps)
  return _Verdict(
      _all(sound, listed.sound, entry_sound, stepped.sound, context.sound,
           feature.sound),
      _all(listed.walked, stepped.walked, context.walked, feature.walked))


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
  sound: A scalar bool, whether the messages are laid out as `_sound`
    requires.
  """
  values: List[tf.Tensor]
  real: List[tf.Tensor]
  sound: tf.Tensor


def _decode(serialized: tf.Tensor, message_type: str, fields: List[str],
            real: Optional[tf.Tensor] = None, oneof: bool = False,
            required: bool = False) -> _Decoded:
  """Decodes `fields` of each message; fails on a broken wire format.

  Also tells whether the messages hold these fields only, each singular one
  once, with a one-byte tag and a minimal length (the walk's layout: the
  encoded fields add up to the message).

  Args:
    serialized: 1-D serialized messages.
    message_type: The type in package `tensorflow`, e.g. 'Features'.
    fields: The (length-delimited) fields to decode.
    real: Which messages are real rather than padding; None: all.
    oneof: At most one of the fields per message.
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
  if oneof:
    sound = tf.logical_and(sound, tf.reduce_all(tf.reduce_sum(sizes, 1) <= 1))
  if required:
    sound = tf.logical_and(sound, tf.reduce_all(
        tf.logical_or(tf.logical_not(real), tf.reduce_all(sizes > 0, 1))))
  return _Decoded([tf.reshape(value, [-1]) for value in values], present,
                  sound)


def _decoded_features(features: tf.Tensor, real: tf.Tensor) -> tf.Tensor:
  """A scalar bool: the serialized `Features` are sound (decoding them)."""
  decoded = _decode(features, 'Features', ['feature'], real)
  entries = _decode(decoded.values[0], 'Features.FeatureEntry',
                    ['key', 'value'], decoded.real[0], required=True)
  return _all(decoded.sound, entries.sound,
              _decoded_feature(entries.values[1], entries.real[1]))


def _decoded_feature(feature: tf.Tensor, real: tf.Tensor) -> tf.Tensor:
  """A scalar bool: the serialized `Feature`s are sound (decoding them)."""
  lists = _decode(feature, 'Feature', ['bytes_list', 'float_list',
                                       'int64_list'], real, oneof=True)
  values = _decode(lists.values[0], 'BytesList', ['value'], lists.real[0])
  return tf.logical_and(lists.sound, values.sound)


def _decoded(serialized: tf.Tensor, is_sequence_example: bool) -> tf.Tensor:
  """Whether a 1-D batch of records is sound; raises DataLossError if broken.

  Decodes the records level by level with `tf.io.decode_proto` (copying
  them at each level), whose parser checks every length against the bytes
  it has, and checks the layout that `_sound` requires.

  Returns:
    A scalar bool.
  """
  if not is_sequence_example:
    example = _decode(serialized, 'Example', ['features'])
    return tf.logical_and(example.sound, _decoded_features(
        example.values[0], example.real[0]))
  example = _decode(serialized, 'SequenceExample',
                    ['context', 'feature_lists'])
  lists = _decode(example.values[1], 'FeatureLists', ['feature_list'],
                  example.real[1])
  entries = _decode(lists.values[0], 'FeatureLists.FeatureListEntry',
                    ['key', 'value'], lists.real[0], required=True)
  steps = _decode(entries.values[1], 'FeatureList', ['feature'],
                  entries.real[1])
  return _all(example.sound, lists.sound, entries.sound, steps.sound,
              _decoded_features(example.values[0], example.real[0]),
              _decoded_feature(steps.values[0], steps.real[0]))


def _decoded_records(serialized: tf.Tensor,
                     is_sequence_example: bool) -> tf.Tensor:
  """A bool per record of the 1-D batch: `_decoded` passes and holds."""
  everything = _first_or(
      tf.data.Dataset.from_tensors(serialized).map(
          lambda batch: _decoded(batch, is_sequence_example)).ignore_errors(),
      tf.constant(False))
  return tf.cond(everything, lambda: tf.ones_like(serialized, tf.bool),
                 lambda: try_map(lambda record: _decoded(
                     record[None], is_sequence_example), serialized,
                                 tf.constant(False)))


def _sound(serialized: tf.Tensor, is_sequence_example: bool) -> tf.Tensor:
  """A bool per record of the 1-D batch: it is sound.

  Sound: laid out as serializers write it, which TensorFlow's fast parser
  reads with the same lengths: every field length-delimited, with a
  one-byte tag, a minimal varint length and its bytes within its message;
  each message holding only its own fields, singular ones at most once (a
  Feature one of its lists; feature entries a key and a value). Every length
  is checked, down to those of the bytes_list values (not the bytes of float
  and int64 lists, which the parser reads with bounds checks).

  The walk reads the field headers; records with a list longer than it reads
  are decoded instead (`_decoded`, the same check).
  """
  walk = _walk(serialized, is_sequence_example)

  def with_decoded():
    longer = tf.where(tf.logical_not(walk.walked))[:, 0]
    return tf.tensor_scatter_nd_update(
        walk.sound, longer[:, None],
        _decoded_records(tf.gather(serialized, longer), is_sequence_example))

  return tf.cond(tf.reduce_all(walk.walked), lambda: walk.sound,
                 with_decoded)


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
  return tf.reduce_all(_sound(serialized, is_sequence_example))


def valid_records(serialized: tf.Tensor,
                  is_sequence_example: bool) -> tf.Tensor:
  """A bool per record of the 1-D batch: it is sound.

  Example:
    >>> valid_records(tf.constant([good, broken]), False)
    <tf.Tensor: shape=(2,), dtype=bool, numpy=array([ True, False])>
  """
  return _sound(serialized, is_sequence_example)


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
  sound = _sound(serialized, is_sequence_example)

  def message():
    return tf.strings.join([
        'Record ', tf.strings.as_string(tf.argmin(tf.cast(sound, tf.int64))),
        f' {source_description} {wire_format_problem(is_sequence_example)}. '
        'Rewrite or remove it, and check that the records are of the specs.'
    ])

  return require(tf.reduce_all(sound), message)
