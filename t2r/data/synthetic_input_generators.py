"""Input generators that make data instead of reading it.

Constant and random batches shaped by the specs exercise a model end to end
(training, export, benchmarks) without any files; `GeneratorInputGenerator`
wraps a Python generator, e.g. a simulator, and checks each batch it yields
against the specs.
"""

import itertools
from typing import Any, Callable, Iterable, Optional

import gin
import numpy as np
import tensorflow as tf

from t2r import specs
from t2r.data import abstract_input_generator

# generator_fn(batch_size) -> iterable of (features, labels) numpy batches.
GeneratorFn = Callable[[int], Iterable[Any]]


def _flat_signature(spec_structure: Any, batch_size: int) -> dict:
  """`tf.TensorSpec`s of a batch, keyed by path (the tf.data signature)."""
  return dict(
      specs.flatten_spec_structure(
          specs.make_input_signature(spec_structure,
                                     batch_size=batch_size)).items())


def _pack(spec_structure: Any, flat: dict) -> Any:
  return specs.pack_flat_sequence_to_spec_structure(spec_structure, flat)


def dataset_from_batches(make_iterable: Callable[[], Iterable[Any]],
                         feature_spec: Any, label_spec: Any,
                         batch_size: int) -> tf.data.Dataset:
  """A dataset of the batches `make_iterable()` yields, checked against specs.

  Args:
    make_iterable: Returns an iterable of `(features, labels)` numpy batches.
    feature_spec: The feature spec structure the batches must match.
    label_spec: The label spec structure the batches must match.
    batch_size: The leading dimension every array must have.

  Returns:
    A `tf.data.Dataset` of `(features, labels)` packed like the specs.
  """
  signature = (_flat_signature(feature_spec, batch_size),
               _flat_signature(label_spec, batch_size))

  def checked_batches():
    for index, batch in enumerate(make_iterable()):
      yield _check_batch(index, batch, feature_spec, label_spec, signature)

  dataset = tf.data.Dataset.from_generator(
      checked_batches, output_signature=signature)
  return dataset.map(lambda f, l: (_pack(feature_spec, f),
                                   _pack(label_spec, l)))


@gin.configurable
class GeneratorInputGenerator(abstract_input_generator.AbstractInputGenerator):
  """Batches from a Python generator, checked against the specs.

  Example:
    >>> def simulate(batch_size):
    ...   while True:
    ...     yield ({'state': np.zeros((batch_size, 8), np.float32)},
    ...            {'reward': np.ones((batch_size, 1), np.float32)})
    >>> generator = GeneratorInputGenerator(simulate, batch_size=4)

  Args:
    generator_fn: Called with the batch size; returns an iterable of
      `(features, labels)` batches of numpy arrays (or anything
      `np.asarray` accepts) laid out like the in specs (nested dicts, or
      flat path-keyed dicts / `TensorSpecStruct`s). Every spec, optional
      ones included, must be in every batch: tf.data needs one fixed
      structure. The dataset ends when the iterable does.
    batch_size: The batch size passed to `generator_fn`.

  A batch that misses a spec or has a wrong shape or dtype fails the
  iteration with a `tf.errors.InvalidArgumentError` whose ValueError message
  names the path and the batch index.
  """

  def __init__(self, generator_fn: GeneratorFn, batch_size: int = 32):
    super().__init__(batch_size=batch_size)
    if not callable(generator_fn):
      raise TypeError('generator_fn must be callable as generator_fn('
                      f'batch_size) -> iterable, got {generator_fn!r}.')
    self._generator_fn = generator_fn

  def _create_dataset(self, mode, batch_size, input_context):
    del mode, input_context  # Each pipeline runs its own generator.
    return dataset_from_batches(lambda: self._generator_fn(batch_size),
                                self._feature_spec, self._label_spec,
                                batch_size)


def _check_batch(index: int, batch: Any, feature_spec: Any, label_spec: Any,
                 signature: tuple) -> tuple:
  """Validates one yielded batch; returns it as flat dicts of arrays."""
  if not isinstance(batch, (tuple, list)) or len(batch) != 2:
    raise ValueError(
        f'Generator batch {index} is a {type(batch).__name__}; expected a '
        '(features, labels) pair of numpy structures laid out like the specs.')
  result = []
  for what, spec, values, flat_signature in zip(('features', 'labels'),
                                                (feature_spec, label_spec),
                                                batch, signature):
    arrays = specs.TensorSpecStruct()
    if flat_signature:
      flat_values = specs.flatten_spec_structure(values)
      for path, value in flat_values.items():
        arrays[path] = _as_array(value)
      try:
        arrays = specs.validate_and_flatten(spec, arrays, ignore_batch=True)
        for path, value in arrays.items():
          specs.check_value_matches_spec(path, flat_signature[path], value)
      except ValueError as e:
        raise ValueError(f'Generator batch {index}, {what}: {e}') from e
      missing = sorted(set(flat_signature) - set(arrays.keys()))
      if missing:
        raise ValueError(
            f'Generator batch {index}, {what}: the optional specs {missing} '
            'are missing; a generator must yield every spec in every batch '
            '(tf.data needs one structure). Yield them, or drop them from '
            'the spec.')
    result.append(dict(arrays.items()))
  return tuple(result)


def _as_array(value: Any) -> np.ndarray:
  array = np.asarray(value)
  return array.astype(object) if array.dtype.kind in ('U', 'S') else array


def _checked_sequence_length(sequence_length: int) -> int:
  if isinstance(sequence_length, bool) or not isinstance(
      sequence_length, int) or sequence_length <= 0:
    raise ValueError('sequence_length (the time dimension of sequence specs) '
                     f'must be a positive int, got {sequence_length!r}.')
  return sequence_length


@gin.configurable
class DefaultConstantInputGenerator(
    abstract_input_generator.AbstractInputGenerator):
  """An endless stream of identical batches filled with one value.

  Example:
    >>> generator = DefaultConstantInputGenerator(constant_value=1.0,
    ...                                           batch_size=2)
    >>> generator.set_specification_from_model(model, ModeKeys.TRAIN)
    >>> features, labels = next(iter(generator.create_dataset('train')))

  Args:
    constant_value: The value of every element (cast to each spec's dtype).
    batch_size: The batch size.
    sequence_length: The time dimension given to sequence specs.
  """

  def __init__(self,
               constant_value: Any,
               batch_size: int = 32,
               sequence_length: int = 3):
    super().__init__(batch_size=batch_size)
    self._sequence_length = _checked_sequence_length(sequence_length)
    self._constant_value = constant_value

  def _create_dataset(self, mode, batch_size, input_context):
    # One batch, repeated: nothing to compute per step.
    del mode, input_context
    batch = tuple(
        specs.make_constant_numpy(spec, self._constant_value, batch_size,
                                  self._sequence_length)
        for spec in (self._feature_spec, self._label_spec))
    return tf.data.Dataset.from_tensors(batch).repeat()


@gin.configurable
class DefaultRandomInputGenerator(
    abstract_input_generator.AbstractInputGenerator):
  """An endless stream of random batches (`specs.make_random_numpy`).

  With a seed the stream is the same on every run; each input pipeline of a
  distributed job gets its own stream.

  Args:
    batch_size: The batch size.
    seed: Seed of the stream; None draws a fresh one.
    sequence_length: The time dimension given to sequence specs.
  """

  def __init__(self,
               batch_size: int = 32,
               seed: Optional[int] = None,
               sequence_length: int = 3):
    super().__init__(batch_size=batch_size)
    self._sequence_length = _checked_sequence_length(sequence_length)
    self._seed = seed

  def _create_dataset(self, mode, batch_size, input_context):
    del mode
    pipeline_id = input_context.input_pipeline_id if input_context else 0
    # Fixed entropy for a seeded stream; fresh entropy (drawn once per
    # dataset) otherwise. Batch i of pipeline p uses the seeds of (p, i).
    entropy = np.random.SeedSequence(self._seed).entropy

    def batches():
      for index in itertools.count():
        feature_seed, label_seed = np.random.SeedSequence(
            [entropy, pipeline_id, index]).generate_state(2)
        yield (specs.make_random_numpy(self._feature_spec, batch_size,
                                       self._sequence_length,
                                       int(feature_seed)),
               specs.make_random_numpy(self._label_spec, batch_size,
                                       self._sequence_length, int(label_seed)))

    return dataset_from_batches(batches, self._feature_spec, self._label_spec,
                                batch_size)
