"""Which RLDS key holds which spec: key paths, default matching and checks.

RLDS (and Open X-Embodiment, which is RLDS) stores one episode per example:
a dict with a nested `steps` dataset (one element per step) and episode-level
entries beside it. A key is the '/'-joined path from the episode:

  steps/observation/image        per step: (H, W, 3) uint8, decoded by TFDS
  steps/observation/state        per step
  steps/action                   per step
  steps/reward, steps/discount   per step
  steps/is_first, steps/is_last, steps/is_terminal   per step, bool
  steps/language_instruction     per step string (Open X-Embodiment)
  episode_metadata/file_path     per episode

Both directions derive from the same rules, so what `rlds_export` writes,
`RLDSInputGenerator` finds without a key map:

* reading, a spec at path P named N (`specs.spec_name`) matches whichever of
  'steps/N', 'steps/observation/N', 'steps/P', 'steps/observation/P',
  'episode_metadata/N', 'N' and 'P' the dataset has (only the 'steps/...'
  ones for a sequence spec); none is an error for a required spec, several
  are ambiguous. A spec under 'next_state/' (the TD layout of
  `t2r.specs.critic_layout`) matches the key of its state twin, one step
  later;
* writing, a sequence spec named N goes to 'steps/N' when N is one of
  RLDS's step fields (`STEP_FIELDS`: action, reward, ...) and to
  'steps/observation/N' otherwise; a per-episode (context) spec to
  'episode_metadata/N'.

An explicit key map, `{spec path: key}` or `{spec path: (key, step
offset)}`, replaces the matching for the paths it names.
"""

from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Tuple

import tensorflow as tf

from t2r import specs
from t2r.data import record_layout
from t2r.specs import critic_layout

STEPS = 'steps'
STEP_PREFIX = STEPS + '/'
OBSERVATION = 'observation'
EPISODE_METADATA = 'episode_metadata'
IS_FIRST = 'steps/is_first'
IS_LAST = 'steps/is_last'
IS_TERMINAL = 'steps/is_terminal'
# Step entries that RLDS (rlds.rlds_types) and Open X-Embodiment keep beside
# the observation; other per-step specs belong to the observation.
STEP_FIELDS = ('action', 'reward', 'discount', 'is_first', 'is_last',
               'is_terminal', 'language_instruction', 'language_embedding')

# {spec path: key} or {spec path: (key, step offset)}.
KeyMap = Mapping[str, Any]


class KeySource(NamedTuple):
  """Where one spec's values come from.

  Attributes:
    key: The RLDS key path, e.g. 'steps/observation/image'.
    offset: For a per-step key read by a non-sequence spec: which step of the
      window (0 is the first); 0 otherwise.
  """
  key: str
  offset: int = 0


def import_tfds() -> Any:
  """Returns tensorflow_datasets, imported on first use (it takes seconds).

  Raises:
    ImportError: If it is not installed, saying how to install it.
  """
  try:
    import tensorflow_datasets  # pylint: disable=g-import-not-at-top
  except ImportError as e:
    raise ImportError(
        'Reading and writing RLDS datasets needs tensorflow-datasets: '
        "pip install 't2r[rlds]' (or the pins in requirements.txt).") from e
  return tensorflow_datasets


def is_step_key(key: str) -> bool:
  """True for per-step keys ('steps/...'), False for per-episode keys."""
  return key.startswith(STEP_PREFIX)


def flatten_features(nested: Mapping[str, Any],
                     prefix: str = '') -> Dict[str, tf.TensorSpec]:
  """Flattens a nested dict of `tf.TensorSpec`s to `{'a/b': spec}`.

  Example:
    >>> flatten_features(builder.info.features.get_tensor_spec())
    {'steps/action': TensorSpec(shape=(3,), ...), ...}

  Args:
    nested: e.g. the `get_tensor_spec()` of a TFDS `FeaturesDict` (its
      `steps` entry is the per-step structure).
    prefix: Joined in front of every path.

  Returns:
    The leaves by '/'-joined path, sorted.
  """
  flat = {}
  for key, value in nested.items():
    path = f'{prefix}{key}'
    if isinstance(value, Mapping):
      flat.update(flatten_features(value, path + '/'))
    elif isinstance(value, tf.data.DatasetSpec):
      flat.update(flatten_features(value.element_spec, path + '/'))
    else:
      flat[path] = value
  return dict(sorted(flat.items()))


def _format(shape: tf.TensorShape, dtype: tf.DType) -> str:
  dims = 'unknown' if shape.rank is None else str(tuple(shape.as_list()))
  return f'{dims} {dtype.name}'


def describe_keys(available: Mapping[str, tf.TensorSpec]) -> str:
  """'steps/action (3,) float32, steps/is_first () bool, ...' for messages."""
  return ', '.join(f'{key} {_format(spec.shape, spec.dtype)}'
                   for key, spec in available.items()) or '(none)'


def describe_spec(structure: str, path: str, spec: Any) -> str:
  """"'image' (name 'image')", or "'action' in labels (name 'action')"."""
  return (f'{record_layout.describe_path(structure, path)} '
          f'(name {specs.spec_name(spec, path)!r})')


def _default_offset(path: str) -> int:
  return 1 if critic_layout.is_next_state_path(path) else 0


def default_candidates(path: str, spec: Any) -> List[str]:
  """The keys a spec matches by default, in order, without duplicates.

  Example:
    >>> default_candidates('features/image', ExtendedTensorSpec(
    ...     (8, 8, 3), tf.uint8, name='image', is_sequence=True))
    ['steps/image', 'steps/observation/image', 'steps/features/image',
     'steps/observation/features/image']

  Args:
    path: The spec's path.
    spec: The spec (its `name` and `is_sequence` matter).

  Returns:
    Key paths; per-step keys only for a sequence spec. A 'next_state/...'
    path gives the keys of its state twin ('state/...', with the name's
    'next_' prefix dropped).
  """
  name = specs.spec_name(spec, path)
  if critic_layout.is_next_state_path(path):
    path = (critic_layout.STATE_PATH +
            path[len(critic_layout.NEXT_STATE_PATH):])
    if name.startswith(critic_layout.NEXT_NAME_PREFIX):
      name = name[len(critic_layout.NEXT_NAME_PREFIX):]
  candidates = []
  for relative in (name, path):
    candidates += [STEP_PREFIX + relative,
                   f'{STEP_PREFIX}{OBSERVATION}/{relative}']
  if not getattr(spec, 'is_sequence', False):
    candidates += [f'{EPISODE_METADATA}/{name}', name, path]
  return list(dict.fromkeys(candidates))


def _parse_key_map_value(described: str, value: Any,
                         default_offset: int) -> KeySource:
  """A key map value ('key' or ('key', offset)) as a KeySource."""
  if isinstance(value, str):
    key, offset = value, default_offset
  elif (isinstance(value, (tuple, list)) and len(value) == 2 and
        isinstance(value[0], str) and isinstance(value[1], int) and
        not isinstance(value[1], bool)):
    key, offset = value
  else:
    raise ValueError(
        f'key_map entry for spec {described} must be an RLDS key path such '
        "as 'steps/observation/image' or a (key path, step offset) pair "
        f"such as ('steps/observation/image', 1); got {value!r}.")
  if not key or key.startswith('/') or key.endswith('/') or key == STEPS:
    raise ValueError(
        f'key_map entry for spec {described}: {key!r} is not an RLDS key '
        "path; per-step keys are 'steps/<key>' (e.g. 'steps/action'), "
        "per-episode keys are e.g. 'episode_metadata/file_path'.")
  return KeySource(key, offset)


def _check_offset(described: str, spec: Any, source: KeySource,
                  window_size: int) -> KeySource:
  """Normalizes a negative offset; raises for one the window lacks."""
  if getattr(spec, 'is_sequence', False) or not is_step_key(source.key):
    if source.offset:
      what = ('a sequence spec reads the whole window'
              if getattr(spec, 'is_sequence', False) else
              f'{source.key!r} is a per-episode key')
      raise ValueError(
          f'Spec {described} is read from {source.key!r} at step offset '
          f'{source.offset}, but {what}; drop the offset.')
    return source
  if not -window_size <= source.offset < window_size:
    raise ValueError(
        f'Spec {described} reads {source.key!r} at step offset '
        f'{source.offset} of the window, but window_size is {window_size} '
        f'(offsets {-window_size}..{window_size - 1}). Pass '
        f'window_size={abs(source.offset) + (source.offset >= 0)} or more; '
        "(s, a, r, s') transitions need window_size=2.")
  return source._replace(offset=source.offset % window_size)


def _squeezed(shape: tf.TensorShape) -> List[int]:
  return [dim for dim in shape.as_list() if dim != 1]


def needs_reshape(spec: Any, key_spec: tf.TensorSpec) -> bool:
  """True if the key's values must be reshaped to the spec's shape."""
  return (key_spec.shape.is_fully_defined() and
          key_spec.shape != spec.shape)


def _compatible_dtypes(source: tf.DType, target: tf.DType) -> bool:
  """Lossless-in-kind casts: bool to numbers, float-float, int-int."""
  if source == target:
    return True
  if source == tf.bool:
    return target.is_integer or target.is_floating
  return ((source.is_floating and target.is_floating) or
          (source.is_integer and target.is_integer))


def check_key_spec(described: str, spec: Any, key: str,
                   key_spec: tf.TensorSpec, where: str):
  """Raises ValueError if the key's values cannot become the spec's.

  Allowed: the same dtype, or bool to a number, a float to another float,
  an int to another int; the same shape, or one that differs only in
  size-1 dimensions (a scalar reward read as shape (1,)); dimensions the
  dataset leaves open are checked per example.

  Args:
    described: The spec for messages (`describe_spec`).
    spec: The spec.
    key: The RLDS key path.
    key_spec: The per-step (or per-episode) `tf.TensorSpec` of the key.
    where: The dataset, for messages.

  Raises:
    ValueError: Naming the spec, the key, both shapes and dtypes, and a fix.
  """
  shape_ok = (key_spec.shape.is_compatible_with(spec.shape) or
              (key_spec.shape.is_fully_defined() and
               spec.shape.is_fully_defined() and
               _squeezed(key_spec.shape) == _squeezed(spec.shape)))
  dtype_ok = _compatible_dtypes(key_spec.dtype, spec.dtype)
  if shape_ok and dtype_ok:
    return
  fixes = []
  if not shape_ok:
    fixes.append('adjust the spec or add a resize/crop preprocessor'
                 if key_spec.dtype == tf.uint8 and key_spec.shape.rank == 3
                 else 'adjust the spec')
  if not dtype_ok:
    fixes.append(f'declare the spec as {key_spec.dtype.name} and convert in '
                 'a preprocessor')
  raise ValueError(
      f'Spec {described} expects {_format(spec.shape, spec.dtype)} per '
      f'{"step" if is_step_key(key) else "episode"} but RLDS key {key!r} of '
      f'{where} holds {_format(key_spec.shape, key_spec.dtype)}: '
      f'{"; ".join(fixes)}, or map another key with key_map.')


def resolve_key_sources(flat_spec: Mapping[str, Any],
                        structure: str,
                        available: Mapping[str, tf.TensorSpec],
                        key_map: Optional[KeyMap],
                        window_size: int,
                        where: str) -> Dict[str, KeySource]:
  """Finds and checks the RLDS key of every spec of one structure.

  Example:
    >>> resolve_key_sources(flat_features, 'features', available, None, 1,
    ...                     '/data/my_rlds/1.0.0')
    {'image': KeySource(key='steps/observation/image', offset=0)}

  Args:
    flat_spec: The flat spec structure (path -> spec).
    structure: 'features' or 'labels', for messages.
    available: The dataset's keys (`flatten_features`).
    key_map: `{spec path: key or (key, offset)}` or None.
    window_size: Steps per example.
    where: The dataset, for messages.

  Returns:
    `{path: KeySource}` for every spec except the `<path>_length` specs of
    sequence specs (the window size) and optional specs the dataset lacks.

  Raises:
    ValueError: For a required spec no key matches (naming the keys tried
      and the available ones), several default matches, a key_map key the
      dataset lacks, a sequence spec mapped to a per-episode key, a step
      offset outside the window, or a shape or dtype that does not fit.
  """
  key_map = dict(key_map or {})
  sources = {}
  for path, spec in flat_spec.items():
    if record_layout.is_derived_length(flat_spec, path):
      continue
    described = describe_spec(structure, path, spec)
    is_sequence = getattr(spec, 'is_sequence', False)
    if path in key_map:
      source = _parse_key_map_value(described, key_map[path],
                                    _default_offset(path))
      if source.key not in available:
        raise ValueError(
            f'key_map maps spec {described} to {source.key!r}, which '
            f'{where} does not have. Available keys: '
            f'{describe_keys(available)}.')
    else:
      candidates = default_candidates(path, spec)
      found = [key for key in candidates if key in available]
      if not found:
        if getattr(spec, 'is_optional', False):
          continue
        raise ValueError(
            f'{where[:1].upper()}{where[1:]} has no key for spec {described}: '
            'tried '
            f'{", ".join(repr(key) for key in candidates)}. Available keys: '
            f'{describe_keys(available)}. Map the spec with '
            f"key_map={{{path!r}: 'steps/...'}}.")
      if len(found) > 1:
        raise ValueError(
            f'Spec {described} matches several keys of {where}: {found}. '
            f"Say which with key_map={{{path!r}: {found[0]!r}}}.")
      source = KeySource(
          found[0], _default_offset(path) if is_step_key(found[0]) else 0)
    if is_sequence and not is_step_key(source.key):
      raise ValueError(
          f'Spec {described} is a sequence (is_sequence=True) but '
          f'{source.key!r} is a per-episode key; map it to a per-step '
          "'steps/...' key or declare the spec with is_sequence=False.")
    source = _check_offset(described, spec, source, window_size)
    check_key_spec(described, spec, source.key, available[source.key], where)
    sources[path] = source
  return sources


def check_key_map_paths(key_map: Optional[KeyMap],
                        flat_specs: List[Tuple[str, Mapping[str, Any]]]):
  """Raises ValueError for key_map paths that no spec has (typos).

  Args:
    key_map: The key map, or None.
    flat_specs: `(structure, flat spec)` pairs.

  Raises:
    ValueError: Naming the unknown paths and the spec paths.
  """
  paths = [path for _, flat in flat_specs for path in flat]
  unknown = sorted(set(key_map or {}) - set(paths))
  if unknown:
    raise ValueError(
        f'key_map names spec paths that no spec has: {unknown}. The spec '
        f'paths are {sorted(set(paths))}.')


def default_export_key(path: str, spec: Any) -> str:
  """The key `rlds_export` writes a spec to unless its key map says otherwise.

  Example:
    >>> default_export_key('labels/action', ExtendedTensorSpec(
    ...     (7,), tf.float32, name='action', is_sequence=True))
    'steps/action'
    >>> default_export_key('features/task', ExtendedTensorSpec(
    ...     (), tf.string, name='task'))
    'episode_metadata/task'

  Args:
    path: The spec's path.
    spec: The spec.

  Returns:
    'steps/<name>' for a sequence spec named like an RLDS step field,
    'steps/observation/<name>' for other sequence specs,
    'episode_metadata/<name>' for per-episode specs.
  """
  name = specs.spec_name(spec, path)
  if getattr(spec, 'is_sequence', False):
    return (STEP_PREFIX + name if name in STEP_FIELDS else
            f'{STEP_PREFIX}{OBSERVATION}/{name}')
  return f'{EPISODE_METADATA}/{name}'
