"""Numpy data that matches a spec structure: constants and seeded random draws.

Used by tests, benchmarks, warmup requests and constant/random input
generators. Encoded-image specs get decoded pixel arrays (what a writer
encodes and a parser returns).
"""

from typing import Any, List, Optional

import numpy as np
import tensorflow as tf

from t2r.specs.batch_dims import array_batch_dims
from t2r.specs.structure import flatten_tensor_specs
from t2r.specs.structure import pack_flat_sequence_to_spec_structure


def _full_shape(spec: Any, batch_dims: List[int],
                sequence_length: int) -> tuple:
  if not spec.shape.is_fully_defined():
    raise ValueError(
        f'Cannot make numpy data for spec {spec.name!r} with shape '
        f'{tuple(spec.shape.as_list())}: every dimension must be known.')
  shape = list(spec.shape.as_list())
  if getattr(spec, 'is_sequence', False):
    shape = [sequence_length] + shape
  return tuple(batch_dims + shape)


def make_constant_numpy(spec_structure: Any,
                        constant_value: Any,
                        batch_size: Optional[int] = None,
                        sequence_length: int = 3) -> Any:
  """Returns arrays filled with `constant_value`, laid out like the spec.

  Example:
    >>> make_constant_numpy(spec, 1, batch_size=2).state.shape
    (2, 8, 128)

  Args:
    spec_structure: A spec structure with fully defined shapes.
    constant_value: The fill value (cast to each spec's dtype; strings get
      `str(constant_value)` as bytes).
    batch_size: None: no batch dimension (one example); N > 0: a batch of
      N. See the table in the `t2r.specs` docstring.
    sequence_length: The time dimension given to sequence specs.

  Returns:
    Numpy arrays in the layout of `spec_structure`.

  Raises:
    SpecTypeError: If a leaf is not a spec, or `batch_size` is not None or
      an int.
    ValueError: If `batch_size` is 0 or negative, or a shape is not fully
      defined.
  """
  batch_dims = array_batch_dims(batch_size, 'make_constant_numpy')
  flat = flatten_tensor_specs(spec_structure)
  arrays = {}
  for path, spec in flat.items():
    shape = _full_shape(spec, batch_dims, sequence_length)
    if spec.dtype == tf.string:
      arrays[path] = np.full(shape, str(constant_value).encode(), dtype=object)
    else:
      arrays[path] = np.full(shape, constant_value,
                             dtype=spec.dtype.as_numpy_dtype)
  return pack_flat_sequence_to_spec_structure(spec_structure, arrays)


def make_random_numpy(spec_structure: Any,
                      batch_size: Optional[int] = None,
                      sequence_length: int = 3,
                      seed: Optional[int] = None) -> Any:
  """Returns seeded random arrays laid out like the spec.

  Floats are uniform in [0, 1), integers uniform over [0, 256) clipped to the
  dtype's range (so uint8 images cover all values), bools fair coins, strings
  short random ASCII words.

  Args:
    spec_structure: A spec structure with fully defined shapes.
    batch_size: As in `make_constant_numpy`.
    sequence_length: The time dimension given to sequence specs.
    seed: Seed of the numpy generator; the same seed gives the same arrays.

  Returns:
    Numpy arrays in the layout of `spec_structure`.

  Raises:
    SpecTypeError: If a leaf is not a spec, or `batch_size` is not None or
      an int.
    TypeError: If a dtype has no random values.
    ValueError: If `batch_size` is 0 or negative, or a shape is not fully
      defined.
  """
  batch_dims = array_batch_dims(batch_size, 'make_random_numpy')
  rng = np.random.default_rng(seed)
  flat = flatten_tensor_specs(spec_structure)
  arrays = {}
  for path, spec in flat.items():
    shape = _full_shape(spec, batch_dims, sequence_length)
    dtype = spec.dtype
    if dtype == tf.string:
      letters = rng.integers(ord('a'), ord('z') + 1, size=shape + (6,))
      words = np.array([bytes(bytearray(w)) for w in letters.reshape(-1, 6)],
                       dtype=object)
      arrays[path] = words.reshape(shape)
    elif dtype == tf.bool:
      arrays[path] = rng.integers(0, 2, size=shape).astype(bool)
    elif dtype.is_floating:
      arrays[path] = rng.random(size=shape).astype(dtype.as_numpy_dtype)
    elif dtype.is_integer:
      high = min(256, int(dtype.max) + 1)
      arrays[path] = rng.integers(0, high, size=shape).astype(
          dtype.as_numpy_dtype)
    else:
      raise TypeError(f'make_random_numpy does not support dtype {dtype.name} '
                      f'of spec {path!r}.')
  return pack_flat_sequence_to_spec_structure(spec_structure, arrays)
