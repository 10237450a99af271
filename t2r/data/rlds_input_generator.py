"""`RLDSInputGenerator`: RLDS (Open X-Embodiment) episodes as model examples.

  TFDS builder directory -> episodes (files shuffled in TRAIN unless the
  dataset was written in order) -> windows of k consecutive steps of each
  episode (interleaved across episodes in TRAIN) -> spec values (cast and
  reshaped where the spec asks) -> shuffle + repeat -> batch
  -> preprocess(mode) -> prefetch

The specs say what each example holds; `t2r.data.rlds_layout` says which
RLDS key each spec reads (by name, or through an explicit `key_map`). A
window of `window_size` steps becomes one example:

* a sequence spec (`is_sequence=True`) gets the whole window,
  (window_size,) + its shape, and an int64 `<path>_length` of window_size
  beside it, as the SequenceExample parser gives (so models written for
  episode records read RLDS unchanged);
* any other spec reading a per-step key gets one step of the window: the
  first by default, a 'next_state/...' spec the second (the TD layout of
  `t2r.specs.critic_layout`), or the step offset its `key_map` entry names;
* a spec reading a per-episode key ('episode_metadata/...') gets the
  episode's value.

`window_size=1` (the default) gives one example per step; `window_size=2`
with 'next_state/...' specs gives (s, a, r, s') transitions. Windows never
cross episodes; episodes shorter than the window give none.

TFDS decodes images, so image specs are uint8 (H, W, C) of the dataset's
size (a spec's `data_format` is ignored); image features no spec reads are
not decoded at all.

tensorflow_datasets is imported on first use, so importing `t2r.data` stays
fast.
"""

import functools
from typing import Any, Dict, List, Mapping, Optional, Tuple

import gin
import tensorflow as tf

from t2r import specs
from t2r.data import abstract_input_generator
from t2r.data import record_input_generator
from t2r.data import record_layout
from t2r.data import rlds_layout
from t2r.modes import ModeKeys

KeySource = rlds_layout.KeySource


def load_rlds_builder(dataset_dir: str) -> Any:
  """Opens a TFDS builder directory that holds an RLDS dataset.

  Example:
    >>> builder = load_rlds_builder('/data/fractal20220817_data/0.1.0')
    >>> sorted(builder.info.splits)
    ['train']

  Args:
    dataset_dir: The directory with `dataset_info.json` (for TFDS datasets
      '<data_dir>/<name>/<version>'), on any `tf.io.gfile` filesystem.

  Returns:
    The `tfds.core.DatasetBuilder`.

  Raises:
    ValueError: If the directory holds no TFDS dataset (naming directories
      below it that do) or its episodes have no 'steps' dataset.
  """
  tfds = rlds_layout.import_tfds()
  # pylint: disable-next=g-import-not-at-top
  from tensorflow_datasets.core import dataset_info
  if not isinstance(dataset_dir, str) or not dataset_dir:
    raise ValueError('dataset_dir must be a TFDS builder directory (the one '
                     f'with dataset_info.json), got {dataset_dir!r}.')
  try:
    builder = tfds.builder_from_directory(dataset_dir)
  except (dataset_info.DatasetInfoFileError, FileNotFoundError) as e:
    below = sorted(
        path[:-len('/dataset_info.json')] for pattern in (
            f'{dataset_dir}/*/dataset_info.json',
            f'{dataset_dir}/*/*/dataset_info.json')
        for path in tf.io.gfile.glob(pattern))
    hint = (f' These directories below it do: {below[:5]}.' if below else
            ' Pass the version directory, e.g. <data_dir>/<name>/<version>.')
    raise ValueError(f'{dataset_dir!r} is not a TFDS builder directory: it '
                     f'has no dataset_info.json.{hint}') from e
  features = builder.info.features
  if (not isinstance(features, tfds.features.FeaturesDict) or
      rlds_layout.STEPS not in features.keys() or
      not isinstance(features[rlds_layout.STEPS], tfds.features.Dataset)):
    keys = (list(features.keys()) if isinstance(
        features, tfds.features.FeaturesDict) else type(features).__name__)
    raise ValueError(
        f'{dataset_dir!r} is a TFDS dataset but not an RLDS one: its examples '
        f"need a 'steps' dataset (one element per step); they hold {keys}.")
  return builder


def _lookup(nested: Mapping[str, Any], key: str) -> Any:
  for part in key.split('/'):
    nested = nested[part]
  return nested


def _image_keys(features: Any, prefix: str = '') -> List[str]:
  """The key paths of the TFDS Image features (those TFDS would decode)."""
  tfds = rlds_layout.import_tfds()
  keys = []
  for name, feature in features.items():
    path = f'{prefix}{name}'
    if isinstance(feature, tfds.features.Dataset):
      feature = feature.feature
    if isinstance(feature, tfds.features.FeaturesDict):
      keys += _image_keys(feature, path + '/')
    elif isinstance(feature, tfds.features.Image):
      keys.append(path)
  return keys


def _skip_decoders(features: Any, used_keys: List[str]) -> Dict[str, Any]:
  """TFDS decoders that leave the images no spec reads undecoded."""
  skip = rlds_layout.import_tfds().decode.SkipDecoding
  decoders = {}
  for key in _image_keys(features):
    if key in used_keys:
      continue
    node = decoders
    *parents, leaf = key.split('/')
    for part in parents:
      node = node.setdefault(part, {})
    node[leaf] = skip()
  return decoders


def _to_spec(value: tf.Tensor, spec: Any, key_spec: tf.TensorSpec,
             leading: List[int]) -> tf.Tensor:
  """Casts and reshapes one key's values (with `leading` dims) to the spec."""
  if value.dtype != spec.dtype:
    value = tf.cast(value, spec.dtype)
  shape = leading + spec.shape.as_list()
  if rlds_layout.needs_reshape(spec, key_spec):
    return tf.reshape(value, shape)
  if not key_spec.shape.is_fully_defined():
    return tf.ensure_shape(value, shape)
  return value


@gin.configurable
class RLDSInputGenerator(abstract_input_generator.AbstractInputGenerator):
  """Reads RLDS episodes (TFDS builder directories) into spec-laid batches.

  Open X-Embodiment datasets, and anything written by
  `t2r.data.rlds_export.export_rlds_dataset`, train a T2RModel without
  conversion.

  Example:
    >>> generator = RLDSInputGenerator(
    ...     dataset_dir='/data/fractal20220817_data/0.1.0',
    ...     key_map={'image': 'steps/observation/image',
    ...              'instruction':
    ...                  'steps/observation/natural_language_instruction',
    ...              'action': 'steps/action/world_vector'},
    ...     window_size=2, batch_size=32, seed=1)
    >>> generator.set_specification_from_model(model, ModeKeys.TRAIN)
    >>> generator.key_sources()[0]['image']
    KeySource(key='steps/observation/image', offset=0)
    >>> dataset = generator.create_dataset(ModeKeys.TRAIN)

  In gin:
    RLDSInputGenerator.dataset_dir = '/data/my_rlds/1.0.0'
    RLDSInputGenerator.key_map = {'next_state/image':
                                  ('steps/observation/image', 1)}
    train_eval_model.input_generator_train = @RLDSInputGenerator()

  Args:
    dataset_dir: The TFDS builder directory (with dataset_info.json).
    split: A TFDS split, slices included ('train', 'train[:90%]').
    key_map: `{spec path: RLDS key}` or `{spec path: (RLDS key, step
      offset)}` for specs whose key the default matching (see
      `t2r.data.rlds_layout`) does not find; keys are '/'-joined from the
      episode ('steps/observation/image', 'episode_metadata/file_path'). A
      step offset picks the step of the window a non-sequence spec reads
      (0 first, -1 last); a key alone keeps the spec's default (0, or 1 for
      'next_state/...').
    window_size: k, the consecutive steps of one example.
    window_shift: Steps between the starts of consecutive windows.
    batch_size: Examples per batch (global batch size under a strategy).
    shuffle_buffer_size: Windows in the TRAIN shuffle buffer.
    num_epochs: Passes over the data; None repeats forever, 1 gives one
      finite pass (a full evaluation).
    drop_remainder: Drop a last partial batch; None drops it when repeating
      forever (static batch dimension) and keeps it otherwise.
    seed: Seed of the file and window shuffles; also makes the order
      deterministic.
    cycle_length: Episodes whose windows TRAIN interleaves (EVAL and
      PREDICT read one episode after the other).

  Raises:
    ValueError: For invalid arguments. `create_dataset` (and `key_sources`)
      raise ValueError naming the spec, the key and the dataset's keys for
      a spec without a key, a shape or dtype that does not fit, or a
      directory that holds no RLDS dataset.
  """

  def __init__(self,
               dataset_dir: str,
               split: str = 'train',
               key_map: Optional[Mapping[str, Any]] = None,
               window_size: int = 1,
               window_shift: int = 1,
               batch_size: int = 32,
               shuffle_buffer_size: int = 500,
               num_epochs: Optional[int] = None,
               drop_remainder: Optional[bool] = None,
               seed: Optional[int] = None,
               cycle_length: int = 16):
    super().__init__(batch_size=batch_size)
    if not isinstance(dataset_dir, str) or not dataset_dir:
      raise ValueError('dataset_dir must be a TFDS builder directory (the one '
                       f'with dataset_info.json), got {dataset_dir!r}.')
    if not isinstance(split, str) or not split:
      raise ValueError(f"split must be a TFDS split such as 'train' or "
                       f"'train[:90%]', got {split!r}.")
    if key_map is not None and not isinstance(key_map, Mapping):
      raise ValueError(
          'key_map must be a dict {{spec path: RLDS key or (key, step '
          f'offset)}}, got {type(key_map).__name__}: {key_map!r}.')
    for name, value in (('window_size', window_size),
                        ('window_shift', window_shift),
                        ('shuffle_buffer_size', shuffle_buffer_size),
                        ('cycle_length', cycle_length)):
      if value is None:
        raise ValueError(f'{name} must be a positive int, got None.')
    record_input_generator.check_reader_arguments(
        None, window_size=window_size, window_shift=window_shift,
        shuffle_buffer_size=shuffle_buffer_size, num_epochs=num_epochs,
        cycle_length=cycle_length)
    self._dataset_dir = dataset_dir
    self._split = split
    self._key_map = dict(key_map or {})
    self._window_size = window_size
    self._window_shift = window_shift
    self._shuffle_buffer_size = shuffle_buffer_size
    self._num_epochs = num_epochs
    self._drop_remainder = drop_remainder
    self._seed = seed
    self._cycle_length = cycle_length
    self._builder_cache = None

  @property
  def window_size(self) -> int:
    return self._window_size

  def _builder(self) -> Any:
    if self._builder_cache is None:
      self._builder_cache = load_rlds_builder(self._dataset_dir)
    return self._builder_cache

  def _split_info(self) -> Any:
    try:
      return self._builder().info.splits[self._split]
    except (KeyError, ValueError) as e:
      raise ValueError(
          f'{self._dataset_dir!r} has no split {self._split!r}: {e} Its '
          f'splits are {sorted(self._builder().info.splits.keys())}.') from e

  def available_keys(self) -> Dict[str, tf.TensorSpec]:
    """The dataset's keys: `{key path: per-step or per-episode TensorSpec}`.

    Example:
      >>> RLDSInputGenerator('/data/my_rlds/1.0.0').available_keys()
      {'episode_metadata/file_path': TensorSpec(shape=(), dtype=tf.string),
       'steps/action': TensorSpec(shape=(3,), dtype=tf.float32), ...}

    Returns:
      Per-step keys start with 'steps/'; their specs are one step's.

    Raises:
      ValueError: If the directory holds no RLDS dataset.
    """
    return rlds_layout.flatten_features(
        self._builder().info.features.get_tensor_spec())

  def key_sources(self) -> Tuple[Dict[str, KeySource], Dict[str, KeySource]]:
    """Which key (and step) every feature and label spec reads, checked.

    Example:
      >>> generator.set_specification_from_model(model, ModeKeys.TRAIN)
      >>> features, labels = generator.key_sources()
      >>> labels['action']
      KeySource(key='steps/action', offset=0)

    Returns:
      `(feature sources, label sources)`, each `{spec path: KeySource}`;
      optional specs the dataset lacks and `<path>_length` specs are left
      out.

    Raises:
      ValueError: If the specs are not set, a `key_map` path is no spec
        path, or a spec has no key, an ambiguous one, or one whose shape or
        dtype does not fit (see `rlds_layout.resolve_key_sources`).
    """
    if self._feature_spec is None or self._label_spec is None:
      raise ValueError(
          f'{type(self).__name__} has no specs yet; call '
          'set_specification_from_model(model, mode) (or '
          'set_feature_specifications / set_label_specifications) first.')
    available = self.available_keys()
    where = f'the RLDS dataset {self._dataset_dir!r}'
    flat = [('features', specs.flatten_spec_structure(self._feature_spec)),
            ('labels', specs.flatten_spec_structure(self._label_spec))]
    rlds_layout.check_key_map_paths(self._key_map, flat)
    features, labels = (
        rlds_layout.resolve_key_sources(flat_spec, structure, available,
                                        self._key_map, self._window_size,
                                        where)
        for structure, flat_spec in flat)
    return features, labels

  def data_files(self) -> List[str]:
    """The dataset files of the split, sorted (for export provenance)."""
    return sorted({instruction.filename
                   for instruction in self._split_info().file_instructions})

  def _is_deterministic(self, mode: str) -> bool:
    return self._seed is not None or mode != ModeKeys.TRAIN

  def _episodes(self, mode: str, used_keys: List[str],
                input_context: Optional[tf.distribute.InputContext]
               ) -> tf.data.Dataset:
    """This pipeline's episodes, files shuffled in TRAIN (if allowed)."""
    tfds = rlds_layout.import_tfds()
    builder = self._builder()
    num_files = len(self.data_files())
    shard_episodes = False
    read_context = None
    if input_context is not None and input_context.num_input_pipelines > 1:
      if num_files >= input_context.num_input_pipelines:
        read_context = input_context
      else:
        shard_episodes = True
    read_config = tfds.ReadConfig(shuffle_seed=self._seed,
                                  input_context=read_context)
    episodes = builder.as_dataset(
        split=self._split,
        # A dataset written in order (disable_shuffling) must be read so.
        shuffle_files=(mode == ModeKeys.TRAIN and
                       not builder.info.disable_shuffling),
        read_config=read_config,
        decoders=_skip_decoders(builder.info.features, used_keys) or None)
    if shard_episodes:
      episodes = episodes.shard(input_context.num_input_pipelines,
                                input_context.input_pipeline_id)
    return episodes

  def _make_windows_fn(self, sources: Tuple[Dict[str, KeySource], ...],
                       available: Mapping[str, tf.TensorSpec]):
    """`fn(episode) -> dataset of (features, labels)`, one per window."""
    flat_specs = (specs.flatten_spec_structure(self._feature_spec),
                  specs.flatten_spec_structure(self._label_spec))
    used = {source.key for group in sources for source in group.values()}
    step_keys = sorted(key for key in used if rlds_layout.is_step_key(key))
    # A window needs some per-step key to count steps by.
    step_keys = step_keys or [next(key for key in available
                                   if rlds_layout.is_step_key(key))]
    episode_keys = sorted(used - set(step_keys))
    size, shift = self._window_size, self._window_shift
    prefix = len(rlds_layout.STEP_PREFIX)

    def example(window, context):
      results = []
      for flat_spec, group in zip(flat_specs, sources):
        values = specs.TensorSpecStruct()
        for path, source in group.items():
          spec = flat_spec[path]
          is_sequence = getattr(spec, 'is_sequence', False)
          if not rlds_layout.is_step_key(source.key):
            value, leading = context[source.key], []
          elif is_sequence:
            value, leading = window[source.key], [size]
          else:
            value, leading = window[source.key][source.offset], []
          values[path] = _to_spec(value, spec, available[source.key],
                                  leading)
          if is_sequence:
            values[path + record_layout.LENGTH_SUFFIX] = tf.constant(
                size, tf.int64)
        results.append(values)
      return tuple(results)

    @tf.autograph.experimental.do_not_convert
    def windows_fn(episode):
      steps = episode[rlds_layout.STEPS].map(
          lambda step: {key: _lookup(step, key[prefix:]) for key in step_keys})
      if size == 1 and shift == 1:
        windows = steps.map(
            lambda step: {key: value[tf.newaxis] for key, value in
                          step.items()})
      else:
        windows = steps.window(size, shift, drop_remainder=True).flat_map(
            lambda window: tf.data.Dataset.zip(window).batch(
                size, drop_remainder=True))
      context = {key: _lookup(episode, key) for key in episode_keys}
      return windows.map(functools.partial(example, context=context))

    return windows_fn

  def _create_dataset(self, mode, batch_size, input_context):
    sources = self.key_sources()
    available = self.available_keys()
    used_keys = sorted({source.key for group in sources
                        for source in group.values()})
    is_train = mode == ModeKeys.TRAIN
    deterministic = self._is_deterministic(mode)
    episodes = self._episodes(mode, used_keys, input_context)
    windows_fn = self._make_windows_fn(sources, available)
    if is_train:
      windows = episodes.interleave(
          windows_fn, cycle_length=self._cycle_length, block_length=1,
          num_parallel_calls=tf.data.AUTOTUNE, deterministic=deterministic)
    else:
      windows = episodes.flat_map(windows_fn)
    if is_train:
      windows = windows.shuffle(self._shuffle_buffer_size, seed=self._seed,
                                reshuffle_each_iteration=True)
    windows = windows.repeat(self._num_epochs)
    drop_remainder = self._drop_remainder
    if drop_remainder is None:
      drop_remainder = self._num_epochs is None
    dataset = windows.batch(batch_size, drop_remainder=drop_remainder)
    options = tf.data.Options()
    options.deterministic = deterministic
    return dataset.with_options(options)
