"""The global-step helpers of the training callbacks."""


import numpy as np
import pytest
import tensorflow as tf

from t2r.train import callbacks


@pytest.mark.parametrize('previous, step, every_n, expected', [
    (0, 10, 10, True),
    (10, 19, 10, False),
    (19, 25, 10, True),
    (5, 5, 10, False),
    (25, 40, 10, True),
])
def test_crossed(previous, step, every_n, expected):
  assert callbacks.crossed(previous, step, every_n) == expected


def test_to_python_turns_scalar_tensors_into_numbers():
  values = callbacks.to_python({'loss': tf.constant(0.5),
                                'step': np.int64(3), 'name': 'x'})
  assert values == {'loss': 0.5, 'step': 3, 'name': 'x'}
  assert type(values['loss']) is float  # pylint: disable=unidiomatic-typecheck


def test_write_scalars_skips_non_numbers(tmp_path):
  writer = tf.summary.create_file_writer(str(tmp_path))
  callbacks.write_scalars(writer, {'loss': 0.25, 'name': 'x'}, step=7)
  events = [
      (value.tag, event.step)
      for path in tmp_path.iterdir()
      for event in tf.compat.v1.train.summary_iterator(str(path))
      for value in event.summary.value
  ]
  assert events == [('loss', 7)]


def test_format_values():
  assert callbacks.format_values({'loss': 0.123456789, 'step': 3}) == (
      'loss 0.12346, step 3')
