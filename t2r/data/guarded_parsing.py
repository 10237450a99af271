"""Parses batches of records; a batch that fails names its file and feature.

The fast path is the plain batched parse function. Each batch is parsed in a
small nested dataset whose errors are caught (`ignore_errors`); only when a
batch fails does a fallback run, in Python, that parses the batch record by
record and feature by feature to find the culprit. By default it raises a
ValueError naming the file, the feature and TensorFlow's message; with
`skip_corrupt=True` it drops the bad records, logs them, and the batch comes
out smaller by that many.
"""

import re
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np
import tensorflow as tf

from t2r import specs
from t2r.data import corrupt_record_log
from t2r.data import parsing

ParseFn = Callable[[Any], Tuple[Any, Any]]

# '{{function_node ...}}' prefixes and ' [Op:DecodeJpeg]' suffixes of eager
# errors say where TensorFlow failed, not what is wrong with the record.
_OP_CONTEXT = re.compile(r'\{\{[^}]*\}\}\s*|\s*\[Op:[^\]]*\]')


def _first_line(error: Exception) -> str:
  """The gist of an error: its first line without TensorFlow's op context."""
  message = getattr(error, 'message', None) or str(error)
  message = _OP_CONTEXT.sub('', message)
  lines = [line.strip() for line in message.splitlines() if line.strip()]
  return lines[0] if lines else type(error).__name__


class _Diagnosis:
  """Finds, in Python, which records and features of a batch fail to parse."""

  def __init__(self, parse_fn: ParseFn, feature_spec: Any, label_spec: Any,
               present_optional_names: Optional[frozenset]):
    self._parse_fn = parse_fn
    self._present = present_optional_names
    self._flat = [('features', specs.flatten_spec_structure(feature_spec)),
                  ('labels', specs.flatten_spec_structure(label_spec))]
    self._per_spec_parse_fns: Dict[Tuple[str, str], ParseFn] = {}

  def _feature_errors(self, record: Any) -> List[Tuple[str, str]]:
    """Parses one record spec by spec; returns (dataset_key, why) failures."""
    failures = []
    for what, flat in self._flat:
      for path, spec in flat.items():
        key = (what, path)
        if key not in self._per_spec_parse_fns:
          self._per_spec_parse_fns[key] = parsing.create_parse_tf_example_fn(
              specs.TensorSpecStruct({path: spec}),
              present_optional_names=self._present)
        try:
          self._per_spec_parse_fns[key](record)
        except (tf.errors.OpError, ValueError) as e:
          failures.append((getattr(spec, 'dataset_key', ''),
                           f'{what[:-1]} {path!r} (name '
                           f'{specs.spec_name(spec, path)!r}): '
                           f'{_first_line(e)}'))
    return failures

  def bad_records(self, serialized: Any,
                  filenames: Any) -> List[Tuple[int, str, str]]:
    """Returns (index, file names, reason) for every record that fails.

    With several record streams (`filenames` a dict by dataset key) the
    files named are those of the streams whose specs fail.
    """
    flat_serialized = tf.nest.flatten(serialized)
    bad = []
    for index in range(int(tf.shape(flat_serialized[0])[0])):
      record = tf.nest.pack_sequence_as(
          serialized, [s[index:index + 1] for s in flat_serialized])
      try:
        self._parse_fn(record)
        continue
      except (tf.errors.OpError, ValueError) as e:
        failures = self._feature_errors(record) or [(None, _first_line(e))]
      if isinstance(filenames, dict):
        keys = {key for key, _ in failures if key in filenames} or set(
            filenames)
        files = {filenames[key][index].numpy().decode() for key in keys}
      else:
        files = {filenames[index].numpy().decode()}
      bad.append((index, ', '.join(sorted(files)),
                  '; '.join(reason for _, reason in failures)))
    return bad


def parse_batches(dataset: tf.data.Dataset,
                  parse_fn: ParseFn,
                  feature_spec: Any,
                  label_spec: Any,
                  present_optional_names: Optional[frozenset],
                  skip_corrupt: bool,
                  log: corrupt_record_log.CorruptRecordLog,
                  num_parallel_batches: int,
                  deterministic: bool) -> tf.data.Dataset:
  """Maps batches of `(serialized, filenames)` to parsed `(features, labels)`.

  Args:
    dataset: Batches of `(serialized, filenames)`: 1-D string tensors, or
      `{dataset_key: 1-D strings}` dicts for several record streams.
    parse_fn: The batched parse function (`parsing.create_parse_tf_example_fn`).
    feature_spec: The feature spec the parse function reads.
    label_spec: The label spec the parse function reads.
    present_optional_names: As given to the parse function.
    skip_corrupt: Drop records that fail instead of raising.
    log: Where skipped records are counted.
    num_parallel_batches: How many batches are parsed concurrently.
    deterministic: Keep the batch order.

  Returns:
    A dataset of parsed `(features, labels)`.
  """
  diagnosis = _Diagnosis(parse_fn, feature_spec, label_spec,
                         present_optional_names)
  # The nesting of (serialized, filenames), to rebuild it inside py_function.
  structure = tf.nest.map_structure(lambda _: 0, dataset.element_spec)

  def find_bad_records(*flat_inputs):
    """py_function body: the indices of the good records (or raises)."""
    half = len(flat_inputs) // 2
    serialized = tf.nest.pack_sequence_as(structure[0], flat_inputs[:half])
    filenames = tf.nest.pack_sequence_as(structure[1], flat_inputs[half:])
    bad = diagnosis.bad_records(serialized, filenames)
    if not skip_corrupt:
      if bad:
        index, files, reason = bad[0]
        raise ValueError(
            f'Could not parse a record of {files} (record {index} of its '
            f'batch; {len(bad)} bad in the batch): {reason.rstrip(".")}. '
            'Fix or remove the file, or pass skip_corrupt_records=True to '
            'the input generator to skip such records.')
      raise ValueError(
          'A batch of records failed to parse, but each record parses on '
          f'its own; the batch holds records of {_file_list(filenames)}.')
    for _, files, reason in bad:
      log.record_skipped(files, reason)
    bad_indices = {index for index, _, _ in bad}
    size = int(tf.shape(flat_inputs[0])[0])
    return np.array([i for i in range(size) if i not in bad_indices],
                    dtype=np.int64)

  def good_records(serialized, filenames):
    good = tf.py_function(
        find_bad_records,
        tf.nest.flatten(serialized) + tf.nest.flatten(filenames), tf.int64)
    good.set_shape([None])
    return good

  def parse_good_records(serialized, filenames):
    good = good_records(serialized, filenames)
    return parse_fn(tf.nest.map_structure(lambda s: tf.gather(s, good),
                                          serialized))

  def parse_or_recover(serialized, filenames):
    parsed = tf.data.Dataset.from_tensors(serialized).map(
        parse_fn).ignore_errors()
    if skip_corrupt:
      recover = parse_good_records
    else:

      def recover(batch, names):
        # good_records raises here; the zeros only give the branch the
        # parsed structure and shapes.
        with tf.control_dependencies([good_records(batch, names)]):
          return tf.nest.map_structure(
              lambda spec: tf.zeros([d or 0 for d in spec.shape], spec.dtype),
              parsed.element_spec)

    fallback = tf.data.Dataset.from_tensors((serialized, filenames)).map(
        recover)
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


def _file_list(filenames: Any) -> str:
  names = set()
  for tensor in tf.nest.flatten(filenames):
    names.update(f.decode() for f in tensor.numpy())
  return ', '.join(sorted(names))
