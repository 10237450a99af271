"""BC-Z: a task-conditioned image -> waypoints policy, trained by imitation.

Jang et al. (2021), "BC-Z: Zero-Shot Task Generalization with Robotic
Imitation Learning"; Tensor2Robot's `research/bcz/model.py`. The network:

  image --FiLM(task)--> image tower --concat proprioception--> head
     tower: `FiLMResNet` (BC-Z's ResNet-18, FiLM in every block) or the small
            `FiLMConvTower` for CPU runs, chosen by gin (`BCZModel.image_tower`)
     head:  `WaypointHead` (N future waypoints of xyz residual, axis-angle
            residual and gripper; Huber / log loss weighted 100 / 10 / 0.5)
            or, `BCZModel.head = 'mdn'`, a mixture density network over the
            same (N * 7) waypoint vector (loss: NLL; predict: approximate
            mode)

The task conditioning is the episode's task embedding (or a one-hot task id),
with Gaussian noise of std 0.1 added in training as in BC-Z.

Examples from episodes. The records hold whole demonstrations
(`bcz_specs.get_bcz_episode_specs`, one `SequenceExample` each);
`BCZPreprocessor` cuts per-step training examples from them inside the input
pipeline: from every episode of a batch of B episodes it takes S steps t
(TRAIN: uniformly at random among the episode's steps; EVAL: S evenly spaced
steps), so the model sees B * S examples per batch. An example's features are
the frame at t (or the last k frames, `history_length`), the proprioception
at t and the task conditioning; its labels are the next N waypoints,
relative to the pose at t:

  waypoint_source='action' (default): waypoint i = the sum of the recorded
    actions t .. t + i (xyz and axis-angle deltas), gripper = the gripper
    command of step t + i. The first waypoint is the action at t, so the
    policy's 'action' output is exactly what the demonstrator commanded.
  waypoint_source='proprioception': waypoint i = pose(t + i + 1) - pose(t)
    (BC-Z's `future/xyz_residual`), gripper = the measured closure then.

Past the end of the episode the robot holds still: the deltas stop adding
up and the gripper keeps its last value. A (N,) 'waypoint_mask' label marks
the waypoints inside the episode (`mask_waypoints_past_end` trains only on
those).

Predict (the export): per-step features ('image' uint8, 'proprioception',
'task_embedding'), no sequence; outputs 'action' (batch, 7), the first
waypoint (delta xyz, delta axis-angle, gripper closure in [0, 1]: what a
policy executes now), 'waypoints' (batch, N, 7) and 'action_chunk' (batch,
N, 7), the per-step deltas between waypoints (to execute a short chunk
before replanning). `t2r.policies.RegressionPolicy(action_key='action')`
serves it.

Example:
  >>> model = BCZModel(image_size=64, num_waypoints=10)
  >>> outputs = model(specs.TensorSpecStruct({
  ...     'image': tf.zeros((1, 64, 64, 3)),
  ...     'proprioception': tf.zeros((1, 7)),
  ...     'task_embedding': bcz_specs.task_embedding('reach the bowl')[None]}))
  >>> outputs['action'].shape
  TensorShape([1, 7])
"""

from typing import Any, Callable, Dict, Optional, Sequence

import gin
import tensorflow as tf
import tf_keras

from preprocessors import abstract_preprocessor
from research.bcz import bcz_specs
from t2r import layers
from t2r import specs
from t2r.layers import waypoints as waypoints_lib
from t2r.models import t2r_model
from t2r.modes import ModeKeys

# Paths of the model's features and labels.
IMAGE = 'image'
PROPRIOCEPTION = 'proprioception'
TASK_EMBEDDING = 'task_embedding'
TASK_ID = 'task_id'
XYZ = waypoints_lib.XYZ                    # 'xyz_residual'
AXIS_ANGLE = waypoints_lib.AXIS_ANGLE      # 'axis_angle_residual'
GRIPPER = waypoints_lib.GRIPPER            # 'gripper'
WAYPOINT_MASK = 'waypoint_mask'
ACTION = 'action'
TARGET_POSITION = 'target_position'
LENGTH = '_length'
# Export outputs.
OUTPUT_ACTION = 'action'
OUTPUT_WAYPOINTS = 'waypoints'
OUTPUT_ACTION_CHUNK = 'action_chunk'
OUTPUT_TARGET_POSITION = 'target_position'

HEADS = ('waypoints', 'mdn')
CONDITIONINGS = ('task_embedding', 'task_id')
WAYPOINT_SOURCES = ('action', 'proprioception')
_MDN_LOGITS, _MDN_MEANS, _MDN_SCALES = 'mdn_logits', 'mdn_means', 'mdn_scales'
_INT64_MAX = 2**63 - 1


def _positive_int(value: Any, what: str) -> int:
  if isinstance(value, bool) or not isinstance(value, int) or value < 1:
    raise ValueError(f'{what} must be a positive int, got {value!r}.')
  return value


@gin.configurable
class BCZPreprocessor(abstract_preprocessor.AbstractPreprocessor):
  """Cuts per-step examples with future-waypoint labels from BC-Z episodes.

  What it reads and writes is derived from the model's specs: the image
  size, history length, conditioning and number of waypoints N come from
  `BCZModel`'s feature and label specs, the record layout from
  `bcz_specs.get_bcz_episode_specs`. See the module docstring for how
  examples and labels are cut.

  In TRAIN and EVAL the in specs are the episode's sequence specs ('image',
  'proprioception', the label 'action', and 'target_position' when the
  model's labels hold it, each with its '<path>_length') and the context
  (task embedding or id); a batch of B episodes becomes B *
  `samples_per_episode` examples. In PREDICT the in specs are one step's
  features (the uint8 'image', 'proprioception', the conditioning), as a
  robot observes them; only the image is converted (to float in [0, 1]).

  Example:
    >>> model = BCZModel()
    >>> pre = model.preprocessor
    >>> pre.get_in_feature_specification('train')['image'].is_sequence
    True
    >>> features, labels = pre.preprocess(parsed_features, parsed_labels,
    ...                                   'train')  # B * S examples

  Args:
    model_feature_specification_fn: See `AbstractPreprocessor`.
    model_label_specification_fn: See `AbstractPreprocessor`.
    is_model_device_tpu: See `AbstractPreprocessor`.
    samples_per_episode: S, the steps taken from each episode per batch.
    waypoint_source: 'action' or 'proprioception' (module docstring).
    seed: None draws TRAIN's steps from TensorFlow's global random state
      (which `tf.random.set_seed` / the job seed seeds); an int makes them a
      pure function of the seed and the batch (stateless ops, the seed
      folded with a fingerprint of the batch's poses), as in
      `preprocessors.image_transformations`.

  Raises:
    ValueError: For a non-positive `samples_per_episode`, an unknown
      `waypoint_source`; when run, for an episode without steps or whose
      images, poses and actions have different lengths (an
      InvalidArgumentError inside tf.data).
  """

  def __init__(self,
               model_feature_specification_fn=None,
               model_label_specification_fn=None,
               is_model_device_tpu: bool = False,
               samples_per_episode: int = 4,
               waypoint_source: str = 'action',
               seed: Optional[int] = None):
    super().__init__(model_feature_specification_fn,
                     model_label_specification_fn, is_model_device_tpu)
    self._samples = _positive_int(samples_per_episode,
                                  'BCZPreprocessor samples_per_episode')
    if waypoint_source not in WAYPOINT_SOURCES:
      raise ValueError(f'BCZPreprocessor waypoint_source must be one of '
                       f'{WAYPOINT_SOURCES}, got {waypoint_source!r}.')
    self._waypoint_source = waypoint_source
    if seed is not None and (isinstance(seed, bool) or
                             not isinstance(seed, int)):
      raise ValueError(f'BCZPreprocessor seed must be None or an int, got '
                       f'{seed!r}.')
    self._seed = seed

  @property
  def samples_per_episode(self) -> int:
    return self._samples

  # -- Specs ------------------------------------------------------------------

  def _model_specs(self, mode: str):
    features = specs.flatten_spec_structure(
        self._model_feature_specification(mode))
    for path in (IMAGE, PROPRIOCEPTION):
      if path not in features:
        raise ValueError(
            f'BCZPreprocessor needs a model feature {path!r}; the model '
            f'declares {list(features.keys())}.')
    return features

  def _episode_spec(self, mode: str) -> specs.TensorSpecStruct:
    features = self._model_specs(mode)
    image_size = tuple(features[IMAGE].shape[-3:-1].as_list())
    size = (features[TASK_EMBEDDING].shape[0] if TASK_EMBEDDING in features
            else bcz_specs.DEFAULT_EMBEDDING_SIZE)
    return bcz_specs.get_bcz_episode_specs(image_size, size)

  def _conditioning_paths(self, mode: str):
    features = self._model_specs(mode)
    return [p for p in (TASK_EMBEDDING, TASK_ID) if p in features]

  def get_in_feature_specification(self, mode: str) -> specs.TensorSpecStruct:
    episode = self._episode_spec(mode)
    model = self._model_specs(mode)
    spec = specs.TensorSpecStruct()
    if mode == ModeKeys.PREDICT:
      image = episode[bcz_specs.IMAGE]
      spec[IMAGE] = specs.ExtendedTensorSpec.from_spec(
          image, shape=model[IMAGE].shape, is_sequence=False)
      spec[PROPRIOCEPTION] = specs.ExtendedTensorSpec.from_spec(
          episode[bcz_specs.PROPRIOCEPTION], is_sequence=False)
    else:
      spec[IMAGE] = episode[bcz_specs.IMAGE]
      spec[PROPRIOCEPTION] = episode[bcz_specs.PROPRIOCEPTION]
    for path in self._conditioning_paths(mode):
      spec[path] = episode['features/' + path]
    if mode == ModeKeys.PREDICT:
      return spec
    return specs.add_sequence_length_specs(spec)

  def get_in_label_specification(self, mode: str) -> specs.TensorSpecStruct:
    if mode == ModeKeys.PREDICT:
      return self.get_out_label_specification(mode)
    episode = self._episode_spec(mode)
    spec = specs.TensorSpecStruct()
    spec[ACTION] = episode[bcz_specs.ACTION]
    if self._wants_target_position(mode):
      # Required here: a model trained on it needs records that hold it.
      spec[TARGET_POSITION] = specs.ExtendedTensorSpec.from_spec(
          episode[bcz_specs.TARGET_POSITION], is_optional=False)
    return specs.add_sequence_length_specs(spec)

  def get_out_feature_specification(self, mode: str) -> Any:
    return self._model_feature_specification(mode)

  def get_out_label_specification(self, mode: str) -> Any:
    return self._model_label_specification(mode)

  # -- Cutting examples -------------------------------------------------------

  def _wants_target_position(self, mode: str) -> bool:
    return TARGET_POSITION in specs.flatten_spec_structure(
        self._model_label_specification(mode))

  def _num_waypoints(self, mode: str) -> int:
    labels = specs.flatten_spec_structure(
        self._model_label_specification(mode))
    return int(labels[XYZ].shape[0])

  def _history_length(self, mode: str) -> int:
    image = self._model_specs(mode)[IMAGE]
    return int(image.shape[0]) if image.shape.rank == 4 else 1

  def _random_seed(self, poses: tf.Tensor) -> tf.Tensor:
    if self._seed is None:
      return tf.random.uniform([2], 0, _INT64_MAX, dtype=tf.int64)
    # A fingerprint of the batch: the same batch cuts the same steps, the
    # next batch (other episodes, or the same in other places) others.
    bits = tf.cast(tf.bitcast(tf.cast(poses, tf.float32), tf.int32),
                   tf.int64)
    weights = tf.range(1, tf.size(bits, out_type=tf.int64) + 1) % 1000003
    fingerprint = tf.reduce_sum(tf.reshape(bits, [-1]) * weights) % (2**31)
    return tf.random.experimental.stateless_fold_in(
        tf.constant([self._seed, 0], tf.int64), fingerprint)

  def _steps(self, lengths: tf.Tensor, poses: tf.Tensor,
             mode: str) -> tf.Tensor:
    """(B, S) int32 steps, each < its episode's length."""
    count = self._samples
    batch = tf.shape(lengths)[0]
    float_lengths = tf.cast(lengths, tf.float32)[:, None]
    if mode == ModeKeys.TRAIN:
      uniform = tf.random.stateless_uniform([batch, count],
                                            self._random_seed(poses))
    else:
      uniform = (tf.range(count, dtype=tf.float32)[None] + 0.5) / count
    steps = tf.cast(tf.floor(uniform * float_lengths), tf.int32)
    return tf.minimum(steps, lengths[:, None] - 1)

  def _preprocess_fn(self, features, labels, mode):
    if mode == ModeKeys.PREDICT:
      out = specs.TensorSpecStruct()
      out[IMAGE] = tf.image.convert_image_dtype(features[IMAGE], tf.float32)
      out[PROPRIOCEPTION] = features[PROPRIOCEPTION]
      for path in self._conditioning_paths(mode):
        out[path] = features[path]
      return out, labels
    lengths = tf.cast(features[IMAGE + LENGTH], tf.int32)
    checks = [
        tf.debugging.assert_positive(
            lengths, message='BCZPreprocessor: an episode has no steps.'),
        tf.debugging.assert_equal(
            lengths, tf.cast(features[PROPRIOCEPTION + LENGTH], tf.int32),
            message='BCZPreprocessor: an episode has more images than '
            'proprioception steps (or fewer).'),
    ]
    if labels is not None:
      checks.append(tf.debugging.assert_equal(
          lengths, tf.cast(labels[ACTION + LENGTH], tf.int32),
          message='BCZPreprocessor: an episode has more images than actions '
          '(or fewer).'))
    with tf.control_dependencies(checks):
      lengths = tf.identity(lengths)
    poses = features[PROPRIOCEPTION]                       # (B, T, 7)
    steps = self._steps(lengths, poses, mode)              # (B, S)
    count = self._samples

    def flat(tensor):
      """(B, S, ...) -> (B * S, ...)."""
      return tf.reshape(tensor, tf.concat([[-1], tf.shape(tensor)[2:]], 0))

    history = self._history_length(mode)
    frames = tf.maximum(
        steps[..., None] - tf.range(history - 1, -1, -1, dtype=tf.int32), 0)
    images = tf.gather(features[IMAGE], frames, batch_dims=1)  # (B,S,k,...)
    if history == 1:
      images = images[:, :, 0]
    out = specs.TensorSpecStruct()
    out[IMAGE] = tf.image.convert_image_dtype(flat(images), tf.float32)
    present = tf.gather(poses, steps, batch_dims=1)        # (B, S, 7)
    out[PROPRIOCEPTION] = flat(present)
    for path in self._conditioning_paths(mode):
      out[path] = tf.repeat(features[path], count, axis=0)
    if labels is None:
      return out, None
    out_labels = self._waypoint_labels(labels[ACTION], poses, present, steps,
                                       lengths, mode, flat)
    if self._wants_target_position(mode):
      out_labels[TARGET_POSITION] = flat(
          tf.gather(labels[TARGET_POSITION], steps, batch_dims=1))
    return out, out_labels

  def _waypoint_labels(self, actions, poses, present, steps, lengths, mode,
                       flat) -> specs.TensorSpecStruct:
    """The (B * S, N, ...) waypoint labels of the chosen steps."""
    ahead = tf.range(self._num_waypoints(mode), dtype=tf.int32)
    last = lengths[:, None, None] - 1
    if self._waypoint_source == 'action':
      future = steps[..., None] + ahead                    # (B, S, N)
      inside = future <= last
      chosen = tf.gather(actions, tf.minimum(future, last), batch_dims=1)
      deltas = chosen[..., :6] * tf.cast(inside, chosen.dtype)[..., None]
      residual = tf.cumsum(deltas, axis=2)
      gripper = chosen[..., 6:7]
    else:
      future = steps[..., None] + ahead + 1
      inside = future <= last
      chosen = tf.gather(poses, tf.minimum(future, last), batch_dims=1)
      residual = chosen[..., :6] - present[:, :, None, :6]
      gripper = chosen[..., 6:7]
    labels = specs.TensorSpecStruct()
    labels[XYZ] = flat(residual[..., 0:3])
    labels[AXIS_ANGLE] = flat(residual[..., 3:6])
    labels[GRIPPER] = flat(gripper)
    labels[WAYPOINT_MASK] = flat(tf.cast(inside, tf.float32))
    return labels


class _Mlp(tf_keras.layers.Layer):
  """Dense ReLU layers (a layer, not a Sequential: see pose_env_models)."""

  def __init__(self, hidden_sizes: Sequence[int], **kwargs):
    super().__init__(**kwargs)
    self.dense_layers = [
        tf_keras.layers.Dense(size, activation='relu', name=f'dense{i}')
        for i, size in enumerate(hidden_sizes)]

  def call(self, inputs: tf.Tensor) -> tf.Tensor:
    net = inputs
    for layer in self.dense_layers:
      net = layer(net)
    return net


def _action_chunk(waypoints: tf.Tensor) -> tf.Tensor:
  """(B, N, 7) cumulative waypoints -> per-step deltas (gripper as is)."""
  residual = waypoints[..., :6]
  deltas = tf.concat([residual[:, :1], residual[:, 1:] - residual[:, :-1]],
                     axis=1)
  return tf.concat([deltas, waypoints[..., 6:]], axis=-1)


@gin.configurable
class BCZModel(t2r_model.T2RModel):
  """BC-Z's task-conditioned image -> waypoints policy (module docstring).

  Features (every mode; `BCZPreprocessor` makes them from episode records):
  'image' (H, W, 3) float32 in [0, 1] (or (k, H, W, 3) with
  `history_length` k), 'proprioception' (7,), and 'task_embedding' (E,) or
  'task_id' () int64. Labels: 'xyz_residual' (N, 3), 'axis_angle_residual'
  (N, 3), 'gripper' (N, 1) in [0, 1], 'waypoint_mask' (N,), and with a
  `target_position_weight` 'target_position' (3,): where the task's object
  is, an auxiliary label.

  Example:
    >>> model = BCZModel(image_tower=layers.FiLMResNet, head='mdn')
    >>> model.compile()
    >>> generator = DefaultRecordInputGenerator(file_patterns=..., batch_size=8)
    >>> generator.set_specification_from_model(model, 'train')
    >>> model.fit(generator.create_dataset('train'), steps_per_epoch=100)

  Args:
    image_size: The image height and width (int or pair); the records'.
    task_embedding_size: E, the size of the task embedding.
    num_waypoints: N, the future waypoints predicted.
    image_tower: A callable returning the FiLM image tower, a layer called
      as `tower(images, conditioning, training=...)` returning (batch, F)
      features: `t2r.layers.FiLMConvTower` (default, the CPU tower) or
      `t2r.layers.FiLMResNet` (BC-Z's ResNet-18); gin-configurable
      (`BCZModel.image_tower = @FiLMResNet`).
    head: 'waypoints' (`WaypointHead`, loss `waypoint_loss`) or 'mdn' (a
      mixture of Gaussians over the N * 7 waypoint vector, loss NLL,
      predicting the approximate mode).
    head_hidden_sizes: Hidden layers of the head (each waypoint component's
      MLP, or the MDN's trunk).
    mdn_num_components: Mixture components of the 'mdn' head.
    task_embedding_noise_std: Std of the Gaussian noise added to the
      conditioning in TRAIN (BC-Z: 0.1); 0 for none.
    conditioning: 'task_embedding' (the record's embedding) or 'task_id' (a
      one-hot of the record's task id; needs `num_tasks`).
    num_tasks: The number of tasks, for 'task_id' conditioning.
    use_proprioception: Concatenate the proprioception to the image
      features before the head.
    history_length: k, the frames the model sees (the current and k - 1
      previous ones; padded with the first frame at the episode start).
      Each frame goes through the tower; their features are concatenated.
    mask_waypoints_past_end: Train the waypoint head only on waypoints
      inside the episode (else on the held final pose too). The MDN's joint
      density always uses all N waypoints.
    target_position_weight: If > 0, a head on the image features
      predicts the world position of the object the task names (the
      records' privileged 'target_position', see `bcz_specs`), trained with
      `weight * mean(huber(error))` next to the imitation loss: an
      auxiliary task that makes the tower localize the named object, which
      the imitation signal alone teaches slowly (research/bcz/README.md).
      The policy does not use the prediction; the export outputs it as
      'target_position'. 0 (default): no such head or label.
    target_head_hidden_sizes: Hidden ReLU layers of that head; () makes it
      linear.
    preprocessor_cls: Defaults to `BCZPreprocessor`.
    **kwargs: `T2RModel` arguments (create_optimizer_fn, ...).

  Raises:
    ValueError: For an unknown head or conditioning, non-positive sizes,
      'task_id' conditioning without `num_tasks`, a negative noise std or
      target position weight.
    TypeError: If `image_tower` is not callable or does not return a layer.
  """

  def __init__(self,
               image_size: bcz_specs.ImageSize = bcz_specs.DEFAULT_IMAGE_SIZE,
               task_embedding_size: int = bcz_specs.DEFAULT_EMBEDDING_SIZE,
               num_waypoints: int = 10,
               image_tower: Callable[[], tf_keras.layers.Layer] = (
                   layers.FiLMConvTower),
               head: str = 'waypoints',
               head_hidden_sizes: Sequence[int] = (256, 256),
               mdn_num_components: int = 5,
               task_embedding_noise_std: float = 0.1,
               conditioning: str = 'task_embedding',
               num_tasks: Optional[int] = None,
               use_proprioception: bool = True,
               history_length: int = 1,
               mask_waypoints_past_end: bool = False,
               target_position_weight: float = 0.0,
               target_head_hidden_sizes: Sequence[int] = (128,),
               preprocessor_cls: Optional[Callable[..., Any]] = None,
               **kwargs):
    super().__init__(preprocessor_cls=preprocessor_cls or BCZPreprocessor,
                     **kwargs)
    self._image_size = bcz_specs.as_image_size(image_size)
    self._embedding_size = _positive_int(task_embedding_size,
                                         'BCZModel task_embedding_size')
    self._num_waypoints = _positive_int(num_waypoints,
                                        'BCZModel num_waypoints')
    self._history_length = _positive_int(history_length,
                                         'BCZModel history_length')
    if head not in HEADS:
      raise ValueError(f'BCZModel head must be one of {HEADS}, got {head!r}.')
    if conditioning not in CONDITIONINGS:
      raise ValueError(f'BCZModel conditioning must be one of '
                       f'{CONDITIONINGS}, got {conditioning!r}.')
    if conditioning == 'task_id':
      num_tasks = _positive_int(
          num_tasks, "BCZModel num_tasks (needed by conditioning='task_id')")
    if not task_embedding_noise_std >= 0:
      raise ValueError(f'BCZModel task_embedding_noise_std must be >= 0, got '
                       f'{task_embedding_noise_std!r}.')
    if not target_position_weight >= 0:
      raise ValueError(f'BCZModel target_position_weight must be >= 0, got '
                       f'{target_position_weight!r}.')
    self._target_weight = float(target_position_weight)
    hidden_sizes = tuple(head_hidden_sizes)
    for size in hidden_sizes:
      _positive_int(size, 'Each of BCZModel head_hidden_sizes')
    self._head_kind = head
    self._conditioning = conditioning
    self._num_tasks = num_tasks
    self._noise_std = float(task_embedding_noise_std)
    self._use_proprioception = bool(use_proprioception)
    self._mask_past_end = bool(mask_waypoints_past_end)
    if not callable(image_tower):
      raise TypeError(f'BCZModel image_tower must be a callable returning a '
                      f'tf-keras layer, got {image_tower!r}.')
    self.image_tower = image_tower()
    if not isinstance(self.image_tower, tf_keras.layers.Layer):
      raise TypeError(
          f'BCZModel image_tower returned {type(self.image_tower).__name__}; '
          'expected a tf_keras layer called as tower(images, conditioning, '
          'training=...), e.g. t2r.layers.FiLMConvTower or FiLMResNet.')
    if head == 'waypoints':
      self.head = layers.WaypointHead(num_waypoints=self._num_waypoints,
                                      hidden_sizes=hidden_sizes,
                                      name='waypoint_head')
    else:
      self.mdn_trunk = _Mlp(hidden_sizes, name='mdn_trunk')
      self.head = layers.MDNHead(
          num_components=_positive_int(mdn_num_components,
                                       'BCZModel mdn_num_components'),
          output_size=self._num_waypoints * bcz_specs.POSE_SIZE,
          name='mdn_head')
    if self._target_weight > 0:
      target_hidden = tuple(target_head_hidden_sizes)
      for size in target_hidden:
        _positive_int(size, 'Each of BCZModel target_head_hidden_sizes')
      self.target_trunk = _Mlp(target_hidden, name='target_trunk')
      self.target_head = tf_keras.layers.Dense(3, name='target_head')

  @property
  def num_waypoints(self) -> int:
    return self._num_waypoints

  @property
  def head_kind(self) -> str:
    return self._head_kind

  # -- Specs ------------------------------------------------------------------

  def get_feature_specification(self, mode: str) -> specs.TensorSpecStruct:
    del mode
    episode = bcz_specs.get_bcz_episode_specs(self._image_size,
                                              self._embedding_size)
    spec = specs.TensorSpecStruct()
    image = episode[bcz_specs.IMAGE]
    shape = image.shape if self._history_length == 1 else (
        tf.TensorShape([self._history_length]).concatenate(image.shape))
    spec[IMAGE] = specs.ExtendedTensorSpec.from_spec(
        image, shape=shape, dtype=tf.float32, data_format=None,
        is_sequence=False)
    spec[PROPRIOCEPTION] = specs.ExtendedTensorSpec.from_spec(
        episode[bcz_specs.PROPRIOCEPTION], is_sequence=False)
    if self._conditioning == 'task_embedding':
      spec[TASK_EMBEDDING] = episode[bcz_specs.TASK_EMBEDDING]
    else:
      spec[TASK_ID] = episode[bcz_specs.TASK_ID]
    return spec

  def get_label_specification(self, mode: str) -> specs.TensorSpecStruct:
    del mode
    n = self._num_waypoints
    spec = specs.TensorSpecStruct()
    spec[XYZ] = specs.ExtendedTensorSpec((n, 3), tf.float32, name=XYZ)
    spec[AXIS_ANGLE] = specs.ExtendedTensorSpec((n, 3), tf.float32,
                                                name=AXIS_ANGLE)
    spec[GRIPPER] = specs.ExtendedTensorSpec((n, 1), tf.float32, name=GRIPPER)
    spec[WAYPOINT_MASK] = specs.ExtendedTensorSpec((n,), tf.float32,
                                                   name=WAYPOINT_MASK)
    if self._target_weight > 0:
      spec[TARGET_POSITION] = specs.ExtendedTensorSpec(
          (3,), tf.float32, name=TARGET_POSITION)
    return spec

  # -- Network ----------------------------------------------------------------

  def _conditioning_input(self, features, mode: str) -> tf.Tensor:
    if self._conditioning == 'task_embedding':
      condition = tf.cast(features[TASK_EMBEDDING], tf.float32)
    else:
      condition = tf.one_hot(tf.cast(features[TASK_ID], tf.int32),
                             self._num_tasks)
    if mode == ModeKeys.TRAIN and self._noise_std > 0:
      condition += tf.random.normal(tf.shape(condition),
                                    stddev=self._noise_std)
    return condition

  def _image_features(self, images, condition, training) -> tf.Tensor:
    k = self._history_length
    if k == 1:
      return self.image_tower(images, condition, training=training)
    height, width, channels = images.shape[-3:]
    frames = tf.reshape(images, [-1, height, width, channels])
    net = self.image_tower(frames, tf.repeat(condition, k, axis=0),
                           training=training)
    return tf.reshape(net, [-1, k * net.shape[-1]])

  def inference_network_fn(self, features, labels, mode, config=None,
                           params=None) -> Dict[str, tf.Tensor]:
    del labels, config, params
    training = mode == ModeKeys.TRAIN
    condition = self._conditioning_input(features, mode)
    net = self._image_features(features[IMAGE], condition, training)
    outputs = {}
    if self._target_weight > 0:
      outputs[OUTPUT_TARGET_POSITION] = self.target_head(
          self.target_trunk(net))
    if self._use_proprioception:
      net = tf.concat(
          [net, tf.cast(features[PROPRIOCEPTION], net.dtype)], axis=-1)
    if self._head_kind == 'waypoints':
      predicted = self.head(net, training=training)
      outputs.update(predicted)
      xyz, axis_angle, gripper = (predicted[XYZ], predicted[AXIS_ANGLE],
                                  predicted[GRIPPER])
    else:
      mixture = self.head(self.mdn_trunk(net))
      outputs.update({_MDN_LOGITS: mixture.logits, _MDN_MEANS: mixture.means,
                      _MDN_SCALES: mixture.scales})
      mode_vector = tf.reshape(
          layers.gaussian_mixture_approximate_mode(mixture),
          [-1, self._num_waypoints, bcz_specs.POSE_SIZE])
      xyz, axis_angle = mode_vector[..., 0:3], mode_vector[..., 3:6]
      gripper = tf.clip_by_value(mode_vector[..., 6:7], 0.0, 1.0)
      outputs.update({XYZ: xyz, AXIS_ANGLE: axis_angle, GRIPPER: gripper})
    waypoints = tf.concat([xyz, axis_angle, gripper], axis=-1)
    outputs[OUTPUT_WAYPOINTS] = waypoints
    outputs[OUTPUT_ACTION] = waypoints[:, 0]
    outputs[OUTPUT_ACTION_CHUNK] = _action_chunk(waypoints)
    return outputs

  def create_export_outputs_fn(self, features, inference_outputs, mode,
                               config=None, params=None):
    del features, mode, config, params
    keys = [OUTPUT_ACTION, OUTPUT_WAYPOINTS, OUTPUT_ACTION_CHUNK]
    if OUTPUT_TARGET_POSITION in inference_outputs:
      keys.append(OUTPUT_TARGET_POSITION)
    return {key: inference_outputs[key] for key in keys}

  # -- Losses and metrics -----------------------------------------------------

  def _targets(self, labels) -> tf.Tensor:
    """(B, N * 7) waypoint vectors, the MDN's targets."""
    vector = tf.concat([labels[XYZ], labels[AXIS_ANGLE], labels[GRIPPER]],
                       axis=-1)
    return tf.reshape(vector, [-1, self._num_waypoints * bcz_specs.POSE_SIZE])

  def model_train_fn(self, features, labels, inference_outputs, mode,
                     config=None, params=None):
    del features, mode, config, params
    if self._head_kind == 'waypoints':
      mask = labels[WAYPOINT_MASK] if self._mask_past_end else None
      total, losses = layers.waypoint_loss(labels, inference_outputs,
                                           mask=mask)
    else:
      mixture = layers.GaussianMixture(
          tf.cast(inference_outputs[_MDN_LOGITS], tf.float32),
          tf.cast(inference_outputs[_MDN_MEANS], tf.float32),
          tf.cast(inference_outputs[_MDN_SCALES], tf.float32))
      total = layers.gaussian_mixture_nll(mixture, self._targets(labels))
      losses = {'nll': total}
    if self._target_weight > 0:
      error = (tf.cast(inference_outputs[OUTPUT_TARGET_POSITION], tf.float32)
               - tf.cast(labels[TARGET_POSITION], tf.float32))
      losses['target_position_loss'] = self._target_weight * tf.reduce_mean(
          waypoints_lib.huber(error))
      total += losses['target_position_loss']
    return total, losses

  def model_eval_fn(self, features, labels, inference_outputs, mode,
                    config=None, params=None):
    metrics = super().model_eval_fn(features, labels, inference_outputs, mode,
                                    config, params)
    first_xyz = inference_outputs[XYZ][:, 0] - labels[XYZ][:, 0]
    metrics['first_xyz_error'] = tf.reduce_mean(
        tf.norm(tf.cast(first_xyz, tf.float32), axis=-1))
    closes = inference_outputs[GRIPPER][:, 0] > 0.5
    metrics['first_gripper_accuracy'] = tf.reduce_mean(tf.cast(
        tf.equal(closes, labels[GRIPPER][:, 0] > 0.5), tf.float32))
    if OUTPUT_TARGET_POSITION in inference_outputs:
      metrics['target_position_error'] = tf.reduce_mean(tf.norm(
          tf.cast(inference_outputs[OUTPUT_TARGET_POSITION], tf.float32) -
          tf.cast(labels[TARGET_POSITION], tf.float32), axis=-1))
    return metrics
