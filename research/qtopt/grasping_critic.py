"""QT-Opt's grasping critic: Grasping44 Q(image, gripper state, action).

`GraspingCriticModel` is a `TDCriticModel` on the records of
`qtopt_specs` (state image, gripper pose, time to go; the action; the next
state; reward and done). Its Q-network is `t2r.layers.Grasping44` (QT-Opt's
472x472 network) or `Grasping44Small` (64x64, for CPU runs): the image goes
through the tower, and the head scores the vector [action, gripper pose,
time to go], as QT-Opt fed its action and gripper status into the network
after the image tower. The loss is QT-Opt's log loss (Q = sigmoid(logit),
rewards 0/1).

The image tower reads the state only, so the model exposes the critic
hooks `state_embedding_fn` / `q_from_state_embedding_fn`: the exported
`cem_action` signature (`CEMExportGenerator`) runs the tower once per state
and only the head per candidate action, and so does the Bellman target's
CEM over the target network.

Images reach the network as float32 in [0, 1] through
`preprocessors.ImagePreprocessor` (the model's default preprocessor): the
records hold uint8 JPEGs of `source_image_size`; the preprocessor crops
(random in TRAIN, central otherwise) to the model's `image_size` and, in
TRAIN, applies photometric distortions.

Example (gin, the 64x64 CPU critic of the grasp-point task):
  GraspingCriticModel.network = 'small'
  GraspingCriticModel.image_size = 64
  GraspingCriticModel.action_size = 3
  GraspingCriticModel.gamma = 0.0          # one-step episodes
  GraspingCriticModel.action_low = (0.4, -0.15, -1.5708)
  GraspingCriticModel.action_high = (0.7, 0.15, 1.5708)
"""

import functools
from typing import Any, Optional

import gin
import tensorflow as tf
import tf_keras

from preprocessors import image_preprocessor
from research import image_sizes
from research.kuka_scene import camera as camera_lib
from research.qtopt import qtopt_specs
from t2r import layers
from t2r import specs
from t2r.models import td_critic_model
from t2r.modes import ModeKeys

NETWORKS = ('small', 'full', 'glimpse')
_WHO = 'GraspingCriticModel'


def _head_inputs(state: Any, actions: tf.Tensor) -> tf.Tensor:
  """[action, gripper pose, time to go] per row of `actions`.

  The state rows are repeated to match when there are N candidate actions
  per state (row i * N + j pairs state i with action j).
  """
  proprio = tf.concat([tf.cast(state.gripper_pose, tf.float32),
                       tf.cast(state.time_to_go, tf.float32)], axis=-1)
  repeats = tf.shape(actions)[0] // tf.maximum(tf.shape(proprio)[0], 1)
  proprio = tf.repeat(proprio, repeats, axis=0)
  return tf.concat([tf.cast(actions, tf.float32), proprio], axis=-1)


class GraspingQNetwork(tf_keras.layers.Layer):
  """Packed critic features -> Q logit (rows, 1), split tower / head.

  Args:
    network: The Grasping44, Grasping44Small or PlaneGlimpseCritic layer
      it wraps.
    **kwargs: Standard `tf_keras.layers.Layer` arguments.
  """

  def __init__(self, network: layers.Grasping44, **kwargs):
    super().__init__(**kwargs)
    self.network = network

  def state_embedding(self, state: Any, training=None) -> tf.Tensor:
    """The image tower's (states, h, w, C) features."""
    return self.network.state_embedding(state.image, training=training)

  def q_from_state_embedding(self, embedding: tf.Tensor, state: Any,
                             actions: tf.Tensor, training=None) -> tf.Tensor:
    """Logits for `actions`; `embedding` holds one row per action."""
    return self.network.q_from_state_embedding(
        embedding, _head_inputs(state, actions), training=training)

  def call(self, features: Any, training=None) -> tf.Tensor:
    return self.q_from_state_embedding(
        self.state_embedding(features.state, training=training),
        features.state, features.action, training=training)


@gin.configurable
class GraspingCriticModel(td_critic_model.TDCriticModel):
  """QT-Opt's TD critic on Grasping44, for the pybullet grasping envs.

  Example:
    >>> critic = GraspingCriticModel(network='small', image_size=64,
    ...                              action_size=3, gamma=0.0,
    ...                              action_batch_size=64)
    >>> critic.get_feature_specification('train').keys()
    ['state/image', 'state/gripper_pose', 'state/time_to_go', 'action',
     'next_state/image', 'next_state/gripper_pose', 'next_state/time_to_go']

  Args:
    network: 'small' (`Grasping44Small`, gin-configurable), 'full'
      (`Grasping44`: QT-Opt's tower and head) or 'glimpse'
      (`PlaneGlimpseCritic`, gin-configurable: the grasp point's top-down
      patch through the known camera; grasp-point actions (x, y, yaw) and
      uncropped images only).
    image_size: The network's (height, width) (or one int): 64 for 'small',
      472 for 'full'.
    source_image_size: The records' image size; default `image_size` (no
      crop). QT-Opt: 512x640 records, 472x472 crops.
    action_size: 3 (grasp point), 4 (multi-step) or 5 (with terminate).
    distortion_kwargs: Photometric distortions in TRAIN (see
      `ImagePreprocessor`); None: its defaults (brightness, contrast); {}:
      none.
    preprocessor_cls: None builds the `ImagePreprocessor` above.
    camera: The camera the 'glimpse' network projects through; default
      the env's nominal `CameraPose()`.
    **kwargs: `TDCriticModel` arguments (gamma, target updates, CEM bounds
      and sizes, `action_batch_size`) and `T2RModel` ones. The loss is
      QT-Opt's log loss; `loss_type` is not an argument.

  Raises:
    ValueError: For an unknown network, bad sizes or a `loss_type`
      argument.
  """

  def __init__(self,
               network: str = 'small',
               image_size: image_sizes.ImageSize = 64,
               source_image_size: Optional[image_sizes.ImageSize] = None,
               action_size: int = 4,
               distortion_kwargs: Optional[dict] = None,
               preprocessor_cls: Any = None,
               camera: Optional[camera_lib.CameraPose] = None,
               **kwargs):
    if network not in NETWORKS:
      raise ValueError(f'{_WHO} network must be one of {NETWORKS}, got '
                       f'{network!r}.')
    if 'loss_type' in kwargs:
      raise ValueError(
          f"{_WHO} trains with QT-Opt's log loss (sigmoid cross entropy); "
          f"it takes no loss_type (got {kwargs['loss_type']!r}).")
    self._network_name = network
    self._image_size = image_sizes.as_image_size(image_size)
    self._source_image_size = (
        self._image_size if source_image_size is None else
        image_sizes.as_image_size(source_image_size))
    if network == 'glimpse' and (
        self._source_image_size != self._image_size or action_size != 3):
      raise ValueError(
          f"{_WHO} network='glimpse' projects grasp points (action_size 3, "
          f'got {action_size}) into the uncropped camera image (a crop '
          f'moves it), so source_image_size must equal image_size; got '
          f'{self._source_image_size} and {self._image_size}.')
    self._camera = camera_lib.CameraPose() if camera is None else camera
    if preprocessor_cls is None:
      preprocessor_cls = functools.partial(
          image_preprocessor.ImagePreprocessor,
          source_image_size=self._source_image_size,
          crop_size=self._image_size,
          distortion_kwargs=distortion_kwargs)
    self._state_spec = qtopt_specs.get_state_specification(self._image_size)
    self._state_spec.image = specs.ExtendedTensorSpec(
        self._image_size + (3,), tf.float32, name='state/image')
    self._action_spec = qtopt_specs.get_action_specification(action_size)
    super().__init__(loss_type='sigmoid_cross_entropy',
                     preprocessor_cls=preprocessor_cls, **kwargs)

  def get_state_specification(self) -> specs.TensorSpecStruct:
    return specs.TensorSpecStruct(self._state_spec)

  def get_action_specification(self) -> specs.ExtendedTensorSpec:
    return self._action_spec

  def create_q_network(self) -> GraspingQNetwork:
    if self._network_name == 'glimpse':
      height, width = self._image_size
      network = layers.PlaneGlimpseCritic(
          *self._camera.matrices(width=width, height=height))
    elif self._network_name == 'small':
      network = layers.Grasping44Small()
    else:
      network = layers.Grasping44()
    return GraspingQNetwork(network)

  # The critic hooks of CEMExportGenerator: the tower once per state.

  def state_embedding_fn(self, features: specs.TensorSpecStruct,
                         mode: str) -> tf.Tensor:
    """The Q-network's image features, one row per state."""
    return self.q_network.state_embedding(
        features.state, training=mode == ModeKeys.TRAIN)

  def q_from_state_embedding_fn(self, embedding: tf.Tensor,
                                features: specs.TensorSpecStruct,
                                mode: str) -> tf.Tensor:
    """The Q logit of each candidate action of `features.action`."""
    return self.q_network.q_from_state_embedding(
        embedding, features.state, features.action,
        training=mode == ModeKeys.TRAIN)
