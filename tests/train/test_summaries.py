"""Keras logs as Python numbers, scalar summaries and log lines."""

import numpy as np
import tensorflow as tf

from t2r.train import summaries
import event_files


def test_to_python_turns_scalar_tensors_into_numbers():
  values = summaries.to_python({'loss': tf.constant(0.5),
                                'step': np.int64(3), 'name': 'x'})
  assert values == {'loss': 0.5, 'step': 3, 'name': 'x'}
  assert type(values['loss']) is float  # pylint: disable=unidiomatic-typecheck


def test_to_python_keeps_arrays_as_numpy():
  values = summaries.to_python({'q': tf.constant([1.0, 2.0])})
  np.testing.assert_array_equal(values['q'], [1.0, 2.0])


def test_to_python_of_none_is_empty():
  assert summaries.to_python(None) == {}


def test_write_scalars_skips_non_numbers(tmp_path):
  writer = tf.summary.create_file_writer(str(tmp_path))
  summaries.write_scalars(writer, {'loss': 0.25, 'name': 'x'}, step=7)
  assert event_files.steps_by_tag(tmp_path) == {'loss': [7]}
  assert event_files.scalars(tmp_path, 'loss') == [0.25]


def test_write_scalars_writes_even_where_recording_is_off(tmp_path):
  writer = tf.summary.create_file_writer(str(tmp_path))
  with tf.summary.record_if(False):
    summaries.write_scalars(writer, {'loss': 1.0}, step=3)
  assert event_files.steps_by_tag(tmp_path) == {'loss': [3]}


def test_write_scalars_without_a_writer_writes_nothing():
  summaries.write_scalars(None, {'loss': 1.0}, step=3)


def test_format_values():
  assert summaries.format_values({'loss': 0.123456789, 'step': 3}) == (
      'loss 0.12346, step 3')
