"""Error classes that keep Tensor2Robot's `except` clauses working.

t2r raises `TypeError` where a value has the wrong type (a non-spec in a spec
structure, a non-callable preprocess function, ...), which is what Python
code expects. Tensor2Robot raised `ValueError` in several of those places,
so T2R code written as `except ValueError:` would miss t2r's errors.
`SpecTypeError` is both: Python's `except TypeError` and T2R's `except
ValueError` catch it.

Example:
  >>> try:
  ...   raise SpecTypeError('spec_structure holds 3, not a spec.')
  ... except ValueError as e:  # What Tensor2Robot code catches.
  ...   print(e)
  spec_structure holds 3, not a spec.
"""


class SpecTypeError(TypeError, ValueError):
  """A value of the wrong type where Tensor2Robot raised ValueError."""
