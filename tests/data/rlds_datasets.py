"""Small Open X-Embodiment-style RLDS datasets, written by TFDS itself.

Independent of `t2r.data.rlds_export`: the layout is what an OXE dataset
holds (observation dict with an image, per-step action / reward / flags /
language instruction, episode metadata), so the reader is tested against
TFDS's own writer. Values tell where they came from: in episode e at step t,
state = [e, t], action = [e, t, 10 e + t], the image is filled with
10 e + t, reward = t, the instruction is 'task <e>'.
"""

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

IMAGE_SHAPE = (4, 4, 3)
EPISODE_LENGTHS = (3, 4, 5)


def step_values(episode: int, step: int, length: int) -> dict:
  """The values of one step (nested like the dataset's steps)."""
  return {
      'observation': {
          'image': np.full(IMAGE_SHAPE, 10 * episode + step, np.uint8),
          'wrist_image': np.zeros(IMAGE_SHAPE, np.uint8),
          'state': np.array([episode, step], np.float32),
      },
      'action': np.array([episode, step, 10 * episode + step], np.float32),
      'reward': np.float32(step),
      'discount': np.float32(1.0),
      'is_first': step == 0,
      'is_last': step == length - 1,
      'is_terminal': step == length - 1,
      'language_instruction': f'task {episode}',
  }


def _features():
  return tfds.features.FeaturesDict({
      'steps': tfds.features.Dataset({
          'observation': tfds.features.FeaturesDict({
              'image': tfds.features.Image(shape=IMAGE_SHAPE),
              'wrist_image': tfds.features.Image(shape=IMAGE_SHAPE),
              'state': tfds.features.Tensor(shape=(2,), dtype=np.float32),
          }),
          'action': tfds.features.Tensor(shape=(3,), dtype=np.float32),
          'reward': tfds.features.Scalar(dtype=np.float32),
          'discount': tfds.features.Scalar(dtype=np.float32),
          'is_first': tf.bool,
          'is_last': tf.bool,
          'is_terminal': tf.bool,
          'language_instruction': tfds.features.Text(),
      }),
      'episode_metadata': tfds.features.FeaturesDict({
          'file_path': tfds.features.Text(),
      }),
  })


def write_rlds_dataset(data_dir, episode_lengths=EPISODE_LENGTHS,
                       name='toy_oxe') -> str:
  """Writes one 'train' split of episodes in order; returns the builder dir."""
  examples = [
      (index, {'steps': [step_values(index, t, length)
                         for t in range(length)],
               'episode_metadata': {'file_path': f'episode_{index}.npz'}})
      for index, length in enumerate(episode_lengths)]
  builder = tfds.dataset_builders.store_as_tfds_dataset(
      name=name, version='1.0.0', features=_features(),
      split_datasets={'train': examples}, data_dir=str(data_dir),
      disable_shuffling=True)
  return str(builder.data_dir)
