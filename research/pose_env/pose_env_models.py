"""Models for the duck pose environment: image -> pose, and Q(image, action).

Both read the records `collect_episodes` writes. Their specs are picked from
`pose_env_specs.get_pose_env_specs()`, so the names always match the data:
the records hold 'state/image' as a (64, 64, 3) uint8 JPEG, the models take
it as float32 in [0, 1], and `PoseEnvImagePreprocessor` (an
`ImagePreprocessor` with the record size as source size, no crop) connects
the two through the specs.

  PoseEnvRegressionModel:    image -> conv tower -> spatial softmax -> MLP
                             -> (x, y); MSE to 'target_pose'. Served with
                             `RegressionPolicy`.
  PoseEnvContinuousMCModel:  a critic: keypoints of the same tower -> state
                             embedding, modulated by the action (x, y)
                             through FiLM -> MLP -> Q. Regresses
                             the Monte-Carlo return of the one-step episode
                             (reward = -distance) or, with
                             `success_distance`, the probability that the
                             guess lands within that distance. Served with
                             `CEMPolicy`.

Example:
  >>> model = PoseEnvRegressionModel()
  >>> model.preprocessor.get_in_feature_specification('train')['state/image']
  ExtendedTensorSpec(shape=(64, 64, 3), dtype=tf.uint8, name='state/image',
                     data_format='jpeg')
"""

import functools
from typing import Any, Mapping, Optional, Sequence

import gin
import tensorflow as tf
import tf_keras

import preprocessors
from research.pose_env import pose_env_specs
from t2r import layers
from t2r import models
from t2r import specs
from t2r.models import critic_model
from t2r.models import regression_model

_IMAGE = 'features/state/image'
_ACTION = 'features/action'
_TARGET_POSE = 'labels/target_pose'
_ACTION_CONDITIONINGS = ('film', 'concat')


@gin.configurable
class PoseEnvImagePreprocessor(preprocessors.ImagePreprocessor):
  """Decodes the pose-env JPEG records to the model's float32 images.

  The recorded images are already the model's size, so nothing is cropped
  or resized: the in spec is the record's uint8 JPEG image and the out spec
  the model's float32 image in [0, 1], under the same name. Photometric
  distortions in TRAIN are off by default (the simulator's lighting does not
  change).

  Args:
    model_feature_specification_fn: See `AbstractPreprocessor`.
    model_label_specification_fn: See `AbstractPreprocessor`.
    is_model_device_tpu: See `AbstractPreprocessor`.
    image_size: The recorded (and model) image size: an int or (h, w).
    distortion_kwargs: `ApplyPhotometricImageDistortions` arguments for
      TRAIN; None disables the distortions.
  """

  def __init__(self,
               model_feature_specification_fn=None,
               model_label_specification_fn=None,
               is_model_device_tpu: bool = False,
               image_size: pose_env_specs.ImageSize = 64,
               distortion_kwargs: Optional[Mapping[str, Any]] = None):
    super().__init__(
        model_feature_specification_fn,
        model_label_specification_fn,
        is_model_device_tpu,
        source_image_size=pose_env_specs.as_image_size(image_size),
        crop_size=None,
        data_format=pose_env_specs.get_pose_env_specs(image_size)[
            _IMAGE].data_format,
        distortion_kwargs=dict(distortion_kwargs or {}))


def _model_image_spec(image_size: pose_env_specs.ImageSize
                     ) -> specs.ExtendedTensorSpec:
  """The record's image spec as the model sees it: float32, decoded."""
  record_image = pose_env_specs.get_pose_env_specs(image_size)[_IMAGE]
  return specs.ExtendedTensorSpec.from_spec(
      record_image, dtype=tf.float32, data_format=None)


def _default_preprocessor_cls(preprocessor_cls: Any,
                              image_size: pose_env_specs.ImageSize) -> Any:
  """The given class, or `PoseEnvImagePreprocessor` at the model's size."""
  if preprocessor_cls is not None:
    return preprocessor_cls
  return functools.partial(PoseEnvImagePreprocessor, image_size=image_size)


@gin.configurable
class PoseEnvKeypointTower(tf_keras.layers.Layer):
  """Image -> conv layers -> spatial softmax keypoints (batch, 2 * channels).

  The keypoints are the expected (x, y) image positions of each last conv
  channel, in [-1, 1]; a few of them learn to follow the duck and others
  the table, which is what an MLP needs to map the duck to table
  coordinates under a varying camera.

  Example:
    >>> PoseEnvKeypointTower()(tf.zeros((2, 64, 64, 3))).shape
    TensorShape([2, 64])

  Args:
    filters: Output channels per conv layer.
    kernel_sizes: Kernel size per conv layer.
    strides: Stride per conv layer.
    layer_norm: Normalize each conv layer's output over its channels and
      positions (`LayerNormalization`) before the ReLU, as T2R's
      `BuildImagesToFeaturesModel` did.
    **kwargs: `tf_keras.layers.Layer` arguments.

  Raises:
    ValueError: If the three lists are empty or differ in length.
  """

  def __init__(self,
               filters: Sequence[int] = (16, 32, 32),
               kernel_sizes: Sequence[int] = (5, 3, 3),
               strides: Sequence[int] = (2, 2, 1),
               layer_norm: bool = False,
               **kwargs):
    super().__init__(**kwargs)
    if not filters or not len(filters) == len(kernel_sizes) == len(strides):
      raise ValueError(
          f'PoseEnvKeypointTower needs one filters, kernel_sizes and strides '
          f'entry per conv layer, got filters={filters!r}, '
          f'kernel_sizes={kernel_sizes!r}, strides={strides!r}.')
    self.convs = [
        tf_keras.layers.Conv2D(
            f, k, strides=s, padding='same',
            activation=None if layer_norm else 'relu', name=f'conv{i}')
        for i, (f, k, s) in enumerate(zip(filters, kernel_sizes, strides))
    ]
    self.norms = [
        tf_keras.layers.LayerNormalization(axis=(1, 2, 3), name=f'norm{i}')
        for i in range(len(filters))
    ] if layer_norm else []
    self.spatial_softmax = layers.SpatialSoftmax(name='spatial_softmax')

  def call(self, images: tf.Tensor) -> tf.Tensor:
    net = images
    for i, conv in enumerate(self.convs):
      net = conv(net)
      if self.norms:
        net = tf.nn.relu(self.norms[i](net))
    return self.spatial_softmax(net)


class _Mlp(tf_keras.layers.Layer):
  """Dense ReLU layers, then a linear output layer if `output_size` is set.

  A layer rather than a `tf_keras.Sequential`: an unbuilt Sequential raises
  when its weights are listed, e.g. by `evaluate` before the first step.
  """

  def __init__(self, hidden_sizes: Sequence[int],
               output_size: Optional[int] = None, **kwargs):
    super().__init__(**kwargs)
    self.dense_layers = [
        tf_keras.layers.Dense(size, activation='relu', name=f'dense{i}')
        for i, size in enumerate(hidden_sizes)
    ]
    if output_size is not None:
      self.dense_layers.append(
          tf_keras.layers.Dense(output_size, name='output'))

  def call(self, inputs: tf.Tensor) -> tf.Tensor:
    net = inputs
    for layer in self.dense_layers:
      net = layer(net)
    return net


@gin.configurable
class PoseEnvRegressionModel(models.RegressionModel):
  """Predicts the duck's table (x, y) from one camera image.

  Features: 'state/image' (64, 64, 3) float32 (decoded from the records'
  JPEG by `PoseEnvImagePreprocessor`); label: 'target_pose' (2,); output:
  'inference_output' (batch, 2), the action `RegressionPolicy` takes.

  Example:
    >>> model = PoseEnvRegressionModel()
    >>> model(specs.TensorSpecStruct(
    ...     {'state/image': tf.zeros((1, 64, 64, 3))}))['inference_output']
    <tf.Tensor: shape=(1, 2), dtype=float32, ...>

  Args:
    image_size: The image size of the records (and the model).
    hidden_sizes: Hidden layer sizes of the MLP on the keypoints.
    preprocessor_cls: Defaults to `PoseEnvImagePreprocessor` at
      `image_size`.
    **kwargs: `RegressionModel` / `T2RModel` arguments (e.g.
      `create_optimizer_fn`, `loss_function`).
  """

  def __init__(self,
               image_size: pose_env_specs.ImageSize = 64,
               hidden_sizes: Sequence[int] = (128, 128),
               preprocessor_cls: Any = None,
               **kwargs):
    super().__init__(
        preprocessor_cls=_default_preprocessor_cls(preprocessor_cls,
                                                   image_size),
        label_key='target_pose',
        **kwargs)
    self._image_spec = _model_image_spec(image_size)
    self._target_spec = pose_env_specs.get_pose_env_specs(image_size)[
        _TARGET_POSE]
    self.tower = PoseEnvKeypointTower(name='tower')
    self.head = _Mlp(hidden_sizes, self._target_spec.shape[-1], name='head')

  def get_feature_specification(self, mode: str) -> specs.TensorSpecStruct:
    return specs.TensorSpecStruct({'state/image': self._image_spec})

  def get_label_specification(self, mode: str) -> specs.TensorSpecStruct:
    return specs.TensorSpecStruct({'target_pose': self._target_spec})

  def a_func(self, features, mode, config=None, params=None):
    keypoints = self.tower(features['state/image'])
    return {regression_model.INFERENCE_OUTPUT: self.head(keypoints)}

  def model_eval_fn(self, features, labels, inference_outputs, mode,
                    config=None, params=None):
    """The loss and the mean distance to the true pose, in table meters."""
    error = (tf.cast(inference_outputs[regression_model.INFERENCE_OUTPUT],
                     tf.float32) -
             labels['target_pose'])
    return {
        'loss': self.model_train_fn(features, labels, inference_outputs, mode),
        'mean_distance': tf.reduce_mean(tf.norm(error, axis=-1)),
    }


@gin.configurable
class PoseEnvContinuousMCModel(models.CriticModel):
  """A critic Q(image, action) of the one-step pose episode, for CEM.

  State 'state/image' (64, 64, 3) float32, action 'action/pose' (name
  'action', the recorded guess), label 'reward' (the Monte-Carlo return of
  a one-step episode: -distance). With the default 'mse' loss Q regresses
  the reward; with `success_distance` Q is the probability that the guess
  lies within that distance of the duck (sigmoid cross entropy on
  reward > -success_distance).

  The network is split as `CEMExportGenerator` expects: the image tower runs
  once per state (`state_embedding_fn`) and a head scores each candidate
  action (`q_from_state_embedding_fn`), so an in-graph CEM export encodes
  the image once per call.

  Example:
    >>> critic = PoseEnvContinuousMCModel(action_batch_size=64)
    >>> features = specs.TensorSpecStruct({
    ...     'state/image': tf.zeros((1, 64, 64, 3)),
    ...     'action/pose': tf.zeros((64, 2))})
    >>> critic(features)['q_predicted'].shape
    TensorShape([64])

  Args:
    image_size: The image size of the records (and the model).
    embedding_sizes: Hidden sizes of the MLP that turns keypoints into the
      state embedding (its last entry is the embedding size).
    hidden_sizes: Hidden sizes of the Q head on [embedding, action].
    action_conditioning: How the action meets the state embedding before
      the Q head. 'film' (default): the action scales and shifts the
      embedding (`t2r.layers.FiLM`) and the head reads [modulated
      embedding, action]. 'concat': the head reads [embedding, action]
      only; it first fits Q of the action alone and can stay on that
      plateau (measured over seeds in research/pose_env/README.md).
    success_distance: None regresses the reward; a distance in meters
      learns the success probability instead.
    preprocessor_cls: Defaults to `PoseEnvImagePreprocessor` at
      `image_size`.
    **kwargs: `CriticModel` arguments (`action_batch_size`, ...) and
      `T2RModel` arguments.

  Raises:
    ValueError: If `success_distance` is not positive, `action_conditioning`
      is unknown, or `loss_type` or `target_label_key` are passed (the
      model sets them).
  """

  def __init__(self,
               image_size: pose_env_specs.ImageSize = 64,
               embedding_sizes: Sequence[int] = (128, 64),
               hidden_sizes: Sequence[int] = (128, 128),
               success_distance: Optional[float] = None,
               action_conditioning: str = 'film',
               preprocessor_cls: Any = None,
               **kwargs):
    if action_conditioning not in _ACTION_CONDITIONINGS:
      raise ValueError(
          f'action_conditioning must be one of {_ACTION_CONDITIONINGS}, got '
          f'{action_conditioning!r}.')
    fixed = sorted({'loss_type', 'target_label_key'} & set(kwargs))
    if fixed:
      raise ValueError(
          f'PoseEnvContinuousMCModel sets {fixed} itself (the target is the '
          "recorded 'reward'); pass success_distance= to learn a success "
          'probability instead of the reward.')
    if success_distance is not None and not success_distance > 0:
      raise ValueError(
          f'success_distance must be a positive distance in meters or None, '
          f'got {success_distance!r}.')
    super().__init__(
        loss_type=('mse' if success_distance is None else
                   'sigmoid_cross_entropy'),
        target_label_key='reward',
        preprocessor_cls=_default_preprocessor_cls(preprocessor_cls,
                                                   image_size),
        **kwargs)
    self._success_distance = success_distance
    record_spec = pose_env_specs.get_pose_env_specs(image_size)
    self._image_spec = _model_image_spec(image_size)
    self._action_spec = record_spec[_ACTION]
    self.tower = PoseEnvKeypointTower(name='tower')
    self.embedding = _Mlp(embedding_sizes, name='embedding')
    # A random (not identity) initialisation: the action modulates the
    # embedding from the first step, so the tower gets a gradient that
    # depends on the action at once.
    self.film = (layers.FiLM(kernel_initializer='glorot_uniform',
                             name='action_film')
                 if action_conditioning == 'film' else None)
    self.q_head = _Mlp(hidden_sizes, 1, name='q_head')

  def get_state_specification(self) -> specs.TensorSpecStruct:
    return specs.TensorSpecStruct(image=self._image_spec)

  def get_action_specification(self) -> specs.TensorSpecStruct:
    return specs.TensorSpecStruct(pose=self._action_spec)

  def state_embedding_fn(self, features: specs.TensorSpecStruct,
                         mode: str) -> tf.Tensor:
    """(batch, embedding size) from the images alone."""
    del mode  # No layer behaves differently in training.
    return self.embedding(self.tower(features['state/image']))

  def q_from_state_embedding_fn(self, embedding: tf.Tensor,
                                features: specs.TensorSpecStruct,
                                mode: str) -> tf.Tensor:
    """Q (or its logit) per row of [FiLM(embedding, action), action]."""
    del mode  # No layer behaves differently in training.
    action = tf.cast(features['action/pose'], embedding.dtype)
    if self.film is None:
      return self.q_head(tf.concat([embedding, action], axis=-1))
    return self.q_head(tf.concat([self.film(embedding, action), action],
                                 axis=-1))

  def q_func(self, features, mode, config=None, params=None):
    return self.q_from_state_embedding_fn(
        self.state_embedding_fn(features, mode), features, mode)

  def _target(self, labels: specs.TensorSpecStruct) -> specs.TensorSpecStruct:
    """The labels with 'reward' turned into success (0/1) if configured."""
    if self._success_distance is None:
      return labels
    success = tf.cast(labels['reward'] > -self._success_distance, tf.float32)
    return specs.TensorSpecStruct(reward=success)

  def model_train_fn(self, features, labels, inference_outputs, mode,
                     config=None, params=None):
    return super().model_train_fn(features, self._target(labels),
                                  inference_outputs, mode, config, params)

  def model_eval_fn(self, features, labels, inference_outputs, mode,
                    config=None, params=None):
    """The loss and the mean absolute error of Q against its target."""
    target = self._target(labels)['reward']
    q = inference_outputs[critic_model.Q_PREDICTED]
    return {
        'loss': self.model_train_fn(features, labels, inference_outputs, mode),
        'q_abs_error': tf.reduce_mean(tf.abs(q - target)),
    }

