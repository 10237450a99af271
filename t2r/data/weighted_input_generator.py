"""`WeightedRecordInputGenerator`: mixes several record datasets by weight.

E.g. 70% of every batch from on-policy replay, 30% from demonstrations. Each
dataset is read, shuffled and repeated on its own; records are then drawn
with `tf.data.Dataset.sample_from_datasets` and batched and parsed together.
"""

from typing import Optional, Sequence

import gin
import tensorflow as tf

from t2r.data import file_patterns as file_patterns_lib
from t2r.data import record_input_generator


@gin.configurable
class WeightedRecordInputGenerator(
    record_input_generator.DefaultRecordInputGenerator):
  """Samples records from several file pattern strings with given weights.

  Example:
    >>> generator = WeightedRecordInputGenerator(
    ...     file_patterns_list=['/data/replay-*', '/data/demos-*'],
    ...     weights=[0.7, 0.3], batch_size=32, seed=0)

  Tensor2Robot's spelling, one dataset per comma-separated pattern:

    >>> generator = WeightedRecordInputGenerator(
    ...     file_patterns='tfrecord:/data/replay-*,tfrecord:/data/demos-*',
    ...     weights=[0.7, 0.3], batch_size=32, seed=0)

  Every dataset repeats forever, so the mixture is an endless stream in
  every mode (`num_epochs` is not accepted).

  Args:
    file_patterns_list: One file pattern string (comma-separated globs) per
      dataset; all datasets hold records of the same specs.
    weights: Non-negative sampling weight per dataset (normalized); None
      samples uniformly.
    file_patterns: Instead of `file_patterns_list`: a comma-separated string
      of globs, each glob one dataset (unlike `DefaultRecordInputGenerator`,
      where the globs of the string form one dataset).
    **kwargs: Other `DefaultRecordInputGenerator` arguments (batch_size,
      shuffle_buffer_size, seed, skip_corrupt_records, ...). `seed` also
      seeds the sampling.

  Raises:
    ValueError: If not exactly one of `file_patterns_list` and
      `file_patterns` is given, there is no pattern, or the weights do not
      match the patterns in length, are negative or sum to zero.
  """

  def __init__(self,
               file_patterns_list: Optional[Sequence[str]] = None,
               weights: Optional[Sequence[float]] = None,
               file_patterns: Optional[str] = None,
               **kwargs):
    if (file_patterns_list is None) == (file_patterns is None):
      raise ValueError(
          'WeightedRecordInputGenerator needs exactly one of '
          'file_patterns_list (a list, one file pattern string per dataset) '
          "and file_patterns (T2R's comma-separated string, one glob per "
          f'dataset); got file_patterns_list={file_patterns_list!r}, '
          f'file_patterns={file_patterns!r}.')
    if file_patterns is not None:
      if not isinstance(file_patterns, str):
        raise ValueError(
            'WeightedRecordInputGenerator: file_patterns must be a '
            "comma-separated string such as '/data/replay-*,/data/demos-*' "
            f'(one glob per dataset), got {file_patterns!r}; pass a list as '
            'file_patterns_list.')
      file_patterns_list = [
          entry.strip() for entry in file_patterns.split(',') if entry.strip()
      ]
    if isinstance(file_patterns_list, str) or not file_patterns_list:
      raise ValueError(
          'file_patterns_list must be a non-empty list of file pattern '
          f'strings (one per dataset), got {file_patterns_list!r}; for one '
          'comma-separated string, pass file_patterns=.')
    if 'num_epochs' in kwargs or 'dataset_map' in kwargs:
      raise ValueError('WeightedRecordInputGenerator repeats every dataset '
                       'forever and reads one stream per pattern; num_epochs '
                       'and dataset_map are not supported.')
    if weights is None:
      weights = [1.0] * len(file_patterns_list)
    weights = [float(w) for w in weights]
    if len(weights) != len(file_patterns_list) or min(weights) < 0 or not sum(
        weights):
      raise ValueError(
          f'weights {weights!r} must be non-negative, not all zero, and have '
          f'one entry per file pattern ({len(file_patterns_list)}: '
          f'{list(file_patterns_list)}).')
    super().__init__(file_patterns=','.join(file_patterns_list), **kwargs)
    self._file_patterns_list = list(file_patterns_list)
    self._weights = [w / sum(weights) for w in weights]

  def _create_dataset(self, mode, batch_size, input_context):
    datasets = []
    present = set()
    for patterns in self._file_patterns_list:
      _, filenames = file_patterns_lib.get_data_format_and_filenames(patterns)
      records, dataset_present = self._records({None: filenames}, mode,
                                               input_context)
      datasets.append(records.repeat())
      present |= dataset_present
    records = tf.data.Dataset.sample_from_datasets(
        datasets, weights=self._weights, seed=self._seed)
    return self._parse(
        records.batch(
            batch_size,
            drop_remainder=(True if self._drop_remainder is None else
                            self._drop_remainder)), present, mode)
