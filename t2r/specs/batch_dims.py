"""What the `batch_size` argument of each spec call means, checked in one place.

Tensor2Robot gave `batch_size=None` two meanings: "no batch dimension" where
the result must have known sizes (`ExtendedTensorSpec.from_spec`, the numpy
makers) and "an unknown batch dimension" where it feeds a graph
(`make_placeholders`). Those meanings are kept; everything whose meaning
differed between calls (0, -1 outside `from_spec`, other negative numbers) or
was never a batch size (bools, floats) is rejected with an error naming the
call. The table in the `t2r.specs` package docstring lists every call.

Example:
  >>> spec_batch_dims(-1)
  [None]
  >>> array_batch_dims(None, 'make_random_numpy')
  []
  >>> signature_batch_dims(None, 'make_input_signature')
  [None]
"""

from typing import Any, List, Optional

import numpy as np

from t2r.errors import SpecTypeError

# T2R's `from_spec(batch_size=-1)`: prepend an unknown (None) batch dimension.
UNKNOWN_BATCH_SIZE = -1

_FROM_SPEC = 'ExtendedTensorSpec.from_spec'
_NO_BATCH = 'None (no batch dimension)'
_FIXED = 'a positive int N (a batch of N)'


def _check(batch_size: Any, call: str, accepted: str, hint: str,
           allows_unknown: bool = False) -> Optional[int]:
  """Returns `batch_size` as a Python int (or None), or raises.

  Args:
    batch_size: The value passed to `call`.
    call: The function the user called, for the message.
    accepted: What `call` accepts, in words.
    hint: How to get what the user probably meant, for the message.
    allows_unknown: Whether `call` accepts UNKNOWN_BATCH_SIZE.

  Returns:
    None, or `batch_size` as an int (> 0, or UNKNOWN_BATCH_SIZE).

  Raises:
    SpecTypeError: If `batch_size` is not None or an int (bools are not
      ints here); a TypeError, and the ValueError Tensor2Robot raised.
    ValueError: If `batch_size` is an int that `call` does not accept.
  """
  if batch_size is None:
    return None
  if isinstance(batch_size, (bool, np.bool_)) or not isinstance(
      batch_size, (int, np.integer)):
    raise SpecTypeError(
        f'{call} got batch_size={batch_size!r} ({type(batch_size).__name__}); '
        f'it accepts {accepted}. {hint}')
  batch_size = int(batch_size)
  if batch_size > 0 or (allows_unknown and
                        batch_size == UNKNOWN_BATCH_SIZE):
    return batch_size
  raise ValueError(
      f'{call} got batch_size={batch_size}; it accepts {accepted}. {hint} '
      '(0 and other negative sizes meant different things in different T2R '
      'calls, so they are rejected.)')


def spec_batch_dims(batch_size: Optional[int]) -> List[Optional[int]]:
  """The batch dims `ExtendedTensorSpec.from_spec` prepends to a shape.

  Example:
    >>> spec_batch_dims(None), spec_batch_dims(4), spec_batch_dims(-1)
    ([], [4], [None])

  Args:
    batch_size: None: no batch dimension (a plain copy); N > 0: a batch of
      N; -1: an unknown batch dimension.

  Returns:
    [] , [N] or [None].

  Raises:
    SpecTypeError: If `batch_size` is not None or an int.
    ValueError: If `batch_size` is 0 or negative other than -1.
  """
  batch_size = _check(
      batch_size, _FROM_SPEC,
      f'{_NO_BATCH}, {_FIXED} or -1 (an unknown batch dimension)',
      'Pass -1 for an unknown batch dimension or None to copy the shape as '
      'it is.', allows_unknown=True)
  if batch_size is None:
    return []
  return [None if batch_size == UNKNOWN_BATCH_SIZE else batch_size]


def array_batch_dims(batch_size: Optional[int], call: str) -> List[int]:
  """The batch dims the numpy makers give their arrays.

  Example:
    >>> array_batch_dims(None, 'make_random_numpy')
    []

  Args:
    batch_size: None: no batch dimension; N > 0: a batch of N.
    call: The numpy maker called ('make_constant_numpy', ...), for errors.

  Returns:
    [] or [N].

  Raises:
    SpecTypeError: If `batch_size` is not None or an int.
    ValueError: If `batch_size` is not None or positive (arrays need a known
      size, so -1 has no meaning here).
  """
  batch_size = _check(
      batch_size, call, f'{_NO_BATCH} or {_FIXED}',
      'Numpy arrays have known sizes: pass None for one example without a '
      'batch dimension, or the number of examples.')
  return [] if batch_size is None else [batch_size]


def signature_batch_dims(batch_size: Optional[int],
                         call: str) -> List[Optional[int]]:
  """The batch dims of placeholders, input signatures and batched specs.

  Example:
    >>> signature_batch_dims(None, 'make_placeholders')
    [None]

  Args:
    batch_size: None: an unknown batch dimension; N > 0: a batch of N.
    call: The function called ('make_placeholders', ...), for errors.

  Returns:
    [None] or [N].

  Raises:
    SpecTypeError: If `batch_size` is not None or an int.
    ValueError: If `batch_size` is not None or positive.
  """
  batch_size = _check(
      batch_size, call, f'None (an unknown batch dimension) or {_FIXED}',
      f'Pass None for an unknown batch dimension (-1 means that only in '
      f'{_FROM_SPEC}); for shapes without a batch dimension use the specs '
      'themselves, which are tf.TensorSpecs.')
  return [batch_size]
