"""The BC-Z episode record: one `tf.train.SequenceExample` per demonstration.

A demonstration is stored whole, as the robot saw and did it, so that the data
checks (label replay, idle detection; `t2r.data.episode_checks`) and any way
of cutting training examples (`bcz_model.BCZPreprocessor`) read the same
record. The layout, by spec path (the record key is the spec's name, the last
path component):

  per step (feature lists, `is_sequence=True`), T steps:
    features/image           (H, W, 3) uint8, JPEG   the camera frame
    features/proprioception  (7,) float32            the end effector before
                                                     the step's action: xyz
                                                     (3), axis-angle (3),
                                                     gripper closure (1, in
                                                     [0, 1])
    labels/action            (7,) float32            the command of the step:
                                                     delta xyz (3), delta
                                                     axis-angle (3), gripper
                                                     closure target (1, in
                                                     [0, 1])
    labels/target_position   (3,) float32, optional  where the object the
                                                     task names is (world
                                                     xyz, m) before the
                                                     step: privileged, an
                                                     auxiliary label only
  per episode (context):
    features/task_id         () int64                index into the task list
    features/task_embedding  (E,) float32            `task_embedding(text, E)`
    features/task            () string, optional     the task text
    features/reset_seed      () int64, optional      `env.reset(seed=...)`
                                                     that reproduces the
                                                     initial state (label
                                                     replay needs it)

The parser adds an int64 `<path>_length` (T) next to each per-step spec.
Models pick their specs from this structure (never write names twice), and
a collector writes it with `t2r.data.TFRecordReplayWriter` (`write_episodes`).

Task embeddings: no model download. `task_embedding(text, size)` is a fixed
unit vector seeded by the SHA-256 of the text, so every process and machine
gets the same vector for the same string; `TaskTable(embedding_fn=...)` is
where a sentence encoder can plug in later (any `fn(text, size) -> vector`).
"""

import hashlib
from typing import (Any, Callable, Dict, Iterable, Iterator, List, Mapping,
                    Optional, Sequence, Tuple, Union)

import gin
import numpy as np
import tensorflow as tf

from t2r import specs
from t2r.data import parsing
from t2r.data import replay_writer
from research import image_sizes

ImageSize = image_sizes.ImageSize
as_image_size = image_sizes.as_image_size
EmbeddingFn = Callable[[str, int], np.ndarray]

# Spec paths of the episode record.
IMAGE = 'features/image'
PROPRIOCEPTION = 'features/proprioception'
TASK_ID = 'features/task_id'
TASK_EMBEDDING = 'features/task_embedding'
TASK = 'features/task'
RESET_SEED = 'features/reset_seed'
ACTION = 'labels/action'
TARGET_POSITION = 'labels/target_position'

# The 7-vector of proprioception and action: xyz, axis-angle, gripper.
POSE_SIZE = 7
XYZ = slice(0, 3)
AXIS_ANGLE = slice(3, 6)
GRIPPER = 6
DEFAULT_IMAGE_SIZE = 64
DEFAULT_EMBEDDING_SIZE = 32




def _check_size(size: Any, what: str) -> int:
  if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or (
      size < 1):
    raise ValueError(f'{what} must be a positive int, got {size!r}.')
  return int(size)


def task_embedding(text: str, size: int = DEFAULT_EMBEDDING_SIZE
                  ) -> np.ndarray:
  """A fixed unit vector for a task string, seeded by the text's SHA-256.

  The same text gives the same vector in every process (Python's `hash` is
  salted per process; SHA-256 is not); different texts give independent
  random directions, nearly orthogonal for sizes of 32 and more. The text is
  used as given (case and spaces matter).

  Example:
    >>> e = task_embedding('pick the red block', 32)
    >>> e.shape, e.dtype, round(float(np.linalg.norm(e)), 5)
    ((32,), dtype('float32'), 1.0)
    >>> np.array_equal(e, task_embedding('pick the red block', 32))
    True

  Args:
    text: The task description.
    size: The embedding size.

  Returns:
    A (size,) float32 vector of unit L2 norm.

  Raises:
    TypeError: If `text` is not a str.
    ValueError: If `text` is empty or `size` is not a positive int.
  """
  if not isinstance(text, str):
    raise TypeError(
        f'task_embedding needs the task text as a str, got '
        f'{type(text).__name__}: {text!r}.')
  if not text:
    raise ValueError('task_embedding needs a non-empty task text.')
  size = _check_size(size, 'task_embedding size')
  seed = int.from_bytes(hashlib.sha256(text.encode('utf-8')).digest()[:8],
                        'little')
  vector = np.random.default_rng(seed).standard_normal(size)
  return (vector / np.linalg.norm(vector)).astype(np.float32)


@gin.configurable
class TaskTable:
  """The tasks of a dataset: text -> task id and task embedding.

  Example:
    >>> table = TaskTable(['pick the red block', 'reach the bowl'])
    >>> table.task_id('reach the bowl')
    1
    >>> context = table.context('reach the bowl')
    >>> sorted(context)
    ['task', 'task_embedding', 'task_id']

  Args:
    tasks: The task texts, in id order (ids are the positions).
    embedding_size: The embedding size E.
    embedding_fn: `fn(text, size) -> (size,) vector`; `task_embedding` (the
      seeded hash) by default, a sentence encoder later.

  Raises:
    ValueError: If `tasks` is empty or holds duplicates or empty strings,
      or `embedding_fn` returns a vector of another shape.
    TypeError: If a task is not a str or `embedding_fn` is not callable.
  """

  def __init__(self,
               tasks: Sequence[str],
               embedding_size: int = DEFAULT_EMBEDDING_SIZE,
               embedding_fn: EmbeddingFn = task_embedding):
    tasks = list(tasks)
    if not tasks:
      raise ValueError('TaskTable needs at least one task text.')
    for task in tasks:
      if not isinstance(task, str) or not task:
        raise TypeError(
            f'TaskTable tasks must be non-empty strings, got {task!r}.')
    duplicates = sorted({t for t in tasks if tasks.count(t) > 1})
    if duplicates:
      raise ValueError(f'TaskTable tasks must be distinct; repeated: '
                       f'{duplicates}.')
    if not callable(embedding_fn):
      raise TypeError(f'embedding_fn must be callable (text, size) -> vector, '
                      f'got {embedding_fn!r}.')
    self._tasks = tasks
    self._size = _check_size(embedding_size, 'TaskTable embedding_size')
    self._ids = {task: index for index, task in enumerate(tasks)}
    embeddings = []
    for task in tasks:
      vector = np.asarray(embedding_fn(task, self._size), np.float32)
      if vector.shape != (self._size,):
        raise ValueError(
            f'embedding_fn returned shape {vector.shape} for {task!r}; '
            f'expected ({self._size},).')
      embeddings.append(vector)
    self._embeddings = np.stack(embeddings)

  @property
  def tasks(self) -> List[str]:
    return list(self._tasks)

  @property
  def num_tasks(self) -> int:
    return len(self._tasks)

  @property
  def embedding_size(self) -> int:
    return self._size

  @property
  def embeddings(self) -> np.ndarray:
    """(num_tasks, E) float32, row i the embedding of task id i."""
    return self._embeddings.copy()

  def task_id(self, task: str) -> int:
    """The id of `task`; raises ValueError naming the known tasks."""
    if task not in self._ids:
      raise ValueError(f'Unknown task {task!r}; the table holds '
                       f'{self._tasks}.')
    return self._ids[task]

  def embedding(self, task: str) -> np.ndarray:
    """The (E,) embedding of `task`."""
    return self._embeddings[self.task_id(task)].copy()

  def context(self, task: str) -> Dict[str, Any]:
    """The per-episode context values of `task` for `make_episode`."""
    return {'task': task, 'task_id': self.task_id(task),
            'task_embedding': self.embedding(task)}


@gin.configurable
def get_bcz_episode_specs(
    image_size: ImageSize = DEFAULT_IMAGE_SIZE,
    task_embedding_size: int = DEFAULT_EMBEDDING_SIZE
) -> specs.TensorSpecStruct:
  """Returns the specs of one BC-Z episode record (see the module docstring).

  Example:
    >>> episode_spec = get_bcz_episode_specs()
    >>> writer = TFRecordReplayWriter(episode_spec.features,
    ...                               episode_spec.labels)
    >>> episode_spec['features/image'].is_sequence
    True

  Args:
    image_size: The camera image height and width (int or pair).
    task_embedding_size: E, the size of the task embedding.

  Returns:
    A `TensorSpecStruct` with the paths of the module docstring; the names
    are the last path components ('image', 'proprioception', 'action',
    'target_position', 'task_id', 'task_embedding', 'task', 'reset_seed').

  Raises:
    ValueError: For a bad image size or embedding size.
  """
  height, width = as_image_size(image_size)
  size = _check_size(task_embedding_size, 'task_embedding_size')
  spec = specs.TensorSpecStruct()
  spec[IMAGE] = specs.ExtendedTensorSpec(
      (height, width, 3), tf.uint8, name='image', data_format='jpeg',
      is_sequence=True)
  spec[PROPRIOCEPTION] = specs.ExtendedTensorSpec(
      (POSE_SIZE,), tf.float32, name='proprioception', is_sequence=True)
  spec[TASK_ID] = specs.ExtendedTensorSpec((), tf.int64, name='task_id')
  spec[TASK_EMBEDDING] = specs.ExtendedTensorSpec(
      (size,), tf.float32, name='task_embedding')
  spec[TASK] = specs.ExtendedTensorSpec((), tf.string, name='task',
                                        is_optional=True)
  spec[RESET_SEED] = specs.ExtendedTensorSpec((), tf.int64,
                                              name='reset_seed',
                                              is_optional=True)
  spec[ACTION] = specs.ExtendedTensorSpec(
      (POSE_SIZE,), tf.float32, name='action', is_sequence=True)
  spec[TARGET_POSITION] = specs.ExtendedTensorSpec(
      (3,), tf.float32, name='target_position', is_sequence=True,
      is_optional=True)
  return spec


def _steps_array(name: str, value: Any, shape: Tuple[int, ...],
                 dtype: Any) -> np.ndarray:
  array = np.asarray(value)
  if array.ndim != len(shape) + 1 or tuple(array.shape[1:]) != shape:
    raise ValueError(
        f'make_episode: {name} must be (num_steps,) + {shape}, got shape '
        f'{array.shape}.')
  if np.dtype(dtype) == np.uint8:
    if array.dtype != np.uint8:
      raise ValueError(f'make_episode: {name} must be uint8 (0-255), got '
                       f'{array.dtype}. Convert float images with '
                       '(image * 255).round().astype(np.uint8).')
    return array
  if not np.all(np.isfinite(array)):
    raise ValueError(f'make_episode: {name} holds NaN or infinite values.')
  return array.astype(dtype)


def _check_gripper(name: str, values: np.ndarray):
  gripper = values[:, GRIPPER]
  if gripper.size and (gripper.min() < 0.0 or gripper.max() > 1.0):
    raise ValueError(
        f'make_episode: the gripper entry (index {GRIPPER}) of {name} must be '
        f'a closure in [0, 1], got values in [{gripper.min():.3g}, '
        f'{gripper.max():.3g}].')


def make_episode(images: Any,
                 proprioception: Any,
                 actions: Any,
                 task_id: int,
                 task_embedding: Any,  # pylint: disable=redefined-outer-name
                 task: Optional[str] = None,
                 reset_seed: Optional[int] = None,
                 target_positions: Any = None
                 ) -> Tuple[Dict[str, Any], Dict[str, Any]]:
  """Checks one demonstration and returns its (features, labels) values.

  Example:
    >>> table = TaskTable(['reach the bowl'])
    >>> features, labels = make_episode(
    ...     images, poses, actions, reset_seed=3,
    ...     **table.context('reach the bowl'))
    >>> writer.write((features, labels))

  Args:
    images: (T, H, W, 3) uint8 camera frames.
    proprioception: (T, 7) end-effector poses (xyz, axis-angle, gripper in
      [0, 1]) before each step's action.
    actions: (T, 7) commands (delta xyz, delta axis-angle, gripper target in
      [0, 1]).
    task_id: The task's id.
    task_embedding: (E,) float task embedding.
    task: The task text, or None.
    reset_seed: The seed of `env.reset(seed=...)` that gives the initial
      state, or None.
    target_positions: (T, 3) world xyz of the task's object before each
      step (privileged; an auxiliary label), or None.

  Returns:
    `(features, labels)` laid out like `get_bcz_episode_specs()` 'features'
    and 'labels' (optional entries left out when None).

  Raises:
    ValueError: If the arrays have other shapes, the step counts differ,
      T is 0, values are not finite or a gripper value is outside [0, 1].
    TypeError: If `task` is not a str or an id / seed not an int.
  """
  images = np.asarray(images)
  if images.ndim != 4 or images.shape[-1] != 3:
    raise ValueError(f'make_episode: images must be (num_steps, H, W, 3), got '
                     f'shape {images.shape}.')
  images = _steps_array('images', images, tuple(images.shape[1:]), np.uint8)
  proprioception = _steps_array('proprioception', proprioception,
                                (POSE_SIZE,), np.float32)
  actions = _steps_array('actions', actions, (POSE_SIZE,), np.float32)
  lengths = {'images': len(images), 'proprioception': len(proprioception),
             'actions': len(actions)}
  labels = {'action': actions}
  if target_positions is not None:
    labels['target_position'] = _steps_array(
        'target_positions', target_positions, (3,), np.float32)
    lengths['target_positions'] = len(labels['target_position'])
  if len(set(lengths.values())) != 1:
    raise ValueError(f'make_episode: every step needs an image, a pose and an '
                     f'action (and a target position if any); got step '
                     f'counts {lengths}.')
  if not len(actions):
    raise ValueError('make_episode: an episode needs at least one step.')
  _check_gripper('proprioception', proprioception)
  _check_gripper('actions', actions)
  for name, value in (('task_id', task_id), ('reset_seed', reset_seed)):
    if value is not None and (isinstance(value, bool) or
                              not isinstance(value, (int, np.integer))):
      raise TypeError(f'make_episode: {name} must be an int, got {value!r}.')
  embedding = np.asarray(task_embedding, np.float32)
  if embedding.ndim != 1:
    raise ValueError(f'make_episode: task_embedding must be (E,), got '
                     f'shape {embedding.shape}.')
  features = {'image': images, 'proprioception': proprioception,
              'task_id': np.int64(task_id), 'task_embedding': embedding}
  if task is not None:
    if not isinstance(task, str):
      raise TypeError(f'make_episode: task must be a str, got {task!r}.')
    features['task'] = task
  if reset_seed is not None:
    features['reset_seed'] = np.int64(reset_seed)
  return features, labels


def _episode_spec_for(episode: Tuple[Mapping[str, Any], Mapping[str, Any]]
                     ) -> specs.TensorSpecStruct:
  features, _ = episode
  return get_bcz_episode_specs(
      image_size=tuple(np.shape(features['image'])[1:3]),
      task_embedding_size=int(np.shape(features['task_embedding'])[0]))


def write_episodes(path: str,
                   episodes: Iterable[Tuple[Mapping[str, Any],
                                            Mapping[str, Any]]],
                   jpeg_quality: int = 95,
                   max_records_per_file: Optional[int] = None,
                   overwrite: bool = False) -> List[str]:
  """Writes `make_episode` results as SequenceExamples, atomically.

  Through `t2r.data.TFRecordReplayWriter` with `get_bcz_episode_specs` at
  the episodes' image and embedding sizes, so every record is checked
  against the specs before it is written.

  Example:
    >>> paths = write_episodes('/tmp/bcz/demos.tfrecord',
    ...                        [make_episode(...), make_episode(...)])

  Args:
    path: The file (or, with `max_records_per_file`, the shard pattern base).
    episodes: `(features, labels)` pairs from `make_episode`, all of one image
      size and embedding size.
    jpeg_quality: JPEG quality of the frames.
    max_records_per_file: Episodes per file; None writes one file.
    overwrite: Replace existing files.

  Returns:
    The paths written.

  Raises:
    ValueError: If there are no episodes, or an episode does not match the
      specs of the first one.
  """
  episodes = list(episodes)
  if not episodes:
    raise ValueError(f'write_episodes: no episodes to write to {path!r}.')
  episode_spec = _episode_spec_for(episodes[0])
  writer = replay_writer.TFRecordReplayWriter(
      episode_spec.features, episode_spec.labels, jpeg_quality=jpeg_quality,
      max_records_per_file=max_records_per_file, overwrite=overwrite)
  with writer.open(path):
    writer.write([(dict(f), dict(l)) for f, l in episodes])
  return writer.written_paths


def read_episodes(file_patterns: Union[str, Sequence[str]],
                  image_size: ImageSize = DEFAULT_IMAGE_SIZE,
                  task_embedding_size: int = DEFAULT_EMBEDDING_SIZE,
                  compression_type: str = '') -> Iterator[Dict[str, Any]]:
  """Yields the episodes of BC-Z records as numpy dicts, in file order.

  Parsed by t2r's spec parser (`create_parse_tf_example_fn` of
  `get_bcz_episode_specs`), one record at a time, so every episode keeps its
  own length. The dicts are what `t2r.data.episode_checks.check_episodes`
  takes ('action', 'proprioception', 'reset_seed').

  Example:
    >>> for episode in read_episodes('/tmp/bcz/demos*.tfrecord'):
    ...   print(episode['task'], episode['action'].shape)

  Args:
    file_patterns: A glob or a list of globs / file names.
    image_size: The records' image size.
    task_embedding_size: The records' embedding size.
    compression_type: '', 'GZIP' or 'ZLIB'.

  Yields:
    Dicts with 'image' (T, H, W, 3) uint8, 'proprioception' (T, 7),
    'action' (T, 7), 'task_id' int, 'task_embedding' (E,), and 'task' (str),
    'reset_seed' (int) and 'target_position' (T, 3) when the record holds
    them.

  Raises:
    ValueError: If no file matches, or a record does not parse by the specs.
  """
  patterns = ([file_patterns] if isinstance(file_patterns, str) else
              list(file_patterns))
  filenames = sorted({name for pattern in patterns
                      for name in tf.io.gfile.glob(pattern)})
  if not filenames:
    raise ValueError(f'read_episodes: no file matches {patterns}.')
  episode_spec = get_bcz_episode_specs(image_size, task_embedding_size)
  parse_fn = parsing.create_parse_tf_example_fn(episode_spec.features,
                                                episode_spec.labels)
  for filename in filenames:
    for index, record in enumerate(
        tf.data.TFRecordDataset(filename, compression_type)):
      try:
        features, labels = parse_fn(record[None])
      except (ValueError, tf.errors.InvalidArgumentError) as e:
        raise ValueError(f'read_episodes: record {index} of {filename} does '
                         f'not parse as a BC-Z episode: {e}') from e
      length = int(features['image_length'][0])
      episode = {
          'image': features['image'][0, :length].numpy(),
          'proprioception': features['proprioception'][0, :length].numpy(),
          'action': labels['action'][0, :length].numpy(),
          'task_id': int(features['task_id'][0]),
          'task_embedding': features['task_embedding'][0].numpy(),
      }
      if 'task' in features:
        episode['task'] = features['task'][0].numpy().decode('utf-8')
      if 'reset_seed' in features:
        episode['reset_seed'] = int(features['reset_seed'][0])
      if 'target_position' in labels:
        episode['target_position'] = (
            labels['target_position'][0, :length].numpy())
      yield episode
