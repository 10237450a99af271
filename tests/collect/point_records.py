"""The record layout of `PointReachEnv` transitions, for collector tests."""

import numpy as np
import tensorflow as tf

from t2r import specs


def feature_spec() -> specs.TensorSpecStruct:
  spec = specs.TensorSpecStruct()
  for prefix, name_prefix in (('state', ''), ('next_state', 'next_')):
    for key in ('position', 'goal'):
      spec[f'{prefix}/{key}'] = specs.ExtendedTensorSpec(
          (2,), tf.float32, name=f'{name_prefix}{key}')
  spec['action'] = specs.ExtendedTensorSpec((2,), tf.float32, name='action')
  return spec


def label_spec() -> specs.TensorSpecStruct:
  return specs.TensorSpecStruct(
      reward=specs.ExtendedTensorSpec((), tf.float32, name='reward'),
      done=specs.ExtendedTensorSpec((), tf.float32, name='done'))


def episode_to_transitions(episode):
  """One (features, labels) pair per step, next state and done included."""
  transitions = []
  for obs, action, reward, new_obs, done, _ in episode:
    features = specs.TensorSpecStruct()
    for prefix, values in (('state', obs), ('next_state', new_obs)):
      for key in ('position', 'goal'):
        features[f'{prefix}/{key}'] = np.asarray(values[key], np.float32)
    features['action'] = np.asarray(action, np.float32)
    labels = specs.TensorSpecStruct(
        reward=np.float32(reward), done=np.float32(done))
    transitions.append((features, labels))
  return transitions


def read_labels(paths):
  """{'reward': [...], 'done': [...]} of every record in `paths`."""
  values = {'reward': [], 'done': []}
  for record in tf.data.TFRecordDataset(paths):
    example = tf.train.Example.FromString(record.numpy())
    for key in values:
      values[key].append(example.features.feature[key].float_list.value[0])
  return values
