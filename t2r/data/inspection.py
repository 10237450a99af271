"""`t2r inspect`: what a set of TFRecords holds, checked against specs.

One streaming pass over the records (a parallel tf.data pipeline like the
input generator's: files interleaved, records batched, one lenient batched
parse per batch) counts, per stored spec (feature or label):

  present / missing records, shape mismatches (a wrong number of values, an
  image of another size), dtype mismatches (another value list kind),
  values outside the dtype's range, undecodable images, NaN / inf values,
  and min / max / mean of the values (for images: of the pixels of every
  `PIXEL_STRIDE`-th row and column, a sixteenth of them);

per file, its records and damaged records (an unreadable part of the file,
a broken wire format, a spec that does not parse), each named as in 'record
7 of /data/a.tfrecord' (GZIP / ZLIB files are read up to their first damage,
which TensorFlow logs but the report cannot count, see `record_reading`).
For episode data (SequenceExample records, one
episode each; or transitions with an `episode_key` feature) it also
reports episode lengths, idle stretches (`episode_checks.find_idle_stretches`
on the actions: by default no action change beyond `idle_tolerance` for
`idle_min_steps` steps), duplicate episodes (equal action sequences) and,
with an environment, label replay (`episode_checks.check_episodes`, the
BC-Z data checks).

`InspectionReport.ok` is False when a required (non-optional) spec is
missing, misshaped, of another dtype, out of range or undecodable in some
record, or no record could be read: what would fail a training job.
`write_contact_sheet` draws sampled images with their names and the values
of the other specs (`t2r.data.contact_sheet`).

Example:
  >>> report = inspect_records('/data/train-*.tfrecord', feature_spec,
  ...                          label_spec)
  >>> report.ok, report.num_records
  (False, 2000)
  >>> report.problems[0]
  "'state/image' (name 'image'): records 3 misshaped, e.g. record 17 of
  /data/train-00001.tfrecord: `image` decodes to (512, 640, 3), the spec
  expects (472, 472, 3)"
"""

import collections
import dataclasses
import hashlib
import json
import math
import os
import re
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import tensorflow as tf

from t2r import atomic_files
from t2r import specs
from t2r.data import corrupt_record_log
from t2r.data import episode_checks
from t2r.data import file_patterns as file_patterns_lib
from t2r.data import parsing
from t2r.data import record_guard
from t2r.data import record_layout
from t2r.data import record_reading
from t2r.specs import feature_dict

# Damaged records listed by name in the report (all are counted).
MAX_LISTED_RECORDS = 1000
# Episodes listed with their idle stretches in the report.
MAX_LISTED_EPISODES = 100
# Image statistics are of every PIXEL_STRIDE-th row and column.
PIXEL_STRIDE = 4
_WHERE = re.compile(r'^record (\d+) of (.*)$')


@dataclasses.dataclass
class FeatureStats:
  """What one stored spec looks like in the records.

  Attributes:
    name: The name in the records.
    paths: The spec paths that read it ("'state/image'", "'action' in
      labels").
    spec: The spec, as a string.
    required: The spec is not optional (and not a sequence, which may have
      no steps).
    present: Records holding it.
    missing: Records without it.
    shape_mismatch: Records with a wrong number of values, or images that
      decode to another shape.
    dtype_mismatch: Records storing it as another value list kind.
    out_of_range: Records with values outside the spec dtype's range.
    undecodable: Records with an image that does not decode.
    nan: NaN values.
    inf: Infinite values.
    count: Finite values the min / max / mean are over (for images: the
      pixel values of every `PIXEL_STRIDE`-th row and column).
    min: The smallest finite value (None when there is none).
    max: The largest.
    mean: Their mean.
    total: Their sum.
  """
  name: str
  paths: List[str]
  spec: str
  required: bool
  present: int = 0
  missing: int = 0
  shape_mismatch: int = 0
  dtype_mismatch: int = 0
  out_of_range: int = 0
  undecodable: int = 0
  nan: int = 0
  inf: int = 0
  count: int = 0
  min: Optional[float] = None
  max: Optional[float] = None
  mean: Optional[float] = None
  total: float = 0.0

  @property
  def bad_records(self) -> int:
    """Records in which the spec would not parse."""
    return (self.missing * self.required + self.shape_mismatch +
            self.dtype_mismatch + self.out_of_range + self.undecodable)

  def to_json(self) -> Dict[str, Any]:
    return dataclasses.asdict(self)


@dataclasses.dataclass
class InspectionReport:
  """What `inspect_records` found.

  Attributes:
    file_patterns: What was inspected.
    num_records: Records read (damaged parts of files not counted).
    seconds: Wall time of the pass.
    features: Per stored spec name, a `FeatureStats`.
    files: Per file, {'records': int, 'damaged_records': int,
      'unreadable_bytes': int}.
    damaged_records: The first `MAX_LISTED_RECORDS` damaged records,
      {'record': 'record 7 of /d/a.tfrecord', 'reason': ...}.
    num_damaged_records: All damaged records.
    episodes: The episode summary (None for data without episodes): counts,
      lengths, idle stretches, duplicates, label replay.
    samples: Sampled records for the contact sheet: {'record': where,
      'values': {name: value}} (images as encoded bytes).
  """
  file_patterns: str
  num_records: int
  seconds: float
  features: Dict[str, FeatureStats]
  files: Dict[str, Dict[str, int]]
  damaged_records: List[Dict[str, str]]
  num_damaged_records: int
  episodes: Optional[Dict[str, Any]] = None
  samples: List[Dict[str, Any]] = dataclasses.field(default_factory=list)

  @property
  def records_per_second(self) -> float:
    return self.num_records / max(self.seconds, 1e-9)

  @property
  def problems(self) -> List[str]:
    """One line per required spec that does not parse in some record."""
    found = []
    if not self.num_records:
      found.append(f'no record could be read from {self.file_patterns!r}')
    for stats in self.features.values():
      if not stats.required or not stats.bad_records:
        continue
      kinds = [f'{getattr(stats, kind)} {label}' for kind, label in (
          ('missing', 'missing'), ('shape_mismatch', 'misshaped'),
          ('dtype_mismatch', 'of another dtype'),
          ('out_of_range', 'out of range'),
          ('undecodable', 'undecodable')) if getattr(stats, kind)]
      example = next((entry for entry in self.damaged_records
                      if f'`{stats.name}`' in entry['reason']), None)
      where = (f', e.g. {example["record"]}: {example["reason"]}'
               if example else '')
      found.append(f'{", ".join(stats.paths)} (name {stats.name!r}): '
                   f'records {", ".join(kinds)}{where}')
    return found

  @property
  def ok(self) -> bool:
    """No required spec fails in any record, and records were read."""
    return not self.problems

  @property
  def label_ranges(self) -> Dict[str, Dict[str, Optional[float]]]:
    """{name: {'min', 'max', 'mean'}} of the specs read as labels."""
    return {name: {'min': s.min, 'max': s.max, 'mean': s.mean}
            for name, s in self.features.items()
            if any(path.endswith(' in labels') for path in s.paths)}

  def to_json(self) -> Dict[str, Any]:
    """The JSON report (`write_json`), samples left out."""
    return {
        'file_patterns': self.file_patterns,
        'ok': self.ok,
        'problems': self.problems,
        'num_records': self.num_records,
        'seconds': self.seconds,
        'records_per_second': self.records_per_second,
        'features': {name: s.to_json() for name, s in self.features.items()},
        'label_ranges': self.label_ranges,
        'files': self.files,
        'num_damaged_records': self.num_damaged_records,
        'damaged_records': self.damaged_records,
        'episodes': self.episodes,
    }

  def write_json(self, path: str) -> str:
    """Writes `to_json()` to `path` atomically; returns the path."""
    atomic_files.write_atomically(
        path, json.dumps(self.to_json(), indent=1, default=_json_default) +
        '\n')
    return path

  def summary(self) -> str:
    """A few lines for a terminal."""
    lines = [f'{self.num_records} records in {len(self.files)} files '
             f'({self.records_per_second:.0f} records/s), '
             f'{self.num_damaged_records} damaged records: '
             f'{"OK" if self.ok else "PROBLEMS"}']
    for stats in self.features.values():
      values = ('' if stats.min is None else
                f', min {stats.min:.4g} max {stats.max:.4g} mean '
                f'{stats.mean:.4g}')
      nonfinite = (f', {stats.nan} NaN, {stats.inf} inf'
                   if stats.nan or stats.inf else '')
      lines.append(f'  {stats.name}: present {stats.present}, missing '
                   f'{stats.missing}, bad {stats.bad_records}{values}'
                   f'{nonfinite}')
    if self.episodes:
      e = self.episodes
      lines.append(
          f'  episodes: {e["num_episodes"]}, length {e["length"]}, '
          f'{e["idle_episodes"]} idle, {e["idle_stretches"]} idle '
          f'stretches, {e["duplicate_episodes"]} duplicates'
          + (f', {e["checks"]}' if e.get('checks') else ''))
    lines.extend(f'  problem: {problem}' for problem in self.problems)
    return '\n'.join(lines)


def _json_default(value: Any) -> Any:
  if isinstance(value, (np.integer,)):
    return int(value)
  if isinstance(value, (np.floating,)):
    return float(value)
  raise TypeError(f'{type(value).__name__} is not JSON serializable')


@dataclasses.dataclass(frozen=True)
class _Column:
  """A stored spec: how it is parsed and measured."""
  name: str
  spec: Any
  is_image: bool
  # Values per entry (per step of a sequence); None for varlen specs.
  expected: Optional[int]

  @property
  def record_dtype(self) -> tf.DType:
    return specs.record_dtype(self.spec)

  @property
  def is_sequence(self) -> bool:
    return bool(self.spec.is_sequence)

  @property
  def required(self) -> bool:
    """Must be in every record (a sequence may have no steps)."""
    return not self.spec.is_optional and not self.is_sequence


def _columns(layout: record_layout.StreamLayout) -> List[_Column]:
  columns = []
  for name, spec in layout.specs_by_name.items():
    fixed = spec.varlen_default_value is None
    columns.append(_Column(
        name=name, spec=spec, is_image=specs.is_encoded_image_spec(spec),
        expected=(feature_dict.stored_shape(spec).num_elements()
                  if fixed else None)))
  return columns


def _raw_features(columns: Sequence[_Column]) -> Dict[str, Any]:
  return {c.name: tf.io.RaggedFeature(c.record_dtype, row_splits_dtype=tf.int64)
          for c in columns}


def _parse_raw(serialized: tf.Tensor, columns: Sequence[_Column],
               is_sequence_example: bool) -> Dict[str, tf.RaggedTensor]:
  """Each column's raw values: [records, values] or [records, steps, values]."""
  if not is_sequence_example:
    return tf.io.parse_example(serialized, _raw_features(columns))
  context = _raw_features([c for c in columns if not c.is_sequence])
  sequence = _raw_features([c for c in columns if c.is_sequence])
  parsed_context, parsed_sequence, _ = tf.io.parse_sequence_example(
      serialized, context_features=context or None,
      sequence_features=sequence or None)
  return {**parsed_context, **parsed_sequence}


def _scatter_rows(ragged: tf.RaggedTensor, indices: tf.Tensor,
                  count: tf.Tensor) -> tf.RaggedTensor:
  """`ragged`'s rows at `indices` of `count` rows; the other rows empty."""
  lengths = tf.scatter_nd(indices[:, None], ragged.row_lengths(),
                          tf.cast(count, tf.int64)[None])
  return tf.RaggedTensor.from_row_lengths(ragged.values, lengths)


class _BatchInspector:
  """The in-graph measurement of one batch of (serialized, where) records."""

  def __init__(self, layout: record_layout.StreamLayout,
               tracked: Sequence[str]):
    self._columns = _columns(layout)
    self._is_sequence_example = layout.is_sequence_example
    self._reads_strings = any(c.record_dtype == tf.string
                              for c in self._columns)
    self._tracked = [c for c in self._columns if c.name in tracked]

  @property
  def columns(self) -> List[_Column]:
    return self._columns

  def _fast(self, serialized):
    parsed = _parse_raw(serialized, self._columns, self._is_sequence_example)
    ones = tf.ones_like(serialized, tf.bool)
    return parsed, ones, {c.name: ones for c in self._columns}

  def _slow(self, serialized):
    """Record by record: which are sound, which columns parse where."""
    count = tf.size(serialized)
    valid = record_guard.valid_records(serialized, self._is_sequence_example)
    sound = tf.where(valid)[:, 0]
    records = tf.gather(serialized, sound)
    parsed, type_ok = {}, {}
    for column in self._columns:
      parses = record_guard.passing(
          lambda record, c=column: tuple(tf.nest.flatten(
              _parse_raw(record[None], [c], self._is_sequence_example),
              expand_composites=True)), records)
      good = tf.where(parses)[:, 0]
      values = _parse_raw(tf.gather(records, good), [column],
                          self._is_sequence_example)[column.name]
      parsed[column.name] = _scatter_rows(values, tf.gather(sound, good),
                                          count)
      type_ok[column.name] = tf.scatter_nd(
          tf.gather(sound, good)[:, None], tf.ones_like(good, tf.bool),
          tf.cast(count, tf.int64)[None])
    return parsed, valid, type_ok

  def _parsed(self, serialized):
    fast = tf.data.Dataset.from_tensors(serialized)
    if self._reads_strings:
      # A broken wire format can crash the parser on bytes values.
      fast = fast.filter(
          lambda s: record_guard.is_valid(s, self._is_sequence_example))
    fast = fast.map(self._fast).ignore_errors()
    slow = tf.data.Dataset.from_tensors(serialized).map(self._slow)
    return fast.concatenate(slow).take(1).get_single_element()

  def __call__(self, serialized: tf.Tensor, where: tf.Tensor):
    parsed, valid, type_ok = self._parsed(serialized)
    count = tf.size(serialized)
    problem = record_guard.wire_format_problem(self._is_sequence_example)
    reasons = tf.where(valid, '', f'it {problem}')
    stats = {}
    tracked = {}
    for column in self._columns:
      column_stats, column_reasons = self._measure(
          column, parsed[column.name], valid, type_ok[column.name], count)
      stats[column.name] = column_stats
      reasons = _join_reasons(reasons, column_reasons)
    for column in self._tracked:
      # (entries per record, values per entry, values): a sequence's entries
      # are its steps, a plain spec's values its only entry.
      values = parsed[column.name]
      tracked[column.name] = (
          values.row_lengths(),
          (values.values.row_lengths() if column.is_sequence else
           values.row_lengths()), tf.cast(values.flat_values, tf.float64))
    bad = tf.strings.length(reasons) > 0
    files = tf.strings.regex_replace(where, '^record [0-9]+ of ', '')
    names, _, file_counts = tf.unique_with_counts(files)
    return {
        'stats': stats,
        'bad_where': tf.boolean_mask(where, bad),
        'bad_reasons': tf.boolean_mask(reasons, bad),
        'file_names': names,
        'file_counts': file_counts,
        'num_records': count,
        'tracked': tracked,
        'where': where if self._tracked else tf.zeros([0], tf.string),
        'sample': serialized[:1],
        'sample_where': where[:1],
    }

  def _measure(self, column: _Column, values: tf.RaggedTensor,
               valid: tf.Tensor, type_ok: tf.Tensor, count: tf.Tensor):
    """The column's counts and value stats, and a reason per bad record."""
    spec = column.spec
    considered = tf.logical_and(valid, type_ok)
    lengths = values.row_lengths()
    present = tf.logical_and(considered, lengths > 0)
    if column.is_sequence:
      per_step = values.values.row_lengths()
      value_lengths = per_step
      if column.expected is None:
        misshaped = tf.zeros_like(present)
      else:
        misshaped = tf.reduce_any(tf.RaggedTensor.from_row_lengths(
            tf.not_equal(per_step, column.expected), lengths), axis=1)
      entries_per_record = lengths
    else:
      value_lengths = lengths
      misshaped = (tf.zeros_like(present) if column.expected is None else
                   tf.not_equal(lengths, column.expected))
      entries_per_record = tf.ones_like(lengths)
    misshaped = tf.logical_and(present, misshaped)
    missing = tf.logical_and(considered, tf.logical_not(lengths > 0))
    good = tf.logical_and(present, tf.logical_not(misshaped))
    # The flat values of the good records.
    entry_good = tf.repeat(good, entries_per_record)
    flat_good = tf.repeat(entry_good, value_lengths)
    flat = tf.boolean_mask(values.flat_values, flat_good)
    label = f'`{column.name}`'
    reasons = []
    stats = {
        'present': _count(present),
        'missing': _count(missing),
        'dtype_mismatch': _count(tf.logical_and(valid,
                                                tf.logical_not(type_ok))),
    }
    reasons.append(tf.where(tf.logical_and(valid, tf.logical_not(type_ok)),
                            f'{label} is not stored as the '
                            f'{_list_kind(column)} the spec reads', ''))
    if column.required:
      reasons.append(tf.where(missing, f'{label} is missing', ''))
    expected_text = (f'{column.expected} values' + (
        ' per step' if column.is_sequence else ''))
    shape_reasons = tf.where(
        misshaped, tf.strings.join([
            f'{label} holds ',
            tf.strings.as_string(tf.reduce_max(
                tf.RaggedTensor.from_row_lengths(value_lengths,
                                                 entries_per_record),
                axis=1) if column.is_sequence else value_lengths),
            f' values, the spec expects {expected_text}']), '')
    out_of_range = tf.zeros_like(good)
    undecodable = tf.zeros_like(good)
    if column.is_image:
      record_of_value = tf.repeat(
          tf.repeat(tf.range(count, dtype=tf.int64), entries_per_record),
          value_lengths)
      image_records = tf.boolean_mask(record_of_value, flat_good)
      shapes, pixel_stats, decodes = _decode_images(flat, spec)
      expected_shape = spec.shape[-3:].as_list()
      wrong_shape = tf.logical_and(decodes, tf.reduce_any(
          tf.not_equal(shapes, expected_shape), axis=1))
      count64 = tf.cast(count, tf.int64)
      undecodable = tf.math.unsorted_segment_max(
          tf.cast(tf.logical_not(decodes), tf.int32), image_records,
          count64) > 0
      image_misshaped = tf.math.unsorted_segment_max(
          tf.cast(wrong_shape, tf.int32), image_records, count64) > 0
      num_images = tf.size(image_records, out_type=tf.int64)
      # Per record, its last misshaped image (the padding row if none).
      misshaped_image = tf.math.unsorted_segment_max(
          tf.where(wrong_shape, tf.range(num_images), -1), image_records,
          count64)
      first_shape = tf.gather(
          tf.concat([shapes, tf.zeros([1, 3], tf.int64)], 0),
          tf.where(misshaped_image < 0, num_images, misshaped_image))
      shape_reasons = tf.where(
          image_misshaped, tf.strings.join([
              f'{label} decodes to (',
              tf.strings.reduce_join(tf.strings.as_string(first_shape),
                                     axis=1, separator=', '),
              f'), the spec expects {tuple(expected_shape)}']),
          shape_reasons)
      misshaped = tf.logical_or(misshaped, image_misshaped)
      reasons.append(tf.where(undecodable, f'{label} does not decode as '
                              f'{spec.data_format.upper()}', ''))
      stats.update(pixel_stats)
    else:
      bounds = parsing.value_range(spec.dtype)
      if column.record_dtype != tf.string:
        finite = (flat if not flat.dtype.is_floating else
                  tf.boolean_mask(flat, tf.math.is_finite(flat)))
        finite = tf.cast(finite, tf.float64)
        stats.update({
            'nan': (_count(tf.math.is_nan(flat)) if flat.dtype.is_floating
                    else tf.constant(0, tf.int64)),
            'inf': (_count(tf.math.is_inf(flat)) if flat.dtype.is_floating
                    else tf.constant(0, tf.int64)),
            'count': tf.size(finite, out_type=tf.int64),
            'min': tf.reduce_min(tf.concat([finite, [math.inf]], 0)),
            'max': tf.reduce_max(tf.concat([finite, [-math.inf]], 0)),
            'sum': tf.reduce_sum(finite),
        })
        if bounds is not None:
          low, high = bounds
          outside = tf.logical_or(flat < tf.cast(low, flat.dtype),
                                  flat > tf.cast(high, flat.dtype))
          value_records = tf.boolean_mask(tf.repeat(
              tf.repeat(tf.range(count, dtype=tf.int64), entries_per_record),
              value_lengths), flat_good)
          out_of_range = tf.math.unsorted_segment_max(
              tf.cast(outside, tf.int32), value_records,
              tf.cast(count, tf.int64)) > 0
          reasons.append(tf.where(
              out_of_range, f'{label} holds values outside the '
              f'{spec.dtype.name} range [{low:.15g}, {high:.15g}]', ''))
    reasons.append(shape_reasons)
    stats['shape_mismatch'] = _count(misshaped)
    stats['out_of_range'] = _count(out_of_range)
    stats['undecodable'] = _count(undecodable)
    joined = reasons[0]
    for reason in reasons[1:]:
      joined = _join_reasons(joined, reason)
    return stats, joined


def _join_reasons(first: tf.Tensor, second: tf.Tensor) -> tf.Tensor:
  """Joins non-empty reasons elementwise with '; '."""
  both = tf.logical_and(tf.strings.length(first) > 0,
                        tf.strings.length(second) > 0)
  return tf.strings.join([first, tf.where(both, '; ', ''), second])


def _count(mask: tf.Tensor) -> tf.Tensor:
  return tf.reduce_sum(tf.cast(mask, tf.int64))


def _list_kind(column: _Column) -> str:
  return {tf.string: 'bytes_list', tf.float32: 'float_list',
          tf.int64: 'int64_list'}[column.record_dtype]


def _decode_images(encoded: tf.Tensor, spec: Any):
  """(shapes [N, 3], pixel stats, decodes [N]) of the encoded images."""
  channels = spec.shape[-1]

  def decode(image):
    # As the input pipeline decodes (`image_decoding`): what it cannot
    # decode is undecodable.
    if spec.data_format == 'png':
      return tf.io.decode_png(image, channels=channels, dtype=spec.dtype)
    return tf.io.decode_jpeg(image, channels=channels)

  def measure(image):
    pixels = decode(image)
    # Statistics of every PIXEL_STRIDE-th row and column: reducing every
    # pixel cost a fifth of the decode time.
    sampled = pixels[::PIXEL_STRIDE, ::PIXEL_STRIDE]
    total = (tf.reduce_sum(tf.cast(sampled, tf.int64)) if spec.dtype.is_integer
             else tf.reduce_sum(tf.cast(sampled, tf.float64)))
    return (tf.cast(tf.shape(pixels), tf.int64),
            tf.stack([tf.cast(tf.reduce_min(sampled), tf.float64),
                      tf.cast(tf.reduce_max(sampled), tf.float64),
                      tf.cast(total, tf.float64),
                      tf.cast(tf.size(sampled), tf.float64)]))

  def measure_all(images):
    return tf.map_fn(
        measure, images, parallel_iterations=16,
        fn_output_signature=(tf.TensorSpec([3], tf.int64),
                             tf.TensorSpec([4], tf.float64)))

  fast = tf.data.Dataset.from_tensors(encoded).map(
      lambda images: (measure_all(images), tf.ones_like(images, tf.bool))
  ).ignore_errors()

  def slow(images):
    decodes = record_guard.passing(decode, images)
    good = tf.where(decodes)[:, 0]
    shapes, measured = measure_all(tf.gather(images, good))
    size = tf.size(images, out_type=tf.int64)[None]
    return ((tf.scatter_nd(good[:, None], shapes, tf.concat([size, [3]], 0)),
             tf.scatter_nd(good[:, None], measured,
                           tf.concat([size, [4]], 0))), decodes)

  (shapes, measured), decodes = fast.concatenate(
      tf.data.Dataset.from_tensors(encoded).map(slow)).take(
          1).get_single_element()
  good = tf.boolean_mask(measured, decodes)
  stats = {
      'nan': tf.constant(0, tf.int64),
      'inf': tf.constant(0, tf.int64),
      'count': tf.cast(tf.reduce_sum(good[:, 3]), tf.int64),
      'min': tf.reduce_min(tf.concat([good[:, 0], [math.inf]], 0)),
      'max': tf.reduce_max(tf.concat([good[:, 1], [-math.inf]], 0)),
      'sum': tf.reduce_sum(good[:, 2]),
  }
  return shapes, stats, decodes


def _resolve_name(layout: record_layout.StreamLayout, key: Optional[str],
                  argument: str, required: bool) -> Optional[str]:
  """The stored name of a spec given by name or path; None if absent."""
  if key is None:
    return None
  if key in layout.specs_by_name:
    return key
  for name, paths in layout.paths_by_name.items():
    if any(path == key for _, path in paths):
      return name
  if required:
    raise ValueError(
        f'inspect_records: {argument}={key!r} is neither the name nor the '
        f'path of a spec; the specs store {sorted(layout.specs_by_name)}.')
  return None


def _check_positive(name: str, value: Any, allow_none: bool = False):
  if value is None and allow_none:
    return
  if isinstance(value, bool) or not isinstance(value, int) or value < 1:
    raise ValueError(f'inspect_records: {name} must be a positive int'
                     f'{" or None" if allow_none else ""}, got {value!r}.')


def _split_where(where: str) -> Tuple[str, int]:
  match = _WHERE.match(where)
  return (match.group(2), int(match.group(1))) if match else (where, -1)


class _Accumulator:
  """Sums the batch results of `_BatchInspector` in Python."""

  def __init__(self, layout: record_layout.StreamLayout,
               columns: Sequence[_Column], tracked: Sequence[str],
               num_samples: int):
    self.features = {}
    for column in columns:
      paths = [record_layout.describe_path(structure, path)
               for structure, path in layout.paths_by_name[column.name]]
      self.features[column.name] = FeatureStats(
          name=column.name, paths=paths, spec=repr(column.spec),
          required=column.required)
    self.columns = {c.name: c for c in columns}
    self.tracked = list(tracked)
    self.records: Dict[str, int] = collections.Counter()
    self.damaged: List[Dict[str, str]] = []
    self.num_damaged = 0
    self.damaged_per_file: Dict[str, int] = collections.Counter()
    # Per record with tracked values: (where, {name: flat values}).
    self.tracked_records: List[Tuple[str, Dict[str, np.ndarray]]] = []
    self.samples: List[Tuple[bytes, str]] = []
    self._num_samples = num_samples
    self.num_records = 0

  def add(self, batch: Dict[str, Any]):
    self.num_records += int(batch['num_records'])
    for name, values in batch['stats'].items():
      stats = self.features[name]
      for kind in ('present', 'missing', 'shape_mismatch', 'dtype_mismatch',
                   'out_of_range', 'undecodable', 'nan', 'inf', 'count'):
        if kind in values:
          setattr(stats, kind, getattr(stats, kind) + int(values[kind]))
      if 'sum' in values and int(values['count']):
        stats.total += float(values['sum'])
        low, high = float(values['min']), float(values['max'])
        stats.min = low if stats.min is None else min(stats.min, low)
        stats.max = high if stats.max is None else max(stats.max, high)
    for name, count in zip(batch['file_names'], batch['file_counts']):
      self.records[name.decode()] += int(count)
    for where, reason in zip(batch['bad_where'], batch['bad_reasons']):
      self.add_damaged(where.decode(), reason.decode())
    if self.tracked:
      self._add_tracked(batch)
    if len(self.samples) < self._num_samples and len(batch['sample']):
      self.samples.append((batch['sample'][0],
                           batch['sample_where'][0].decode()))

  def add_damaged(self, where: str, reason: str):
    """Counts (and lists the first `MAX_LISTED_RECORDS`) damaged records."""
    self.num_damaged += 1
    self.damaged_per_file[_split_where(where)[0]] += 1
    if len(self.damaged) < MAX_LISTED_RECORDS:
      self.damaged.append({'record': where, 'reason': reason})

  def _add_tracked(self, batch: Dict[str, Any]):
    per_record = {}
    for name in self.tracked:
      lengths, inner, flat = batch['tracked'][name]
      if self.columns[name].is_sequence:
        steps = np.split(inner, np.cumsum(lengths)[:-1]) if len(
            lengths) else []
        sizes = [int(np.sum(s)) for s in steps]
      else:
        sizes = [int(n) for n in lengths]
      per_record[name] = np.split(flat, np.cumsum(sizes)[:-1]) if sizes else []
    for index, where in enumerate(batch['where']):
      self.tracked_records.append(
          (where.decode(), {name: per_record[name][index]
                            for name in self.tracked}))

  def finish(self):
    for stats in self.features.values():
      if stats.count and stats.min is not None:
        stats.mean = stats.total / stats.count


def _episode_values(values: np.ndarray,
                    column: _Column) -> Optional[np.ndarray]:
  """(steps, size) of a sequence's values; None when misshaped."""
  size = column.expected or 1
  if values.size % size:
    return None
  return values.reshape(-1, size)


def _episodes(accumulator: _Accumulator, is_sequence_example: bool,
              names: Dict[str, Optional[str]]
             ) -> Tuple[List[str], List[Dict[str, Any]]]:
  """(episode names, episodes as check_episodes takes them)."""
  action, proprio = names['action'], names['proprioception']
  seed, episode = names['reset_seed'], names['episode']
  columns = accumulator.columns
  labels, episodes = [], []
  if is_sequence_example:
    for where, values in accumulator.tracked_records:
      entry = {}
      for key, name in (('action', action), ('proprioception', proprio)):
        if name is not None:
          entry[key] = (_episode_values(values[name], columns[name])
                        if columns[name].is_sequence else values[name][None])
      if seed is not None and values[seed].size:
        entry['reset_seed'] = int(values[seed].reshape(-1)[0])
      labels.append(where)
      episodes.append(entry)
    return labels, episodes
  grouped = collections.defaultdict(list)
  for where, values in accumulator.tracked_records:
    filename, index = _split_where(where)
    key = values[episode].tobytes() if values[episode].size else b''
    grouped[filename, key].append((index, values))
  for (filename, _), rows in sorted(grouped.items(),
                                    key=lambda item: (item[0][0],
                                                      min(r[0] for r in
                                                          item[1]))):
    rows.sort(key=lambda row: row[0])
    entry = {}
    for key, name in (('action', action), ('proprioception', proprio)):
      if name is not None:
        entry[key] = np.stack([values[name] for _, values in rows])
    if seed is not None and rows[0][1][seed].size:
      entry['reset_seed'] = int(rows[0][1][seed].reshape(-1)[0])
    value = rows[0][1][episode].reshape(-1)
    if columns[episode].record_dtype == tf.int64:
      value = value.astype(np.int64)
    labels.append(f'{filename} episode '
                  f'{value[0] if value.size == 1 else value.tolist()}')
    episodes.append(entry)
  return labels, episodes


def _episode_summary(labels: List[str], episodes: List[Dict[str, Any]],
                     env_fn: Optional[Callable[[], Any]],
                     idle_kwargs: Dict[str, Any],
                     replay_kwargs: Optional[Dict[str, Any]]) -> Dict[str, Any]:
  """Lengths, idle stretches, duplicates and (with env_fn) label replay."""
  checkable = [i for i, e in enumerate(episodes)
               if e.get('action') is not None and e['action'].size and
               np.all(np.isfinite(e['action'])) and
               ('proprioception' not in e or e['proprioception'] is None or
                np.all(np.isfinite(e['proprioception'])))]
  lengths = [len(e['action']) for e in episodes
             if e.get('action') is not None]
  has_proprioception = any('proprioception' in e for e in episodes)
  report = episode_checks.check_episodes(
      [episodes[i] for i in checkable], env_fn=env_fn,
      proprioception_key='proprioception' if has_proprioception else None,
      idle_kwargs=idle_kwargs, replay_kwargs=replay_kwargs)
  by_hash = collections.defaultdict(list)
  for index in checkable:
    actions = np.asarray(episodes[index]['action'], np.float64)
    digest = hashlib.sha256(str(actions.shape).encode() +
                            actions.tobytes()).hexdigest()
    by_hash[digest].append(labels[index])
  duplicates = [group for group in by_hash.values() if len(group) > 1]
  flagged = []
  for check in report.episodes:
    if check.idle.stretches or check.idle.is_idle_episode or (
        check.replay is not None and not check.replay.success):
      flagged.append({
          'episode': labels[checkable[check.index]],
          'length': check.idle.num_steps,
          'idle_episode': check.idle.is_idle_episode,
          'idle_stretches': [list(s) for s in check.idle.stretches],
          'replay': (None if check.replay is None else {
              'success': check.replay.success,
              'reason': check.replay.reason})})
  return {
      'num_episodes': len(episodes),
      'length': ({'min': int(min(lengths)), 'max': int(max(lengths)),
                  'mean': float(np.mean(lengths))} if lengths else None),
      'unchecked_episodes': len(episodes) - len(checkable),
      'idle_episodes': len(report.idle_indices),
      'idle_stretches': sum(len(c.idle.stretches) for c in report.episodes),
      'idle_steps': sum(c.idle.flagged_steps for c in report.episodes),
      'duplicate_episodes': sum(len(group) - 1 for group in duplicates),
      'duplicates': duplicates[:MAX_LISTED_EPISODES],
      'label_replay': (None if env_fn is None else {
          'replayed': sum(c.replay is not None for c in report.episodes),
          'failed': len(report.replay_failed_indices),
          'success_rate': report.replay_success_rate}),
      'checks': report.summary(),
      'flagged_episodes': flagged[:MAX_LISTED_EPISODES],
  }


def _sample_values(serialized: bytes, columns: Sequence[_Column],
                   is_sequence_example: bool) -> Dict[str, Any]:
  """The first value (first step) of each column in one record."""
  if is_sequence_example:
    record = tf.train.SequenceExample.FromString(serialized)
    context = record.context.feature
    steps = record.feature_lists.feature_list
  else:
    context = tf.train.Example.FromString(serialized).features.feature
    steps = {}
  values = {}
  for column in columns:
    if column.is_sequence:
      if column.name not in steps or not steps[column.name].feature:
        continue
      feature = steps[column.name].feature[0]
    elif column.name in context:
      feature = context[column.name]
    else:
      continue
    kind = feature.WhichOneof('kind')
    if kind is None:
      continue
    listed = list(getattr(feature, kind).value)
    if not listed:
      continue
    if column.is_image:
      values[column.name] = listed[0]
    elif kind == 'bytes_list':
      values[column.name] = listed[0][:40].decode(errors='replace')
    else:
      values[column.name] = [float(v) for v in listed[:8]]
  return values


def inspect_records(file_patterns: str,
                    feature_spec: Any,
                    label_spec: Any = None,
                    dataset_key: Optional[str] = None,
                    batch_size: int = 256,
                    max_records: Optional[int] = None,
                    num_samples: int = 16,
                    compression_type: Optional[str] = None,
                    episode_key: Optional[str] = None,
                    action_key: Optional[str] = 'action',
                    proprioception_key: Optional[str] = None,
                    reset_seed_key: Optional[str] = None,
                    idle_min_steps: int = 10,
                    idle_tolerance: float = 1e-3,
                    action_kind: str = 'absolute',
                    env_fn: Optional[Callable[[], Any]] = None,
                    replay_kwargs: Optional[Dict[str, Any]] = None,
                    cycle_length: Optional[int] = None) -> InspectionReport:
  """Streams records once and reports what they hold against the specs.

  Example:
    >>> report = inspect_records('/data/demos-*.tfrecord', feature_spec,
    ...                          label_spec, env_fn=MyTaskEnv,
    ...                          reset_seed_key='reset_seed')
    >>> report.write_json('/tmp/report.json')
    >>> report.episodes['idle_episodes'], report.ok
    (3, True)

  Args:
    file_patterns: Comma-separated globs (optionally 'tfrecord:'-prefixed).
    feature_spec: The feature spec structure the records should hold.
    label_spec: The label spec structure, or None.
    dataset_key: The record stream to inspect when the specs read several.
    batch_size: Records measured per batch.
    max_records: Stop after this many records (None: all).
    num_samples: Records sampled (the first of each batch) for the contact
      sheet.
    compression_type: 'GZIP', 'ZLIB', '' or None (detected per pattern from
      the first file).
    episode_key: For transition records: the spec (name or path) whose
      value identifies a record's episode (records of an episode are
      ordered by their index in the file). SequenceExample records are one
      episode each without it.
    action_key: The spec (name or path) of the actions, for the episode
      checks; None (or a spec that is not there) skips them.
    proprioception_key: The spec of the measured poses for idle detection
      (both signals must be idle: `combine='all'`), or None.
    reset_seed_key: The spec holding each episode's reset seed (needed for
      label replay).
    idle_min_steps: The shortest idle stretch reported.
    idle_tolerance: The largest change (per dimension) that counts as none.
    action_kind: 'absolute' (idle: the action does not change) or 'delta'
      (idle: the action is zero), see `find_idle_stretches`.
    env_fn: Creates an environment for label replay (`replay_labels`); None
      skips the replay.
    replay_kwargs: More `replay_labels` arguments (success_fn, ...).
    cycle_length: Files read concurrently; None: the number of CPUs.

  Returns:
    An `InspectionReport`.

  Raises:
    ValueError: If no file matches, an argument is invalid, a key names no
      spec, or label replay is asked for without `reset_seed_key`.
  """
  _check_positive('batch_size', batch_size)
  _check_positive('max_records', max_records, allow_none=True)
  _check_positive('cycle_length', cycle_length, allow_none=True)
  if isinstance(num_samples, bool) or not isinstance(num_samples,
                                                     int) or num_samples < 0:
    raise ValueError(f'inspect_records: num_samples must be an int >= 0, got '
                     f'{num_samples!r}.')
  if env_fn is not None and reset_seed_key is None:
    raise ValueError('inspect_records: label replay (env_fn) needs '
                     'reset_seed_key, the spec holding each episode\'s reset '
                     'seed: replaying from an unknown state tests nothing.')
  layouts = record_layout.stream_layouts(
      record_layout.flat_feature_and_label_specs(feature_spec, label_spec))
  key = record_layout.single_dataset_key(layouts, dataset_key,
                                         'inspect_records')
  layout = layouts[key]
  _, filenames = file_patterns_lib.get_data_format_and_filenames(
      file_patterns)
  compression = (compression_type if compression_type is not None else
                 file_patterns_lib.detect_compression_type(filenames[0]))
  is_episodes = layout.is_sequence_example or episode_key is not None
  names = {
      'episode': _resolve_name(layout, episode_key, 'episode_key', True),
      'action': None, 'proprioception': None, 'reset_seed': None,
  }
  if is_episodes:
    names['action'] = _resolve_name(layout, action_key, 'action_key',
                                    env_fn is not None)
    names['proprioception'] = _resolve_name(
        layout, proprioception_key, 'proprioception_key', True)
    names['reset_seed'] = _resolve_name(layout, reset_seed_key,
                                        'reset_seed_key', True)
  tracked = sorted({n for n in names.values() if n is not None}) if (
      names['action'] is not None) else []
  inspector = _BatchInspector(layout, tracked)
  log = corrupt_record_log.CorruptRecordLog(print_skipped=False)
  sizes = record_reading.file_sizes(filenames, compression)
  files = tf.data.Dataset.from_tensor_slices(
      (tf.constant(filenames, tf.string), tf.constant(sizes, tf.int64)))

  @tf.autograph.experimental.do_not_convert
  def read(filename, size):
    return record_reading.read_records_with_filenames(
        filename, size, compression, None, True, log)

  records = files.interleave(
      read, cycle_length=min(cycle_length or _num_cpus(), len(filenames)),
      block_length=1, num_parallel_calls=tf.data.AUTOTUNE,
      deterministic=False)
  if max_records is not None:
    records = records.take(max_records)
  batches = records.batch(batch_size).map(
      tf.autograph.experimental.do_not_convert(inspector),
      num_parallel_calls=tf.data.AUTOTUNE, deterministic=False).prefetch(2)
  accumulator = _Accumulator(layout, inspector.columns, tracked, num_samples)
  start = time.perf_counter()
  for batch in batches.as_numpy_iterator():
    accumulator.add(batch)
  for where, reason in log.skipped.items():
    accumulator.add_damaged(where, f'unreadable: {reason}')
  accumulator.finish()
  unreadable = log.unreadable_bytes
  files_report = {
      name: {'records': accumulator.records.get(name, 0),
             'damaged_records': accumulator.damaged_per_file.get(name, 0),
             'unreadable_bytes': unreadable.get(name, 0)}
      for name in filenames}
  episodes = None
  if tracked:
    labels, episode_list = _episodes(accumulator, layout.is_sequence_example,
                                     names)
    episodes = _episode_summary(
        labels, episode_list, env_fn,
        {'tolerance': idle_tolerance, 'min_steps': idle_min_steps,
         'action_kind': action_kind}, replay_kwargs)
  seconds = time.perf_counter() - start
  samples = [{'record': where,
              'values': _sample_values(serialized, inspector.columns,
                                       layout.is_sequence_example)}
             for serialized, where in accumulator.samples]
  return InspectionReport(
      file_patterns=file_patterns, num_records=accumulator.num_records,
      seconds=seconds, features=accumulator.features, files=files_report,
      damaged_records=accumulator.damaged,
      num_damaged_records=accumulator.num_damaged, episodes=episodes,
      samples=samples)


def _num_cpus() -> int:
  return max(2, len(os.sched_getaffinity(0)) if hasattr(
      os, 'sched_getaffinity') else os.cpu_count() or 2)
