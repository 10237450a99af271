"""`FractionalRecordInputGenerator`: reads only a fraction of the files.

For data ablations ("how good is the policy with 10% of the data?"): the
first `file_fraction` of the files, in sorted order, so that the same files
are kept on every run and every worker, and a smaller fraction keeps a
subset of what a larger one keeps.
"""

import math
from typing import Dict, List, Optional

import gin

from t2r.data import record_input_generator


@gin.configurable
class FractionalRecordInputGenerator(
    record_input_generator.DefaultRecordInputGenerator):
  """A `DefaultRecordInputGenerator` over the first fraction of its files.

  Example:
    >>> generator = FractionalRecordInputGenerator(
    ...     file_fraction=0.25, file_patterns='tfrecord:/data/train-*',
    ...     batch_size=32)

  The files are resolved when a dataset is created (as for the default
  generator), not at construction, so the pattern may name files that are
  still being written when gin builds the generator. With a `dataset_map`
  the fraction applies to each stream, which keeps zipped streams aligned
  when they have the same number of files.

  Args:
    file_fraction: The fraction in (0, 1] of the files to read: the first
      `floor(file_fraction * number of files)` of the sorted files.
    **kwargs: `DefaultRecordInputGenerator` arguments (file_patterns or
      dataset_map, batch_size, seed, ...).

  Raises:
    ValueError: If `file_fraction` is not in (0, 1]; when a dataset is
      created, if the fraction keeps no file.
  """

  def __init__(self, file_fraction: float = 1.0, **kwargs):
    if isinstance(file_fraction, bool) or not isinstance(
        file_fraction, (int, float)) or not 0.0 < file_fraction <= 1.0:
      raise ValueError(
          'FractionalRecordInputGenerator: file_fraction must be a number in '
          f'(0, 1], got {file_fraction!r}.')
    super().__init__(**kwargs)
    self._file_fraction = float(file_fraction)

  @property
  def file_fraction(self) -> float:
    return self._file_fraction

  def _filenames_by_stream(self) -> Dict[Optional[str], List[str]]:
    kept = {}
    for key, filenames in super()._filenames_by_stream().items():
      count = math.floor(self._file_fraction * len(filenames))
      if not count:
        stream = f' of dataset_key {key!r}' if key is not None else ''
        raise ValueError(
            f'FractionalRecordInputGenerator: file_fraction '
            f'{self._file_fraction} of the {len(filenames)} files{stream} '
            'keeps no file. Raise file_fraction to at least '
            f'{1 / len(filenames):.3g} or add files.')
      kept[key] = filenames[:count]
    return kept
