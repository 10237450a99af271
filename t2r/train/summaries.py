"""Training metrics as Python numbers, scalar summaries and log lines.

Keras hands callbacks their logs as tensors or numpy scalars; these helpers
turn them into Python numbers (`to_python`), write the numeric ones as
TensorBoard scalars (`write_scalars`) and format them for log lines
(`format_values`).

Example:
  >>> values = to_python(logs)            # {'loss': 0.25, ...}
  >>> write_scalars(writer, values, step=100)
  >>> logging.info('step 100: %s', format_values(values))
"""

from typing import Any, Dict, Optional

import numpy as np
import tensorflow as tf


def to_python(values: Optional[Dict[str, Any]]) -> Dict[str, Any]:
  """Keras logs with scalar tensors as Python numbers (a sync point).

  Args:
    values: Logs by name (tensors, numpy values or Python values); None is
      treated as empty.

  Returns:
    The same names; scalars as Python numbers, other values unchanged (or
    as numpy arrays for non-scalar tensors).
  """
  result = {}
  for name, value in (values or {}).items():
    if hasattr(value, 'numpy'):
      value = value.numpy()
    result[name] = value.item() if isinstance(value, np.generic) or (
        isinstance(value, np.ndarray) and not value.shape) else value
  return result


def write_scalars(writer: Optional[tf.summary.SummaryWriter],
                  values: Dict[str, Any], step: int):
  """Writes the numeric entries of `values` to `writer` at `step`.

  Non-numeric entries are skipped; the writer is flushed.

  Args:
    writer: A summary writer, or None to write nothing.
    values: Values by name, as returned by `to_python`.
    step: The global step of the summaries.
  """
  if writer is None:
    return
  with writer.as_default(), tf.summary.record_if(True):
    for name, value in values.items():
      if isinstance(value, (int, float, np.number)):
        tf.summary.scalar(name, value, step=step)
  writer.flush()


def format_values(values: Dict[str, Any]) -> str:
  """'name value, ...' for log lines (floats with 5 significant digits).

  Example:
    >>> format_values({'loss': 0.123456789, 'step': 3})
    'loss 0.12346, step 3'
  """
  return ', '.join(
      f'{name} {value:.5g}' if isinstance(value, float) else f'{name} {value}'
      for name, value in values.items())
