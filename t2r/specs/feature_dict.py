"""How specs are stored in `tf.train.Example` / `SequenceExample` records.

A record stores three kinds of lists: float32, int64 and bytes. Every spec
dtype maps onto the nearest of them (`record_dtype`) and is cast back after
parsing. Encoded images are stored as bytes (one string per image).
"""

from typing import Any, Dict, Tuple

import tensorflow as tf

from t2r.specs.extended_tensor_spec import is_encoded_image_spec
from t2r.specs.structure import flatten_tensor_specs
from t2r.specs.structure import spec_name

_FLOAT_DTYPES = (tf.float16, tf.bfloat16, tf.float32, tf.float64)
_INT_DTYPES = (tf.bool, tf.int8, tf.int16, tf.int32, tf.int64, tf.uint8,
               tf.uint16, tf.uint32, tf.uint64)


def record_dtype(spec: Any) -> tf.DType:
  """The dtype a spec is stored as in a record: float32, int64 or string.

  Raises:
    TypeError: For dtypes a record cannot hold (complex, resource, ...).
  """
  if is_encoded_image_spec(spec) or spec.dtype == tf.string:
    return tf.string
  if spec.dtype in _FLOAT_DTYPES:
    return tf.float32
  if spec.dtype in _INT_DTYPES:
    return tf.int64
  raise TypeError(
      f'Spec {spec.name!r} has dtype {spec.dtype.name}, which tf.train.Example '
      'cannot store. Use a float, integer, bool or string dtype.')


def stored_shape(spec: Any) -> tf.TensorShape:
  """The shape of one record entry: images drop (height, width, channels)."""
  if is_encoded_image_spec(spec):
    return spec.shape[:-3]
  return spec.shape


def feature_for_spec(spec: Any) -> Any:
  """Returns the tf.io feature (FixedLen, FixedLenSequence, VarLen) of a spec.

  Optional specs are parsed like required ones: the input pipeline drops an
  optional spec that its records lack before building the parser.
  """
  dtype = record_dtype(spec)
  if getattr(spec, 'varlen_default_value', None) is not None:
    return tf.io.VarLenFeature(dtype)
  shape = stored_shape(spec)
  if getattr(spec, 'is_sequence', False):
    return tf.io.FixedLenSequenceFeature(
        shape.as_list(), dtype, allow_missing=True)
  return tf.io.FixedLenFeature(shape.as_list(), dtype)


def tensorspec_to_feature_dict(
    spec_structure: Any) -> Tuple[Dict[str, Any], Dict[str, Any]]:
  """Returns the parse features of a spec structure, keyed by spec name.

  Example:
    >>> features, specs_by_name = tensorspec_to_feature_dict(feature_spec)
    >>> parsed = tf.io.parse_example(serialized, features)

  Args:
    spec_structure: A spec structure (specs sharing a name are read once).

  Returns:
    A pair `(features, specs_by_name)`: the `tf.io` feature per name, and the
    spec per name.

  Raises:
    SpecTypeError: If a leaf is not a spec.
    TypeError: For a dtype a record cannot hold (see `record_dtype`).
  """
  features = {}
  specs_by_name = {}
  for path, spec in flatten_tensor_specs(spec_structure).items():
    name = spec_name(spec, path)
    features[name] = feature_for_spec(spec)
    specs_by_name[name] = spec
  return features, specs_by_name


def pad_or_clip_tensor_to_spec_shape(tensor: tf.Tensor, spec: Any) -> tf.Tensor:
  """Pads or clips the list dimension of a batched tensor to the spec.

  The tensor is (batch, length, ...) with any length; the result is
  (batch, spec.shape[0], ...), padded with `spec.varlen_default_value` (or
  the dtype's zero / empty string when the spec has none).

  Args:
    tensor: A dense batched tensor.
    spec: The spec whose first dimension is the list length.

  Returns:
    The padded or clipped tensor with a static list dimension.
  """
  max_length = spec.shape.as_list()[0]
  if max_length is None:
    raise ValueError(f'Spec {spec.name!r} has an unknown first dimension; '
                     'cannot pad or clip to it.')
  tensor = tensor[:, :max_length]
  missing = tf.maximum(max_length - tf.shape(tensor)[1], 0)
  paddings = [[0, 0], [0, missing]] + [[0, 0]] * (tensor.shape.rank - 2)
  default = getattr(spec, 'varlen_default_value', None)
  if tensor.dtype == tf.string:
    pad_value = ''
  else:
    pad_value = tf.cast(default if default is not None else 0, tensor.dtype)
  padded = tf.pad(tensor, paddings, constant_values=pad_value)
  padded.set_shape([tensor.shape[0], max_length] + tensor.shape.as_list()[2:])
  return padded
