"""Graph placeholders (TF1 style) and tf.function input signatures from specs.

`make_placeholders` is kept for T2R users who feed graphs; in TF2 the same
role is played by `make_input_signature`, whose result is passed as a
`tf.function` input signature or used for SavedModel serving signatures.
"""

from typing import Any, Dict, Optional

import numpy as np
import tensorflow as tf

from t2r.specs.extended_tensor_spec import ExtendedTensorSpec
from t2r.specs.structure import flatten_spec_structure
from t2r.specs.structure import pack_flat_sequence_to_spec_structure
from t2r.specs.structure import spec_name
from t2r.specs.validation import validate_and_flatten


def _leading_dims(spec: Any, batch_size: Optional[int]) -> list:
  """The dims placed before a spec's shape: batch, then time for sequences."""
  if batch_size is not None and not isinstance(batch_size, (int, np.integer)):
    raise TypeError(f'batch_size must be None or an int, got {batch_size!r}.')
  dims = []
  if batch_size is None:
    dims.append(None)
  elif batch_size > 0:
    dims.append(int(batch_size))
  if getattr(spec, 'is_sequence', False):
    dims.append(None)
  return dims


def _batched_shape(spec: Any, batch_size: Optional[int]) -> tf.TensorShape:
  return tf.TensorShape(_leading_dims(spec, batch_size)).concatenate(spec.shape)


def make_placeholders(spec_structure: Any,
                      batch_size: Optional[int] = None) -> Any:
  """Creates a `tf.compat.v1.placeholder` per spec, inside the current graph.

  Example:
    >>> with tf.Graph().as_default():
    ...   placeholders = make_placeholders(feature_spec, batch_size=None)
    ...   placeholders.state.shape.as_list()
    [None, 8, 128]

  Args:
    spec_structure: A spec structure.
    batch_size: None prepends an unknown batch dimension; N > 0 a fixed one;
      <= 0 none. Sequence specs get one more unknown (time) dimension.

  Returns:
    Placeholders laid out like `spec_structure`, named by spec name.

  Raises:
    RuntimeError: If called eagerly (placeholders need a graph).
  """
  if tf.executing_eagerly():
    raise RuntimeError(
        'make_placeholders creates graph placeholders and needs a graph: call '
        'it inside `with tf.Graph().as_default():`, or use '
        'make_input_signature for tf.function.')
  flat = flatten_spec_structure(spec_structure)
  placeholders = {}
  for path, spec in flat.items():
    placeholders[path] = tf.compat.v1.placeholder(
        dtype=spec.dtype,
        shape=_batched_shape(spec, batch_size),
        name=spec_name(spec, path).replace('/', '_'))
  return pack_flat_sequence_to_spec_structure(spec_structure, placeholders)


def make_input_signature(spec_structure: Any,
                         batch_size: Optional[int] = None) -> Any:
  """Returns `tf.TensorSpec`s for a `tf.function` input signature.

  The TF2 form of `make_placeholders`: same shapes, named by spec name.

  Example:
    >>> signature = make_input_signature(feature_spec)
    >>> @tf.function(input_signature=[signature])
    ... def serve(features): ...

  Args:
    spec_structure: A spec structure.
    batch_size: As in `make_placeholders`.

  Returns:
    A structure like `spec_structure` of plain `tf.TensorSpec`s.
  """
  flat = flatten_spec_structure(spec_structure)
  signature = {
      path: tf.TensorSpec(
          _batched_shape(spec, batch_size), spec.dtype, spec_name(spec, path))
      for path, spec in flat.items()
  }
  return pack_flat_sequence_to_spec_structure(spec_structure, signature)


def make_batched_spec_structure(spec_structure: Any,
                                batch_size: Optional[int] = None) -> Any:
  """Returns `ExtendedTensorSpec`s with the batch (and time) dims added."""
  flat = flatten_spec_structure(spec_structure)
  batched = {
      path: ExtendedTensorSpec.from_spec(
          spec, shape=_batched_shape(spec, batch_size), varlen_default_value=None)
      for path, spec in flat.items()
  }
  return pack_flat_sequence_to_spec_structure(spec_structure, batched)


def map_feed_dict(placeholders: Any,
                  numpy_inputs: Any,
                  feed_dict: Optional[Dict[Any, Any]] = None,
                  ignore_batch: bool = False) -> Dict[Any, Any]:
  """Maps numpy inputs to placeholders by path, validating shapes and dtypes.

  Args:
    placeholders: The output of `make_placeholders` (or any structure of
      placeholders).
    numpy_inputs: Numpy arrays laid out like `placeholders`.
    feed_dict: An existing feed dict to extend; a new one when None.
    ignore_batch: Passed to the validation; keep False when the placeholders
      already have a batch dimension.

  Returns:
    The feed dict `{placeholder: array}`.

  Raises:
    ValueError: If an input is missing or misshaped.
  """
  feed_dict = {} if feed_dict is None else feed_dict
  flat_placeholders = flatten_spec_structure(placeholders)
  expected = {
      path: tf.TensorSpec(p.shape, p.dtype, path)
      for path, p in flat_placeholders.items()
  }
  flat_inputs = validate_and_flatten(expected, numpy_inputs, ignore_batch)
  for path, value in flat_inputs.items():
    feed_dict[flat_placeholders[path]] = value
  return feed_dict
