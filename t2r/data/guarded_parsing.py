"""Parses batches of records; a record that fails names its file and feature.

The fast path is the plain batched parse function. Each batch is parsed in a
small nested dataset whose errors are caught (`ignore_errors`); only when a
batch fails does a fallback run, which parses the batch record by record and
spec by spec to find the culprits and say why (a broken wire format, a
missing feature, a wrong type or number of values, a value out of the
dtype's range, an image that does not decode). By default it raises an
InvalidArgumentError naming the record ('record 7 of /data/a.tfrecord'), the
feature and the reason; with `skip_corrupt=True` it drops the bad records,
logs and counts them, and the batch comes out smaller by that many.

Everything runs inside the tf.data graph, the diagnosis included: a
`tf.py_function` there can keep a failing job from ever exiting (see
`corrupt_record_log`).
"""

import functools
from typing import Any, Callable, Optional, Tuple

import tensorflow as tf

from t2r import specs
from t2r.data import corrupt_record_log
from t2r.data import parsing
from t2r.data import record_guard
from t2r.data import record_layout
from t2r.specs import feature_dict

ParseFn = Callable[[Any], Any]

_FIX = ('Fix or remove the file, or pass skip_corrupt_records=True to the '
        'input generator to skip such records.')


def _one_record(record: Any) -> Any:
  """A batch of one record (or one record per stream)."""
  return tf.nest.map_structure(lambda strings: strings[None], record)


def _stream(serialized: Any, key: str) -> Any:
  return serialized[key] if isinstance(serialized, dict) else serialized


def _gather(serialized: Any, indices: tf.Tensor) -> Any:
  """The records at `indices` (of every stream)."""
  return tf.nest.map_structure(
      functools.partial(tf.gather, indices=indices), serialized)


def _join(separator: str, first: tf.Tensor, second: tf.Tensor) -> tf.Tensor:
  """Joins non-empty strings elementwise with `separator`."""
  both = tf.logical_and(tf.strings.length(first) > 0,
                        tf.strings.length(second) > 0)
  return tf.strings.join(
      [first, tf.where(both, separator, ''), second])


class _SpecProbe:
  """Tells whether and why one spec fails to parse from records.

  From the spec's raw values (which only fail to parse for a wrong type):
  missing, a wrong number of values, a value out of the dtype's range; for
  images, then whether they decode to the spec's shape.

  Args:
    what: 'feature' or 'label'.
    path: The spec's path.
    spec: The spec.
    layout: The layout of the spec's record stream.
    present: As given to the parse function.
  """

  def __init__(self, what: str, path: str, spec: Any,
               layout: record_layout.StreamLayout,
               present: Optional[frozenset]):
    self._spec = spec
    self.key = layout.dataset_key
    self._is_sequence_example = layout.is_sequence_example
    self._name = specs.spec_name(spec, path)
    self.label = f'{what} `{path}` (name `{self._name}`)'
    # Only records with a sound wire format are probed.
    self._parse_fn = parsing.create_parse_tf_example_fn(
        specs.TensorSpecStruct({path: spec}), present_optional_names=present,
        check_wire_format=False)

  def reasons(self, serialized: Any) -> tf.Tensor:
    """Why the spec fails to parse from each record; '' where it parses."""
    kind = {tf.string: 'bytes', tf.float32: 'float',
            tf.int64: 'int64'}[specs.record_dtype(self._spec)]
    reasons = record_guard.try_map(
        lambda record: self._reason(_one_record(record)), serialized,
        tf.constant(f'is not stored as the {kind}_list the spec reads'))
    if not specs.is_encoded_image_spec(self._spec):
      return reasons
    spec = self._spec
    fine = tf.where(tf.equal(reasons, ''))[:, 0]
    decodes = record_guard.passing(
        lambda record: self._parse_fn(_one_record(record)),
        _gather(serialized, fine))
    failing = tf.boolean_mask(fine, tf.logical_not(decodes))[:, None]
    return tf.tensor_scatter_nd_update(
        reasons, failing, tf.fill(
            tf.shape(failing)[:1],
            f'does not decode to a {tuple(spec.shape[-3:].as_list())} '
            f'{spec.dtype.name} {spec.data_format.upper()} image (a corrupt '
            'image, or one of another size or number of channels)'))

  def _values(self, serialized: Any) -> tf.RaggedTensor:
    """The spec's raw values in a batch of one record (fails on a type)."""
    feature = {self._name: tf.io.RaggedFeature(
        specs.record_dtype(self._spec), row_splits_dtype=tf.int64)}
    strings = _stream(serialized, self.key)
    if not self._is_sequence_example:
      return tf.io.parse_example(strings, feature)[self._name]
    is_sequence = self._spec.is_sequence
    context, sequence, _ = tf.io.parse_sequence_example(
        strings, context_features=None if is_sequence else feature,
        sequence_features=feature if is_sequence else None)
    return (sequence if is_sequence else context)[self._name]

  def _reason(self, serialized: Any) -> tf.Tensor:
    """Why the raw values of one record do not fit the spec; '' if they do."""
    spec = self._spec
    values = self._values(serialized)
    # The value counts of the record (one per step of a sequence).
    counts = (values.values.row_lengths()
              if spec.is_sequence else values.row_lengths())
    flat = values.flat_values
    reason = tf.constant('')
    bounds = parsing.value_range(spec.dtype)
    if bounds is not None and not specs.is_encoded_image_spec(spec):
      low, high = bounds
      outside = tf.logical_or(flat < tf.cast(low, flat.dtype),
                              flat > tf.cast(high, flat.dtype))
      value = tf.strings.as_string(
          tf.boolean_mask(flat, outside)[:1], **(
              {'shortest': True} if flat.dtype.is_floating else {}))
      reason = tf.where(
          tf.reduce_any(outside),
          tf.strings.join([
              'holds ', tf.strings.reduce_join(value),
              f', outside the {spec.dtype.name} range [{low:.15g}, '
              f'{high:.15g}]'
          ]), reason)
    if spec.varlen_default_value is None:
      expected = feature_dict.stored_shape(spec).num_elements()
      step = ' per step' if spec.is_sequence else ''
      wrong = tf.boolean_mask(counts, tf.not_equal(counts, expected))[:1]
      reason = tf.where(
          tf.size(wrong) > 0,
          tf.strings.join([
              'holds ', tf.strings.reduce_join(tf.strings.as_string(wrong)),
              f' values{step}, but the spec expects {expected} (stored '
              f'shape {tuple(feature_dict.stored_shape(spec).as_list())})'
          ]), reason)
    if spec.is_optional or spec.is_sequence:
      return reason  # May be missing (a sequence of no steps).
    return tf.where(tf.equal(tf.size(flat), 0),
                    f'is missing: the record has no feature `{self._name}`',
                    reason)


class _Diagnosis:
  """Finds, inside the graph, which records of a batch fail and why.

  A record fails if its wire format is broken or one of its specs does not
  parse from it (records that fail only together are not found).

  Args:
    feature_spec: The feature spec the parse function reads.
    label_spec: The label spec it reads.
    present_optional_names: As given to the parse function.
  """

  def __init__(self, feature_spec: Any, label_spec: Any,
               present_optional_names: Optional[frozenset]):
    flat_specs = record_layout.flat_feature_and_label_specs(feature_spec,
                                                            label_spec)
    self._layouts = record_layout.stream_layouts(flat_specs)
    layout_of = {}
    for key, layout in self._layouts.items():
      for name in layout.specs_by_name:
        layout_of[name, key] = layout
    self._probes = [
        _SpecProbe(what[:-1], path, spec,
                   layout_of[specs.spec_name(spec, path),
                             getattr(spec, 'dataset_key', '')],
                   present_optional_names)
        for what, flat in flat_specs
        for path, spec in flat.items()
        if not record_layout.is_derived_length(flat, path)
    ]

  def find_bad(self, serialized: Any,
               where: Any) -> Tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """Returns (bad, where, reasons): a bool, string, string per record.

    `where` names the record (of the stream that fails, for several
    streams); `reasons` is '' for good records.
    """
    first_stream = next(iter(self._layouts))
    culprit = _stream(where, first_stream)
    count = tf.shape(culprit)[0]
    reasons = tf.fill([count], '')
    readable = tf.ones([count], tf.bool)
    for key, layout in self._layouts.items():
      broken = tf.logical_not(record_guard.valid_records(
          _stream(serialized, key), layout.is_sequence_example))
      problem = record_guard.wire_format_problem(layout.is_sequence_example)
      reasons = tf.where(broken, f'it {problem}', reasons)
      culprit = tf.where(broken, _stream(where, key), culprit)
      readable = tf.logical_and(readable, tf.logical_not(broken))
    sound = tf.where(readable)[:, 0]
    subset = _gather(serialized, sound)
    for probe in self._probes:
      found = probe.reasons(subset)
      failing = tf.where(tf.not_equal(found, ''))[:, 0]
      indices = tf.gather(sound, failing)[:, None]
      reason = tf.strings.join([probe.label, ' ', tf.gather(found, failing)])
      reasons = tf.tensor_scatter_nd_update(
          reasons, indices,
          _join('; ', tf.gather_nd(reasons, indices), reason))
      culprit = tf.tensor_scatter_nd_update(
          culprit, indices,
          tf.gather_nd(_stream(where, probe.key), indices))
    bad = tf.not_equal(reasons, '')
    return bad, culprit, reasons


def _raise_for_bad(diagnosis: _Diagnosis, element_spec: Any,
                   serialized: Any, where: Any) -> Any:
  """Fails naming the first bad record; returns zeros of the parsed structure.

  The zeros only give the fallback branch the parsed structure and shapes.
  """
  bad, culprit, reasons = diagnosis.find_bad(serialized, where)
  any_bad = tf.reduce_any(bad)

  def message():
    first = tf.argmax(tf.cast(bad, tf.int32))
    count = tf.strings.as_string(tf.reduce_sum(tf.cast(bad, tf.int32)))
    files = tf.strings.reduce_join(tf.unique(tf.strings.regex_replace(
        tf.concat([tf.reshape(w, [-1]) for w in tf.nest.flatten(where)], 0),
        '^record [0-9]+ of ', '')).y, separator=', ')
    return tf.cond(
        any_bad,
        lambda: tf.strings.join([
            'Could not parse ', culprit[first], ' (', count, ' bad in its '
            'batch): ', reasons[first], '. ', _FIX]),
        lambda: tf.strings.join([
            'A batch of records failed to parse, but each record parses on '
            'its own; the batch holds records of ', files, '.']))

  check = record_guard.require(tf.constant(False), message)
  with tf.control_dependencies([check]):
    return tf.nest.map_structure(
        lambda spec: tf.zeros([d or 0 for d in spec.shape], spec.dtype),
        element_spec)


def _skip_bad(diagnosis: _Diagnosis, parse_fn: ParseFn,
              log: corrupt_record_log.CorruptRecordLog, serialized: Any,
              where: Any) -> Any:
  """Logs and drops the bad records; parses the others."""
  bad, culprit, reasons = diagnosis.find_bad(serialized, where)
  logged = log.record_skipped(tf.boolean_mask(culprit, bad),
                              tf.boolean_mask(reasons, bad))
  good = tf.where(tf.logical_not(bad))[:, 0]
  with tf.control_dependencies([logged]):
    return parse_fn(_gather(serialized, good))


def parse_batches(dataset: tf.data.Dataset,
                  parse_fn: ParseFn,
                  feature_spec: Any,
                  label_spec: Any,
                  present_optional_names: Optional[frozenset],
                  skip_corrupt: bool,
                  log: corrupt_record_log.CorruptRecordLog,
                  num_parallel_batches: int,
                  deterministic: bool) -> tf.data.Dataset:
  """Maps batches of `(serialized, where)` to parsed `(features, labels)`.

  Example:
    >>> batches = parse_batches(records.batch(32), parse_fn, feature_spec,
    ...                         label_spec, None, skip_corrupt=False,
    ...                         log=CorruptRecordLog(),
    ...                         num_parallel_batches=4, deterministic=True)

  Args:
    dataset: Batches of `(serialized, where)`: 1-D string tensors (`where`
      as in 'record 7 of /data/a.tfrecord', see `record_reading`), or
      `{dataset_key: 1-D strings}` dicts for several record streams.
    parse_fn: The batched parse function (`parsing.create_parse_tf_example_fn`).
    feature_spec: The feature spec the parse function reads.
    label_spec: The label spec the parse function reads, or None.
    present_optional_names: As given to the parse function.
    skip_corrupt: Drop records that fail instead of raising.
    log: Where skipped records are counted.
    num_parallel_batches: How many batches are parsed concurrently.
    deterministic: Keep the batch order.

  Returns:
    A dataset of what `parse_fn` returns: `(features, labels)`, or the
    features when `label_spec` is None.
  """
  diagnosis = _Diagnosis(feature_spec, label_spec, present_optional_names)

  # Plain TensorFlow code: autograph would only slow down tracing (and that
  # of every function it calls).
  @tf.autograph.experimental.do_not_convert
  def parse_or_recover(serialized, where):
    parsed = tf.data.Dataset.from_tensors(serialized).map(
        parse_fn).ignore_errors()
    if skip_corrupt:
      recover = functools.partial(_skip_bad, diagnosis, parse_fn, log)
    else:
      recover = functools.partial(_raise_for_bad, diagnosis,
                                  parsed.element_spec)
    fallback = tf.data.Dataset.from_tensors((serialized, where)).map(recover)
    return parsed.concatenate(fallback).take(1)

  parsed = dataset.interleave(
      parse_or_recover,
      cycle_length=num_parallel_batches,
      block_length=1,
      num_parallel_calls=tf.data.AUTOTUNE,
      deterministic=deterministic)
  if skip_corrupt:
    # A batch of nothing but bad records leaves nothing to train on.
    parsed = parsed.filter(
        lambda *batch: tf.shape(tf.nest.flatten(batch)[0])[0] > 0)
  return parsed

