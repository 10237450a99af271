"""A tiny regression model, its real SavedModel exports, export helpers."""

import os
import shutil

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from t2r import models
from t2r import specs
from t2r.export import default_export_generator
from t2r.predictors import export_dirs


class TinyRegression(models.RegressionModel):
  """action = Dense(pose, flattened image); exported in tests."""

  def __init__(self, **kwargs):
    super().__init__(**kwargs)
    self.dense = tf_keras.layers.Dense(2)

  def get_feature_specification(self, mode):
    spec = specs.TensorSpecStruct()
    spec['state/pose'] = specs.ExtendedTensorSpec((3,), tf.float32,
                                                  name='robot/pose')
    spec['state/image'] = specs.ExtendedTensorSpec((4, 4, 1), tf.uint8,
                                                   name='image')
    spec['state/note'] = specs.ExtendedTensorSpec((2,), tf.float32,
                                                  name='note', is_optional=True)
    return spec

  def get_label_specification(self, mode):
    return specs.TensorSpecStruct(
        action=specs.ExtendedTensorSpec((2,), tf.float32, name='action'))

  def a_func(self, features, mode, config=None, params=None):
    image = tf.reshape(tf.cast(features.state.image, tf.float32), [-1, 16])
    return {
        'inference_output':
            self.dense(tf.concat([features.state.pose, image / 255.0], -1))
    }


def make_model(seed):
  """A built TinyRegression whose weights depend on `seed`."""
  tf_keras.utils.set_random_seed(seed)
  model = TinyRegression()
  model.build_from_specs()
  return model


def random_features(batch_size=2, seed=0):
  spec = specs.filter_required_flat_tensor_spec(
      TinyRegression().get_feature_specification('infer'))
  return specs.make_random_numpy(spec, batch_size=batch_size, seed=seed)


def export(model, export_root, global_step):
  return default_export_generator.DefaultExportGenerator().export(
      model, str(export_root), global_step=global_step)


@pytest.fixture(scope='module')
def two_exports(tmp_path_factory):
  """(export_root, [(model, path)]): versions 1 and 2 with other weights."""
  root = tmp_path_factory.mktemp('model') / 'export'
  exported = []
  for step, seed in ((1, 1), (2, 2)):
    model = make_model(seed)
    exported.append((model, export(model, root, step)))
  return root, exported


def model_outputs(model, features):
  return {k: np.asarray(v) for k, v in model(features).items()}


def copy_version(src_path, root, version, name=None, damage=None):
  """Copies an export into `root` like a writer: temp name, then rename.

  Args:
    src_path: The export to copy.
    root: The export root to copy it into.
    version: The version directory name.
    name: 'temp' to leave it under its temporary name.
    damage: If set, `damage_saved_model` the copy before the rename.
  """
  os.makedirs(root, exist_ok=True)
  temp = os.path.join(root, export_dirs.temp_dir_name(version))
  shutil.copytree(src_path, temp)
  if damage:
    damage_saved_model(temp, damage)
  if name == 'temp':
    return temp
  final = os.path.join(root, str(version))
  os.rename(temp, final)
  return final


def damage_saved_model(export_path, damage):
  """Damages the saved_model.pb of a copied export in place.

  Args:
    export_path: An export directory (a copy: it is modified).
    damage: 'garbage' (random bytes), 'truncated' (the first half) or
      'empty' (0 bytes).
  """
  path = os.path.join(export_path, 'saved_model.pb')
  with open(path, 'rb') as f:
    content = f.read()
  damaged = {
      'garbage': np.random.default_rng(0).bytes(len(content)),
      'truncated': content[:len(content) // 2],
      'empty': b'',
  }[damage]
  with open(path, 'wb') as f:
    f.write(damaged)
