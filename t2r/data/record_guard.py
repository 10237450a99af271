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

from typing import Any, Callable, Dict, NamedTuple, Optional, Tuple

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


# A field header: a one-byte tag, then the length in a varint of at most 5
# bytes (the sixth byte tells a longer varint).
_HEADER_BYTES = 7
_DIGIT_WEIGHTS = tf.constant([2**(7 * k) for k in range(6)], tf.int64)
# The least value of a minimal varint of 1 to 6 bytes (none for 6).
_VARINT_MINIMUM = tf.constant([0] + [2**(7 * k) for k in range(1, 5)] +
                              [2**62], tf.int64)


class _Spans(NamedTuple):
  """Messages in the records, as [records, k] tensors: row i in record i.

  start, stop: int64 offsets of each message's bytes in its record.
  present: bool, the message exists (else padding, with start == stop).
  """
  start: tf.Tensor
  stop: tf.Tensor
  present: tf.Tensor


def _read(records: tf.Tensor, pos: tf.Tensor, stop: tf.Tensor) -> Tuple[tf.Tensor, tf.Tensor, tf.Tensor,
                                    tf.Tensor]:
  """The length-delimited field that starts at each `pos` of the records.

  Reads only the field's header (a few bytes), never its bytes.

  Args:
    records: 1-D serialized records.
    pos: Where each field starts, [records, k] int64 offsets, at most the
      length of the record (substr fails past it).
    stop: Where the message that holds it stops, like `pos`.

  Returns:
    (tag, start, end, readable): the tag byte, where the field's bytes
    start and end, and whether it is a field that fits: `pos` < `stop`, a
    minimal varint length and bytes that end by `stop`.
  """
  window = tf.strings.substr(records[:, None], pos,
                             tf.fill(tf.shape(pos), tf.constant(
                                 _HEADER_BYTES, tf.int64)))
  header = tf.cast(tf.io.decode_raw(window, tf.uint8,
                                    fixed_length=_HEADER_BYTES), tf.int64)
  digits = header[..., 1:]
  # Digit k belongs to the varint if the digits before it all continue it.
  included = tf.math.cumprod(digits // 128, axis=-1, exclusive=True)
  size = tf.reduce_sum(included, axis=-1)
  value = tf.reduce_sum(included * (digits % 128) * _DIGIT_WEIGHTS, axis=-1)
  start = pos + 1 + size
  readable = tf.reduce_all(tf.stack([
      pos < stop,
      value >= tf.gather(_VARINT_MINIMUM, size - 1),
      start <= stop,
      value <= stop - start,
  ]), axis=0)
  return header[..., 0], start, start + value, readable


def _fields_of(records: tf.Tensor, spans: _Spans,
               collect: bool = True) -> Tuple[Optional[_Spans], tf.Tensor]:
  """The fields 1 that fill each span (a repeated field, e.g. Features').

  Args:
    records: 1-D serialized records.
    spans: The messages.
    collect: Return the fields' bytes (else None: only check them).

  Returns:
    (fields, sound): the bytes of the fields, as spans [records, k * the
    most fields of a message]; a bool per record: its messages hold such
    fields only.
  """
  def body(count, pos, sound, *collected):
    tag, start, end, readable = _read(records, pos, spans.stop)
    field = tf.logical_and(readable, tf.equal(tag, _tag(1)))
    sound = tf.logical_and(sound, tf.logical_or(field, pos >= spans.stop))
    collected = [array.write(count, value) for array, value in zip(
        collected, (tf.where(field, start, 0), tf.where(field, end, 0),
                    field))]
    return (count + 1, tf.where(field, end, spans.stop), sound, *collected)

  arrays = [tf.TensorArray(dtype, size=0, dynamic_size=True)
            for dtype in (tf.int64, tf.int64, tf.bool)] if collect else []
  # At least one pass, so that the arrays are never empty.
  _, _, sound, *arrays = tf.while_loop(
      lambda count, pos, *_: tf.logical_or(
          count == 0, tf.reduce_any(pos < spans.stop)),
      body, (tf.constant(0), spans.start,
             tf.ones_like(spans.present), *arrays))
  sound = tf.reduce_all(sound, axis=1)
  if not collect:
    return None, sound
  rows = tf.shape(spans.start)[0]
  return _Spans(*[tf.reshape(tf.transpose(array.stack(), [1, 2, 0]),
                             [rows, -1]) for array in arrays]), sound


def _message(records: tf.Tensor, spans: _Spans, numbers: Tuple[int, ...],
             oneof: bool = False,
             required: bool = False) -> Tuple[Dict[int, _Spans], tf.Tensor]:
  """The singular fields of each message (e.g. a feature entry's).

  Args:
    records: 1-D serialized records.
    spans: The messages.
    numbers: Their fields, each at most once, in this order.
    oneof: At most one of the fields (a Feature's lists).
    required: Every field (in the messages present).

  Returns:
    (fields, sound): by field number, its bytes as spans like `spans`; a
    bool per record: its messages hold only these fields, laid out so.
  """
  zeros = tf.zeros_like(spans.start)
  fields = {number: _Spans(zeros, zeros, tf.zeros_like(spans.present))
            for number in numbers}
  pos, last = spans.start, zeros
  for _ in range(1 if oneof else len(numbers)):
    tag, start, end, readable = _read(records, pos, spans.stop)
    # A field of the message, after the last one read.
    readable = tf.logical_and(readable, tag > last)
    found = False
    for number, field in fields.items():
      this = tf.logical_and(readable, tf.equal(tag, _tag(number)))
      fields[number] = _Spans(tf.where(this, start, field.start),
                              tf.where(this, end, field.stop),
                              tf.logical_or(this, field.present))
      found = tf.logical_or(found, this)
    last = tf.where(found, tag, last)
    pos = tf.where(found, end, pos)
  sound = tf.equal(pos, spans.stop)
  if required:
    sound = tf.logical_and(sound, tf.logical_or(
        tf.logical_not(spans.present),
        tf.reduce_all(tf.stack([field.present for field in fields.values()]),
                      axis=0)))
  return fields, tf.reduce_all(sound, axis=1)


def _features_sound(records: tf.Tensor, features: _Spans) -> tf.Tensor:
  """A bool per record: its `Features` are sound (see `_sound`)."""
  entries, entries_sound = _fields_of(records, features)
  entry, entry_sound = _message(records, entries, (1, 2), required=True)
  return tf.reduce_all(tf.stack([
      entries_sound, entry_sound, _feature_sound(records, entry[2])]), axis=0)


def _feature_sound(records: tf.Tensor, features: _Spans) -> tf.Tensor:
  """A bool per record: its `Feature`s are sound (see `_sound`)."""
  lists, sound = _message(records, features, (1, 2, 3), oneof=True)
  _, values_sound = _fields_of(records, lists[1], collect=False)
  return tf.logical_and(sound, values_sound)


def _sound(serialized: tf.Tensor, is_sequence_example: bool) -> tf.Tensor:
  """A bool per record of the 1-D batch: it is sound.

  Sound: laid out as serializers write it, which TensorFlow's fast parser
  reads with the same lengths: every field length-delimited, with a
  one-byte tag, a minimal varint length and its bytes within its message;
  each message holding only its own fields, singular ones at most once and
  in order (feature entries a key, then a value; a Feature one of its
  lists; the bytes of float and int64 lists, which the parser reads with
  bounds checks, are not read). Every length is checked, down to those of
  the bytes_list values.
  """
  lengths = tf.cast(tf.strings.length(serialized), tf.int64)[:, None]
  whole = _Spans(tf.zeros_like(lengths), lengths,
                 tf.ones_like(lengths, tf.bool))
  if not is_sequence_example:
    example, sound = _message(serialized, whole, (1,))
    return tf.logical_and(sound, _features_sound(serialized, example[1]))
  example, sound = _message(serialized, whole, (1, 2))
  lists, lists_sound = _fields_of(serialized, example[2])
  entry, entry_sound = _message(serialized, lists, (1, 2), required=True)
  steps, steps_sound = _fields_of(serialized, entry[2])
  return tf.reduce_all(tf.stack([
      sound, lists_sound, entry_sound, steps_sound,
      _features_sound(serialized, example[1]),
      _feature_sound(serialized, steps)]), axis=0)


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
