"""`ExtendedTensorSpec`: a `tf.TensorSpec` that also says how its data is stored.

A model declares every input once as an `ExtendedTensorSpec`. Besides shape and
dtype it records what the data pipeline, the writer and the exporter need to
know: whether the tensor may be missing (`is_optional`), whether it is a
per-timestep feature of a `tf.train.SequenceExample` (`is_sequence`), whether
it is stored as encoded images (`data_format`), which record stream holds it
(`dataset_key`) and how a variable-length list is padded
(`varlen_default_value`).
"""

from typing import Any, Optional, Sequence, Union

import numpy as np
import tensorflow as tf

from t2r.errors import SpecTypeError
from t2r.specs import batch_dims as batch_dims_lib

ENCODED_IMAGE_FORMATS = ('jpeg', 'png')
_IMAGE_DTYPES = (tf.uint8, tf.uint16)

ShapeLike = Union[tf.TensorShape, Sequence[Optional[int]], int, None]


class _Unset:
  """Marks an override argument of `from_spec` that was not passed."""

  def __repr__(self):
    return '<unset>'


_UNSET = _Unset()


def _normalize_data_format(data_format: Optional[str], shape: tf.TensorShape,
                           dtype: tf.DType, name: Optional[str]) -> Optional[str]:
  """Returns the canonical (lower case) image format, validating the spec."""
  if data_format is None:
    return None
  if not isinstance(data_format, str):
    raise TypeError(
        f'ExtendedTensorSpec {name!r}: data_format must be a string such as '
        f"'jpeg' or 'png', got {data_format!r} ({type(data_format).__name__}).")
  canonical = data_format.lower()
  if canonical not in ENCODED_IMAGE_FORMATS:
    raise ValueError(
        f'ExtendedTensorSpec {name!r}: unknown data_format {data_format!r}; '
        f'expected one of {list(ENCODED_IMAGE_FORMATS)} (case-insensitive) or '
        'None for raw tensors.')
  if dtype not in _IMAGE_DTYPES:
    raise ValueError(
        f'ExtendedTensorSpec {name!r}: data_format {data_format!r} decodes to '
        f'uint8 or uint16 images, but the spec has dtype {dtype.name}. Declare '
        'the spec as uint8 (or uint16 for 16-bit PNG) and convert to float in '
        'a preprocessor.')
  if canonical == 'jpeg' and dtype != tf.uint8:
    raise ValueError(
        f'ExtendedTensorSpec {name!r}: JPEG images are 8 bit, so the spec '
        f'must be uint8, got {dtype.name}. Use data_format="png" for uint16.')
  if shape.rank is None or shape.rank < 3:
    raise ValueError(
        f'ExtendedTensorSpec {name!r}: an encoded {canonical} image needs a '
        f'shape of rank >= 3 ending in (height, width, channels), got '
        f'{_shape_str(shape)}.')
  return canonical


def _validate_varlen(varlen_default_value: Any, shape: tf.TensorShape,
                     data_format: Optional[str], name: Optional[str]):
  """Checks that a variable-length spec can be padded to its shape."""
  if varlen_default_value is None:
    return None
  if isinstance(varlen_default_value, (bool, np.bool_)) or not isinstance(
      varlen_default_value, (int, float, np.integer, np.floating)):
    raise TypeError(
        f'ExtendedTensorSpec {name!r}: varlen_default_value must be a number '
        f'used to pad short lists, got {varlen_default_value!r}.')
  expected_rank = 4 if data_format else 1
  if shape.rank != expected_rank:
    what = ('a list of encoded images (num_images, height, width, channels)'
            if data_format else 'a 1-D list (max_length,)')
    raise ValueError(
        f'ExtendedTensorSpec {name!r}: varlen_default_value needs {what}, so '
        f'rank {expected_rank}, but the shape is {_shape_str(shape)}.')
  if not shape.is_fully_defined():
    raise ValueError(
        f'ExtendedTensorSpec {name!r}: a variable-length spec is padded or '
        f'clipped to its shape, so every dimension must be known; got '
        f'{_shape_str(shape)}.')
  return float(varlen_default_value)


def _shape_str(shape: tf.TensorShape) -> str:
  if shape.rank is None:
    return '<unknown rank>'
  return str(tuple(shape.as_list()))


class ExtendedTensorSpec(tf.TensorSpec):
  """A `tf.TensorSpec` with the metadata T2R needs to parse and export data.

  Equality and hashing compare shape and dtype only, as in Tensor2Robot: two
  specs for the same tensor under different names are interchangeable.

  Example:
    >>> image = ExtendedTensorSpec(
    ...     shape=(64, 64, 3), dtype=tf.uint8, name='image', data_format='jpeg')
    >>> batched = ExtendedTensorSpec.from_spec(image, batch_size=-1)
    >>> batched.shape.as_list()
    [None, 64, 64, 3]

  Args:
    shape: The shape of one example, without the batch dimension.
    dtype: The tensor dtype.
    name: The name the data uses: the feature key in tf.Examples, the
      placeholder and signature name. Defaults to None (the path is used).
    is_optional: The tensor may be missing from the data.
    is_sequence: A per-timestep feature of a `tf.train.SequenceExample`; the
      parsed tensor has shape (batch, time) + shape.
    is_extracted: The spec was taken from a tensor (`from_tensor`): its shape
      is the tensor's full shape, time dimension included, and validation
      compares it like a tensor. The parser treats it like any other spec.
    data_format: 'jpeg' or 'png' (case-insensitive) for encoded images;
      requires a uint8 (or uint16 PNG) spec of rank >= 3.
    dataset_key: The record stream this tensor is read from ('' = default).
    varlen_default_value: Marks a variable-length list padded with this value
      or clipped to the spec's first dimension; rank 1, or rank 4 for a list
      of encoded images.

  Raises:
    ValueError: If the combination of fields cannot be parsed or decoded.
    TypeError: If a field has the wrong type.
  """

  __slots__ = ('_is_optional', '_is_sequence', '_is_extracted', '_data_format',
               '_dataset_key', '_varlen_default_value')

  def __init__(self,
               shape: ShapeLike,
               dtype: Any,
               name: Optional[str] = None,
               is_optional: bool = False,
               is_sequence: bool = False,
               is_extracted: bool = False,
               data_format: Optional[str] = None,
               dataset_key: str = '',
               varlen_default_value: Optional[float] = None):
    try:
      dtype = tf.as_dtype(dtype)
    except TypeError as e:
      raise TypeError(
          f'ExtendedTensorSpec {name!r}: cannot interpret dtype {dtype!r}; '
          "pass a tf.DType, numpy dtype or a name such as 'float32'.") from e
    try:
      shape = tf.TensorShape(shape)
    except (TypeError, ValueError) as e:
      raise TypeError(
          f'ExtendedTensorSpec {name!r}: cannot interpret shape {shape!r}; '
          'pass a tuple of ints or None.') from e
    if name is not None and not isinstance(name, str):
      raise TypeError(
          f'ExtendedTensorSpec name must be a string or None, got {name!r}.')
    if dataset_key is None:
      dataset_key = ''
    if not isinstance(dataset_key, str):
      raise TypeError(f'ExtendedTensorSpec {name!r}: dataset_key must be a '
                      f'string, got {dataset_key!r}.')
    super().__init__(shape, dtype, name)
    self._is_optional = bool(is_optional)
    self._is_sequence = bool(is_sequence)
    self._is_extracted = bool(is_extracted)
    self._data_format = _normalize_data_format(data_format, shape, dtype, name)
    self._dataset_key = dataset_key
    self._varlen_default_value = _validate_varlen(
        varlen_default_value, shape, self._data_format, name)

  @property
  def is_optional(self) -> bool:
    return self._is_optional

  @property
  def is_sequence(self) -> bool:
    return self._is_sequence

  @property
  def is_extracted(self) -> bool:
    return self._is_extracted

  @property
  def data_format(self) -> Optional[str]:
    return self._data_format

  @property
  def dataset_key(self) -> str:
    return self._dataset_key

  @property
  def varlen_default_value(self) -> Optional[float]:
    return self._varlen_default_value

  @classmethod
  def from_spec(cls,
                spec: tf.TensorSpec,
                shape: Any = _UNSET,
                dtype: Any = _UNSET,
                name: Any = _UNSET,
                is_optional: Any = _UNSET,
                is_sequence: Any = _UNSET,
                is_extracted: Any = _UNSET,
                data_format: Any = _UNSET,
                dataset_key: Any = _UNSET,
                varlen_default_value: Any = _UNSET,
                batch_size: Optional[int] = None) -> 'ExtendedTensorSpec':
    """Returns a copy of `spec` with the given fields replaced.

    Any field not passed is taken from `spec` (a plain `tf.TensorSpec` gives
    the defaults). Passing `None` explicitly clears a field such as
    `data_format`.

    Example:
      >>> state = ExtendedTensorSpec((8,), tf.float32, name='s')
      >>> ExtendedTensorSpec.from_spec(state, name='train/s', batch_size=4)
      ... # shape (4, 8), name 'train/s'

    Args:
      spec: The spec to copy (`tf.TensorSpec` or `ExtendedTensorSpec`).
      shape: A new shape.
      dtype: A new dtype.
      name: A new name.
      is_optional: See the class docstring.
      is_sequence: See the class docstring.
      is_extracted: See the class docstring.
      data_format: See the class docstring.
      dataset_key: See the class docstring.
      varlen_default_value: See the class docstring.
      batch_size: None adds nothing (T2R's default); N > 0 prepends a batch
        dimension of size N; -1 prepends an unknown (None) batch dimension.
        See the table in the `t2r.specs` docstring.

    Returns:
      A new `ExtendedTensorSpec`.

    Raises:
      SpecTypeError: If `spec` is not a `tf.TensorSpec`, or `batch_size` is
        not None or an int (a TypeError, and the ValueError Tensor2Robot
        raised).
      ValueError: If `batch_size` is 0 or negative other than -1.
    """
    if not isinstance(spec, tf.TypeSpec) or not hasattr(spec, 'shape'):
      raise SpecTypeError(
          f'ExtendedTensorSpec.from_spec expects a tf.TensorSpec, got {spec!r} '
          f'({type(spec).__name__}). For a tensor or numpy array use '
          'ExtendedTensorSpec.from_tensor.')

    def pick(value, attribute, default):
      if value is not _UNSET:
        return value
      return getattr(spec, attribute, default)

    new_shape = tf.TensorShape(pick(shape, 'shape', None))
    batch_dims = batch_dims_lib.spec_batch_dims(batch_size)
    if batch_dims:
      new_shape = tf.TensorShape(batch_dims).concatenate(new_shape)
      # A batched spec describes many lists, not one padded list.
      if varlen_default_value is _UNSET:
        varlen_default_value = None
    return cls(
        shape=new_shape,
        dtype=pick(dtype, 'dtype', None),
        name=pick(name, 'name', None),
        is_optional=pick(is_optional, 'is_optional', False),
        is_sequence=pick(is_sequence, 'is_sequence', False),
        is_extracted=pick(is_extracted, 'is_extracted', False),
        data_format=pick(data_format, 'data_format', None),
        dataset_key=pick(dataset_key, 'dataset_key', ''),
        varlen_default_value=pick(varlen_default_value, 'varlen_default_value',
                                  None))

  @classmethod
  def from_tensor(cls, tensor: Any, name: Optional[str] = None,
                  **kwargs) -> 'ExtendedTensorSpec':
    """Returns the spec of a tensor or numpy array, marked `is_extracted`.

    As `tf.TensorSpec.from_tensor` (and Tensor2Robot): a graph tensor, such
    as a placeholder, gives its op name ('state', not the tensor name
    'state:0') unless `name` is passed; eager tensors, variables and numpy
    arrays give `name`.

    Example:
      >>> with tf.Graph().as_default():
      ...   state = tf.compat.v1.placeholder(tf.float32, (None, 8), 'state')
      ...   ExtendedTensorSpec.from_tensor(state).name
      'state'

    The spec's shape is the tensor's full shape, so validation compares it
    like the tensor itself (a sequence spec expects the time dimension in
    it); pass `is_extracted=False` to use the result as a declaration.

    Args:
      tensor: A `tf.Tensor`, `tf.Variable` or numpy array.
      name: The spec name; defaults to the op name of a graph tensor.
      **kwargs: Other `ExtendedTensorSpec` fields (`is_extracted` defaults
        to True).

    Returns:
      A new `ExtendedTensorSpec`.

    Raises:
      SpecTypeError: If `tensor` has no shape and dtype (a TypeError, and
        the ValueError Tensor2Robot raised).
    """
    if not hasattr(tensor, 'shape') or not hasattr(tensor, 'dtype'):
      raise SpecTypeError(
          f'ExtendedTensorSpec.from_tensor expects a tensor or numpy array, '
          f'got {type(tensor).__name__}: {tensor!r}. Build a spec with '
          'ExtendedTensorSpec(shape, dtype) instead.')
    if name is None and tf.is_symbolic_tensor(tensor):
      name = tensor.op.name
    kwargs.setdefault('is_extracted', True)
    return cls(tensor.shape, tensor.dtype, name=name, **kwargs)

  def to_proto(self):
    """Returns this spec as a `t2r_pb2.ExtendedTensorSpec` message."""
    from t2r.specs import proto_conversion  # pylint: disable=g-import-not-at-top
    return proto_conversion.spec_to_proto(self)

  @classmethod
  def from_proto(cls, message) -> 'ExtendedTensorSpec':
    """Returns the spec stored in a `t2r_pb2.ExtendedTensorSpec` message."""
    from t2r.specs import proto_conversion  # pylint: disable=g-import-not-at-top
    return proto_conversion.spec_from_proto(message)

  def __eq__(self, other: Any) -> bool:
    """Compares shape and dtype only (names and metadata are ignored)."""
    if not isinstance(other, tf.TensorSpec):
      return NotImplemented
    if self.shape.rank is None or other.shape.rank is None:
      same_shape = self.shape.rank == other.shape.rank
    else:
      same_shape = self.shape.as_list() == other.shape.as_list()
    return same_shape and self.dtype == other.dtype

  def __ne__(self, other: Any) -> bool:
    result = self.__eq__(other)
    return result if result is NotImplemented else not result

  def __hash__(self):
    return hash((self.shape, self.dtype))

  def __repr__(self) -> str:
    return (f'ExtendedTensorSpec(shape={_shape_str(self.shape)}, '
            f'dtype=tf.{self.dtype.name}, name={self.name!r}, '
            f'is_optional={self.is_optional}, is_sequence={self.is_sequence}, '
            f'is_extracted={self.is_extracted}, '
            f'data_format={self.data_format!r}, '
            f'dataset_key={self.dataset_key!r}, '
            f'varlen_default_value={self.varlen_default_value!r})')

  def __reduce__(self):
    return (ExtendedTensorSpec, self._serialize())

  def _serialize(self):
    return (self.shape, self.dtype, self.name, self.is_optional,
            self.is_sequence, self.is_extracted, self.data_format,
            self.dataset_key, self.varlen_default_value)

  def __tf_tracing_type__(self, context):
    # tf.function compares the trace types of its arguments with those of the
    # input signature; a tensor's trace type is a plain TensorSpec, so the
    # signature must hold plain TensorSpecs too.
    return tf.TensorSpec(self.shape, self.dtype, self.name)


def is_encoded_image_spec(spec: Any) -> bool:
  """True if `spec` describes images stored encoded (JPEG or PNG).

  Example:
    >>> is_encoded_image_spec(ExtendedTensorSpec((8, 8, 3), tf.uint8,
    ...                                          data_format='png'))
    True
  """
  return getattr(spec, 'data_format', None) in ENCODED_IMAGE_FORMATS
