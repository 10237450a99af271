"""The record layout of grasping transitions, for QT-Opt's TD critic.

One record per env step, laid out as `t2r.specs.critic_layout` (and so
`TDCriticModel`) expects:

  features  state/image          (H, W, 3) uint8, stored as JPEG
            state/gripper_pose   (4,) float32: measured x, y, z, yaw
            state/time_to_go     (1,) float32: fraction of steps left
            action               (A,) float32: 4 (multi-step), 5 (with
                                 terminate) or 3 (grasp point)
            next_state/...       the same as state/..., named 'next_' + name
  labels    reward               () float32
            done                 () float32, 1.0 on the episode's last step

A critic declares `get_state_specification()` (or picks from it) and its
action spec from here, so the collector's records and the model's parser
share one declaration.

Example:
  >>> record_spec = get_qtopt_specs(image_size=64, action_size=4)
  >>> writer = TFRecordReplayWriter(feature_spec=record_spec.features,
  ...                               label_spec=record_spec.labels)
  >>> writer.open('/tmp/replay/episode.tfrecord')
  >>> writer.write(episode_to_transitions(episode))
  >>> writer.close()
"""

from typing import Any, List, Sequence, Tuple

import gin
import numpy as np
import tensorflow as tf

from research.kuka_scene import scene as scene_lib
from t2r import specs

STATE_KEYS = ('image', 'gripper_pose', 'time_to_go')
_STEP_FIELDS = ('obs', 'action', 'reward', 'new_obs', 'done', 'info')
Transition = Tuple[specs.TensorSpecStruct, specs.TensorSpecStruct]


def _action_size(action_size: int) -> int:
  if isinstance(action_size, bool) or not isinstance(
      action_size, (int, np.integer)) or action_size < 1:
    raise ValueError(f'action_size must be a positive int, got '
                     f'{action_size!r}.')
  return int(action_size)


@gin.configurable
def get_state_specification(
    image_size: scene_lib.ImageSize = 64) -> specs.TensorSpecStruct:
  """The state specs, keyed relative to the state ('image', ...).

  Example:
    >>> get_state_specification(64)['image'].name
    'state/image'

  Args:
    image_size: The env's image (height, width), or one int.

  Returns:
    A `TensorSpecStruct`: 'image' (H, W, 3) uint8 JPEG, 'gripper_pose' (4,)
    float32 and 'time_to_go' (1,) float32, named 'state/<key>'.

  Raises:
    ValueError: For a bad image size.
  """
  height, width = scene_lib.as_image_size(image_size)
  return specs.TensorSpecStruct([
      ('image', specs.ExtendedTensorSpec(
          (height, width, 3), tf.uint8, name='state/image',
          data_format='jpeg')),
      ('gripper_pose', specs.ExtendedTensorSpec(
          (4,), tf.float32, name='state/gripper_pose')),
      ('time_to_go', specs.ExtendedTensorSpec(
          (1,), tf.float32, name='state/time_to_go')),
  ])


@gin.configurable
def get_action_specification(action_size: int = 4) -> specs.ExtendedTensorSpec:
  """The action spec: (action_size,) float32 named 'action'.

  Raises:
    ValueError: If `action_size` is not a positive int.
  """
  return specs.ExtendedTensorSpec((_action_size(action_size),), tf.float32,
                                  name='action')


@gin.configurable
def get_qtopt_specs(image_size: scene_lib.ImageSize = 64,
                    action_size: int = 4) -> specs.TensorSpecStruct:
  """The specs of one transition record: 'features/...' and 'labels/...'.

  Example:
    >>> record_spec = get_qtopt_specs(64, 4)
    >>> record_spec.features.keys()
    ['state/image', 'state/gripper_pose', 'state/time_to_go', 'action',
     'next_state/image', 'next_state/gripper_pose', 'next_state/time_to_go']
    >>> record_spec.labels.keys()
    ['reward', 'done']

  Args:
    image_size: The env's image (height, width), or one int.
    action_size: 4 (multi-step), 5 (multi-step with terminate) or 3 (grasp
      point); any positive int is accepted.

  Returns:
    The flat `TensorSpecStruct` (see the module docstring).

  Raises:
    ValueError: For a bad image or action size.
  """
  state = get_state_specification(image_size)
  record_spec = specs.TensorSpecStruct()
  for key, spec in state.items():
    record_spec[f'features/state/{key}'] = spec
  record_spec['features/action'] = get_action_specification(action_size)
  for key, spec in specs.next_state_specification(state).items():
    record_spec[f'features/next_state/{key}'] = spec
  for key, spec in specs.transition_label_specification().items():
    record_spec[f'labels/{key}'] = spec
  return record_spec


@gin.configurable
def get_record_feature_specification(
    image_size: scene_lib.ImageSize = 64,
    action_size: int = 4) -> specs.TensorSpecStruct:
  """The features of `get_qtopt_specs`, for a writer's `feature_spec`.

  Example (gin):
    TFRecordReplayWriter.feature_spec = @get_record_feature_specification()
    TFRecordReplayWriter.label_spec = @get_record_label_specification()
    get_record_feature_specification.action_size = 3
  """
  return get_qtopt_specs(image_size, action_size).features


@gin.configurable
def get_record_label_specification() -> specs.TensorSpecStruct:
  """The labels of `get_qtopt_specs` ('reward', 'done'), for a writer."""
  return specs.transition_label_specification()


def specs_for_env(env: Any) -> specs.TensorSpecStruct:
  """`get_qtopt_specs` for a grasping env's image and action sizes.

  Example:
    >>> specs_for_env(KukaGraspPointEnv(image_size=(512, 640))).features[
    ...     'state/image'].shape
    TensorShape([512, 640, 3])
  """
  image_space = env.observation_space['image']
  return get_qtopt_specs(tuple(image_space.shape[:2]),
                         int(env.action_space.shape[0]))


def _state_values(obs: Any, index: int, field: str) -> dict:
  if not isinstance(obs, dict) or any(key not in obs for key in STATE_KEYS):
    keys = sorted(obs) if isinstance(obs, dict) else type(obs).__name__
    raise ValueError(
        f'Step {index} of the episode has a {field} without the keys '
        f'{STATE_KEYS} (got {keys}); record the observations of a '
        'KukaGraspEnv.')
  return {
      'image': np.asarray(obs['image'], np.uint8),
      'gripper_pose': np.asarray(obs['gripper_pose'], np.float32),
      'time_to_go': np.asarray(obs['time_to_go'], np.float32).reshape(1),
  }


@gin.configurable
def episode_to_transitions(
    episode: Sequence[Sequence[Any]]) -> List[Transition]:
  """Converts one episode into (features, labels) pairs, one per step.

  Example:
    >>> stats = t2r.collect.run_env(
    ...     env, policy, episode_to_transitions_fn=episode_to_transitions,
    ...     replay_writer=TFRecordReplayWriter(
    ...         feature_spec=get_qtopt_specs().features,
    ...         label_spec=get_qtopt_specs().labels),
    ...     root_dir='/tmp/qtopt', num_episodes=10, seed=0)

  Args:
    episode: (obs, action, reward, new_obs, done, info) steps as
      `t2r.collect.run_env` records them; obs and new_obs are the envs'
      observation dicts.

  Returns:
    A list of (features, labels) `TensorSpecStruct` pairs laid out as
    `get_qtopt_specs()` (features 'state/...', 'action', 'next_state/...';
    labels 'reward' and 'done', float32 scalars).

  Raises:
    ValueError: If a step is not a 6-tuple or an observation lacks a state
      key.
  """
  transitions = []
  for index, step in enumerate(episode):
    if len(step) != len(_STEP_FIELDS):
      raise ValueError(
          f'Step {index} of the episode has {len(step)} fields; expected '
          f'{len(_STEP_FIELDS)}: {_STEP_FIELDS}.')
    obs, action, reward, new_obs, done, _ = step
    features = specs.TensorSpecStruct()
    for key, value in _state_values(obs, index, 'obs').items():
      features[f'state/{key}'] = value
    features['action'] = np.asarray(action, np.float32).reshape(-1)
    for key, value in _state_values(new_obs, index, 'new_obs').items():
      features[f'next_state/{key}'] = value
    labels = specs.TensorSpecStruct()
    labels['reward'] = np.asarray(reward, np.float32).reshape(())
    labels['done'] = np.asarray(float(bool(done)), np.float32)
    transitions.append((features, labels))
  return transitions
