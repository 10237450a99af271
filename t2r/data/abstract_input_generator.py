"""`AbstractInputGenerator`: the spec-driven source of (features, labels).

An input generator is told *what* to produce by specs, taken from a model (or
its preprocessor) or set directly, and decides *how*: records, constants,
random data or a Python generator. Every generator returns the same thing: a
`tf.data.Dataset` of batched `(features, labels)` laid out like the specs,
already run through the preprocessor for the requested mode, ready for
tf-keras `fit` or a `tf.distribute` strategy.
"""

import abc
import functools
from typing import Any, Callable, List, Optional, Tuple

import gin
import tensorflow as tf

from t2r import specs
from t2r.data import parsing
from t2r.modes import ModeKeys

# preprocess_fn(features, labels, mode) -> (features, labels).
PreprocessFn = Callable[[Any, Any, str], Tuple[Any, Any]]


def _identity_preprocess_fn(features: Any, labels: Any,
                            mode: str) -> Tuple[Any, Any]:
  del mode
  return features, labels


def _checked_spec(spec_structure: Any, what: str) -> Any:
  if spec_structure is None:
    raise ValueError(f'{what} is None; pass a spec structure (an empty '
                     'TensorSpecStruct if there is nothing to read).')
  if not specs.flatten_spec_structure(spec_structure):
    return spec_structure
  specs.assert_valid_spec_structure(spec_structure)
  return spec_structure


@gin.configurable
class AbstractInputGenerator(abc.ABC):
  """Base class: specs in, a batched and preprocessed `tf.data.Dataset` out.

  Subclasses implement `_create_dataset`, which yields batches laid out like
  the *in* specs; this class checks those batches, applies the preprocess
  function for the mode, validates its output against the *out* specs and
  prefetches.

  Example:
    >>> generator = DefaultRecordInputGenerator(
    ...     file_patterns='tfrecord:/data/train-*', batch_size=32)
    >>> generator.set_specification_from_model(model, ModeKeys.TRAIN)
    >>> model.fit(generator.create_dataset(ModeKeys.TRAIN), steps_per_epoch=100)

  With a distribution strategy, `batch_size` is the global batch size and
  every input pipeline reads its share:

    >>> dataset = strategy.distribute_datasets_from_function(
    ...     lambda context: generator.create_dataset(ModeKeys.TRAIN,
    ...                                              input_context=context))

  Args:
    batch_size: The number of examples per batch (the global batch size when
      `create_dataset` gets a `tf.distribute.InputContext`).
  """

  def __init__(self, batch_size: int = 32):
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or (
        batch_size <= 0):
      raise ValueError(
          f'batch_size must be a positive int, got {batch_size!r}.')
    self._batch_size = batch_size
    self._feature_spec = None
    self._label_spec = None
    self._out_feature_spec = None
    self._out_label_spec = None
    self._preprocess_fn = _identity_preprocess_fn
    # The preprocessor's decode hints (t2r.data.decode_hints), by path.
    self._image_decode_hints = {}
    self._spec_mode = None
    # Subclasses that draw random numbers (shuffles, random data) read it.
    self._seed = None

  @property
  def batch_size(self) -> int:
    return self._batch_size

  @property
  def seed(self) -> Optional[int]:
    """The seed of the data order / random data; None: not seeded."""
    return self._seed

  def set_default_seed(self, seed: int):
    """Seeds the generator unless it was given a seed of its own.

    `train_eval_model(seed=...)` calls it, so that one job seed makes the data
    order reproducible while a seed bound on the generator still wins.

    Example:
      >>> generator = DefaultRecordInputGenerator(file_patterns='/d/*.tfrecord')
      >>> generator.set_default_seed(7)
      >>> generator.seed
      7

    Args:
      seed: A non-negative int.

    Raises:
      ValueError: If `seed` is not a non-negative int.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
      raise ValueError(
          f'{type(self).__name__}.set_default_seed needs a non-negative int, '
          f'got {seed!r}.')
    if self._seed is None:
      self._seed = seed

  def data_files(self) -> List[str]:
    """The files this generator reads now, for the provenance of exports.

    Exports list them (with fingerprints) in their assets, see
    `t2r.provenance`. Generators that make their data (constants, random
    values, Python generators) read no files.

    Example:
      >>> DefaultRecordInputGenerator(file_patterns='/d/*.tfrecord').data_files()
      ['/d/a.tfrecord', '/d/b.tfrecord']

    Returns:
      The file paths, sorted; [] for generated data.
    """
    return []

  @property
  def feature_spec(self) -> Any:
    """The spec structure of the features the data holds (before preprocess)."""
    return self._feature_spec

  @property
  def label_spec(self) -> Any:
    """The spec structure of the labels the data holds (before preprocess)."""
    return self._label_spec

  def set_feature_specifications(self,
                                 feature_spec: Any,
                                 out_feature_spec: Any = None):
    """Sets what the data holds and, optionally, what preprocessing returns.

    Args:
      feature_spec: The in feature spec structure (what is read or made).
      out_feature_spec: The spec the preprocessed features must match; None
        skips that check.
    """
    self._feature_spec = _checked_spec(feature_spec, 'feature_spec')
    self._out_feature_spec = (None if out_feature_spec is None else
                              _checked_spec(out_feature_spec,
                                            'out_feature_spec'))
    self._spec_mode = None

  def set_label_specifications(self,
                               label_spec: Any,
                               out_label_spec: Any = None):
    """Sets the in (and optionally out) label spec; see the feature version."""
    self._label_spec = _checked_spec(label_spec, 'label_spec')
    self._out_label_spec = (None if out_label_spec is None else _checked_spec(
        out_label_spec, 'out_label_spec'))
    self._spec_mode = None

  def set_preprocess_fn(self, preprocess_fn: PreprocessFn):
    """Sets `preprocess_fn(features, labels, mode) -> (features, labels)`.

    It runs on batched tensors inside the tf.data pipeline (traced once).
    """
    if not callable(preprocess_fn):
      raise TypeError(
          'preprocess_fn must be callable as fn(features, labels, mode) -> '
          f'(features, labels), got {preprocess_fn!r}.')
    self._preprocess_fn = preprocess_fn
    self._image_decode_hints = {}

  def set_specification_from_model(self, model: Any, mode: str):
    """Takes the specs (and preprocessing) the model needs in `mode`.

    If the model has a `preprocessor` (an object with
    `get_in_feature_specification(mode)`, `get_in_label_specification(mode)`
    and `preprocess(features, labels, mode)`), the data must match the
    preprocessor's in specs and is preprocessed; its out specs (or else the
    model's specs) check the result. Without a preprocessor the data must
    match `model.get_feature_specification(mode)` and
    `model.get_label_specification(mode)` and is passed on unchanged. A
    preprocessor's `decode_hints(mode)` are kept for generators that decode
    images (`_parses_with_decode_hints`).

    Args:
      model: A T2R model (anything with the methods above).
      mode: A `ModeKeys` value; `create_dataset` must use the same mode.

    Raises:
      TypeError: If the model lacks the spec methods.
      ValueError: If `mode` is unknown or a spec structure is invalid.
    """
    ModeKeys.validate(mode)
    preprocessor = getattr(model, 'preprocessor', None)
    model_specs = (_call(model, 'get_feature_specification', mode, 'model'),
                   _call(model, 'get_label_specification', mode, 'model'))
    if preprocessor is None:
      self.set_feature_specifications(model_specs[0], model_specs[0])
      self.set_label_specifications(model_specs[1], model_specs[1])
      self._preprocess_fn = _identity_preprocess_fn
      self._image_decode_hints = {}
    else:
      out_features, out_labels = model_specs
      if hasattr(preprocessor, 'get_out_feature_specification'):
        out_features = preprocessor.get_out_feature_specification(mode)
        out_labels = preprocessor.get_out_label_specification(mode)
      self.set_feature_specifications(
          _call(preprocessor, 'get_in_feature_specification', mode,
                'preprocessor'), out_features)
      self.set_label_specifications(
          _call(preprocessor, 'get_in_label_specification', mode,
                'preprocessor'), out_labels)
      self.set_preprocess_fn(preprocessor.preprocess)
      if callable(getattr(preprocessor, 'decode_hints', None)):
        self._image_decode_hints = dict(preprocessor.decode_hints(mode))
    self._spec_mode = mode

  def create_dataset(
      self,
      mode: str,
      params: Optional[dict] = None,
      input_context: Optional[tf.distribute.InputContext] = None
  ) -> tf.data.Dataset:
    """Returns the batched, preprocessed `(features, labels)` dataset.

    Args:
      mode: A `ModeKeys` value: TRAIN shuffles (record generators), EVAL and
        PREDICT read in a fixed order.
      params: Optional hyperparameters; `params['batch_size']` overrides the
        constructor's batch size (T2R's TPUEstimator convention).
      input_context: Given by `strategy.distribute_datasets_from_function`:
        the dataset then holds this pipeline's share of the data (generators
        that read files shard them) in per-replica batches of
        `batch_size / num_replicas_in_sync`.

    Returns:
      A `tf.data.Dataset` of `(features, labels)`, each laid out like the
      out specs (flat `specs.TensorSpecStruct`s for flat specs) with a
      leading batch dimension.

    Raises:
      ValueError: If the specs were not set, `mode` is unknown or differs
        from the mode the specs were set for, or the preprocessing returns
        tensors that do not match the out specs.
    """
    ModeKeys.validate(mode)
    self._check_specs_set(mode)
    batch_size = self._batch_size
    if params and params.get('batch_size'):
      batch_size = int(params['batch_size'])
    if input_context is not None:
      batch_size = input_context.get_per_replica_batch_size(batch_size)
    dataset = self._create_dataset(mode, batch_size, input_context)
    dataset = dataset.map(
        self._make_preprocess_map_fn(mode),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=self._is_deterministic(mode))
    return dataset.prefetch(tf.data.AUTOTUNE)

  @abc.abstractmethod
  def _create_dataset(
      self, mode: str, batch_size: int,
      input_context: Optional[tf.distribute.InputContext]) -> tf.data.Dataset:
    """Returns batches of (features, labels) laid out like the in specs.

    Args:
      mode: A `ModeKeys` value.
      batch_size: The batch size of this pipeline (per replica when
        `input_context` is given).
      input_context: The distribution input context, or None.
    """

  def _is_deterministic(self, mode: str) -> bool:
    """Whether parallel maps must keep the element order (default: yes)."""
    del mode
    return True

  def _parses_with_decode_hints(self) -> bool:
    """Whether `_create_dataset` decodes images by the decode hints.

    Generators that parse records with `_active_decode_hints()` say True;
    the preprocessor is then told the sizes the images were decoded to.
    """
    return False

  def _active_decode_hints(self) -> dict:
    """The preprocessor's decode hints if this generator follows them."""
    return (dict(self._image_decode_hints)
            if self._parses_with_decode_hints() else {})

  def _check_specs_set(self, mode: str):
    if self._feature_spec is None or self._label_spec is None:
      missing = [
          name for name, value in (('feature', self._feature_spec),
                                   ('label', self._label_spec)) if value is None
      ]
      raise ValueError(
          f'{type(self).__name__} has no {" and no ".join(missing)} spec. '
          'Call set_specification_from_model(model, mode) or '
          'set_feature_specifications / set_label_specifications before '
          'create_dataset.')
    if self._spec_mode is not None and self._spec_mode != mode:
      raise ValueError(
          f'{type(self).__name__}: the specs were taken from the model for '
          f'mode {self._spec_mode!r} but create_dataset was called with mode '
          f'{mode!r}. Call set_specification_from_model(model, {mode!r}) '
          'first; specs and preprocessing may differ between modes.')

  def _make_preprocess_map_fn(self, mode: str):
    """The tf.data map function: preprocess, then check against out specs."""
    preprocess_fn = self._preprocess_fn
    hints = self._active_decode_hints()
    if hints:
      sizes = parsing.decoded_image_sizes(self._feature_spec, hints)
      if sizes:
        preprocess_fn = functools.partial(preprocess_fn,
                                          decoded_image_sizes=sizes)
    out_specs = (('features', self._out_feature_spec),
                 ('labels', self._out_label_spec))

    def preprocess(features, labels):
      results = preprocess_fn(features, labels, mode)
      if not isinstance(results, (tuple, list)) or len(results) != 2:
        raise ValueError(
            f'The preprocess function {preprocess_fn!r} must return '
            f'(features, labels), got {type(results).__name__}: {results!r}.')
      return tuple(
          _check_output(what, spec, value)
          for (what, spec), value in zip(out_specs, results))

    return preprocess


def _call(owner: Any, method: str, mode: str, what: str) -> Any:
  if not callable(getattr(owner, method, None)):
    raise TypeError(
        f'The {what} {type(owner).__name__} has no {method}(mode) method, '
        'which the input generator needs to know what data to produce.')
  return getattr(owner, method)(mode)


def _check_output(what: str, spec: Any, value: Any) -> Any:
  """Validates a preprocessed batch and pins shapes the trace left open.

  Static shapes are checked at trace time (a ValueError naming the path);
  dimensions the trace does not know are checked per batch with
  `tf.ensure_shape`, so a wrong shape never reaches the model.
  """
  if spec is None or value is None:
    return value
  try:
    packed = specs.validate_and_pack(spec, value, ignore_batch=True)
  except ValueError as e:
    raise ValueError(
        f'The preprocessed {what} do not match the out spec: {e} Make the '
        'preprocessor return what its out specification declares.') from e
  flat = specs.flatten_spec_structure(packed)
  batched = specs.flatten_spec_structure(
      specs.make_batched_spec_structure(spec))
  for path, tensor in flat.items():
    if not tensor.shape.is_fully_defined():
      flat[path] = tf.ensure_shape(tensor, batched[path].shape)
  return specs.pack_flat_sequence_to_spec_structure(spec, flat)
