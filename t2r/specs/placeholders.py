"""Graph placeholders (TF1 style) and tf.function input signatures from specs.

`make_placeholders` is kept for T2R users who feed graphs; in TF2 the same
role is played by `make_input_signature`, whose result is passed as a
`tf.function` input signature or used for SavedModel serving signatures.
"""

from typing import Any, Dict, List, Optional

import tensorflow as tf

from t2r.specs.batch_dims import signature_batch_dims
from t2r.specs.extended_tensor_spec import ExtendedTensorSpec
from t2r.specs.structure import flatten_spec_structure
from t2r.specs.structure import flatten_tensor_specs
from t2r.specs.structure import pack_flat_sequence_to_spec_structure
from t2r.specs.structure import spec_name
from t2r.specs.validation import validate_and_flatten


def _batched_shape(spec: Any,
                   batch_dims: List[Optional[int]]) -> tf.TensorShape:
  """The spec's shape after the batch dims and, for sequences, a time dim."""
  time_dims = [None] if getattr(spec, 'is_sequence', False) else []
  return tf.TensorShape(batch_dims + time_dims).concatenate(spec.shape)


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
    batch_size: None prepends an unknown batch dimension (T2R's default);
      N > 0 a batch of N. Sequence specs get one more unknown (time)
      dimension. See the table in the `t2r.specs` docstring.

  Returns:
    Placeholders laid out like `spec_structure`, named by spec name.

  Raises:
    RuntimeError: If called eagerly (placeholders need a graph).
    SpecTypeError: If a leaf is not a spec, or `batch_size` is not None or
      an int.
    ValueError: If `batch_size` is 0 or negative.
  """
  batch_dims = signature_batch_dims(batch_size, 'make_placeholders')
  if tf.executing_eagerly():
    raise RuntimeError(
        'make_placeholders creates graph placeholders and needs a graph: call '
        'it inside `with tf.Graph().as_default():`, or use '
        'make_input_signature for tf.function.')
  flat = flatten_tensor_specs(spec_structure)
  placeholders = {}
  for path, spec in flat.items():
    placeholders[path] = tf.compat.v1.placeholder(
        dtype=spec.dtype,
        shape=_batched_shape(spec, batch_dims),
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

  Raises:
    SpecTypeError: If a leaf is not a spec, or `batch_size` is not None or
      an int.
    ValueError: If `batch_size` is 0 or negative.
  """
  batch_dims = signature_batch_dims(batch_size, 'make_input_signature')
  flat = flatten_tensor_specs(spec_structure)
  signature = {
      path: tf.TensorSpec(
          _batched_shape(spec, batch_dims), spec.dtype, spec_name(spec, path))
      for path, spec in flat.items()
  }
  return pack_flat_sequence_to_spec_structure(spec_structure, signature)


def make_batched_spec_structure(spec_structure: Any,
                                batch_size: Optional[int] = None) -> Any:
  """Returns `ExtendedTensorSpec`s with the batch (and time) dims added.

  The specs of what a batched pipeline yields: the shapes of
  `make_input_signature`, keeping every spec field but
  `varlen_default_value` (a batch is many lists, not one padded list).
  They are marked `is_extracted`, as specs taken from the batched tensors:
  their shapes include the time dimension, so validation compares them
  like those tensors.

  Example:
    >>> make_batched_spec_structure(feature_spec).state.shape.as_list()
    [None, 8, 128]

  Args:
    spec_structure: A spec structure.
    batch_size: As in `make_placeholders`.

  Returns:
    A structure like `spec_structure` of `ExtendedTensorSpec`s.

  Raises:
    SpecTypeError: If a leaf is not a spec, or `batch_size` is not None or
      an int.
    ValueError: If `batch_size` is 0 or negative.
  """
  batch_dims = signature_batch_dims(batch_size, 'make_batched_spec_structure')
  flat = flatten_tensor_specs(spec_structure)
  batched = {
      path: ExtendedTensorSpec.from_spec(
          spec, shape=_batched_shape(spec, batch_dims), is_extracted=True,
          varlen_default_value=None)
      for path, spec in flat.items()
  }
  return pack_flat_sequence_to_spec_structure(spec_structure, batched)


def map_feed_dict(placeholders: Any,
                  numpy_inputs: Any,
                  feed_dict: Optional[Dict[Any, Any]] = None,
                  ignore_batch: bool = False) -> Dict[Any, Any]:
  """Maps numpy inputs to placeholders by path, validating shapes and dtypes.

  Example:
    >>> placeholders = make_placeholders(feature_spec, batch_size=1)
    >>> arrays = make_random_numpy(feature_spec, batch_size=1)
    >>> feed_dict = map_feed_dict(placeholders, arrays, ignore_batch=True)

  Args:
    placeholders: The output of `make_placeholders` (or any structure of
      placeholders).
    numpy_inputs: Numpy arrays laid out like `placeholders`; entries without
      a placeholder are ignored.
    feed_dict: An existing feed dict to extend; a new one when None.
    ignore_batch: Compare shapes without the leading (batch) dimension of
      either the placeholders or the arrays, as in Tensor2Robot. (A
      placeholder of fixed batch size still takes only that size when the
      graph runs.)

  Returns:
    The feed dict `{placeholder: array}`.

  Raises:
    ValueError: If an input is missing or misshaped, a placeholder has no
      batch dimension to ignore, or `feed_dict` already feeds a placeholder
      (e.g. features and labels mapped onto the same placeholders).
  """
  feed_dict = {} if feed_dict is None else feed_dict
  flat_placeholders = flatten_spec_structure(placeholders)
  expected = {
      path: tf.TensorSpec(_unbatched_shape(path, p, ignore_batch), p.dtype,
                          path)
      for path, p in flat_placeholders.items()
  }
  flat_inputs = validate_and_flatten(expected, numpy_inputs, ignore_batch)
  for path, value in flat_inputs.items():
    placeholder = flat_placeholders[path]
    if placeholder in feed_dict:
      raise ValueError(
          f'map_feed_dict: the feed dict already feeds the placeholder '
          f'{placeholder.name!r} at path {path!r}. Map each placeholder once '
          '(features and labels need placeholders of their own).')
    feed_dict[placeholder] = value
  return feed_dict


def _unbatched_shape(path: str, placeholder: Any,
                     ignore_batch: bool) -> tf.TensorShape:
  """The placeholder's shape without its batch dimension if ignored."""
  shape = tf.TensorShape(placeholder.shape)
  if not ignore_batch:
    return shape
  if shape.rank is None or shape.rank == 0:
    raise ValueError(
        f'map_feed_dict(ignore_batch=True): the placeholder at {path!r} has '
        f'shape {shape}, so there is no batch dimension to ignore. Make the '
        'placeholders with make_placeholders, or pass ignore_batch=False.')
  return shape[1:]
