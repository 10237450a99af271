"""MetaRecordInputGenerator: meta batches from per-task TFRecord files."""

import numpy as np
import pytest
import tensorflow as tf

from t2r.data import encoding
from t2r.meta_learning import maml_model
from t2r.meta_learning import meta_input_generator

from maml_test_models import MlpModel

K, N = 2, 3
NUM_TASKS, RECORDS_PER_TASK = 4, 6


def _write_task_files(directory, base_model, records=RECORDS_PER_TASK):
  """Task t, record r: x = t + r / 10, y = 10 * t (the task is in y)."""
  encoder = encoding.ExampleEncoder(base_model.get_feature_specification('train'),
                                    base_model.get_label_specification('train'))
  for task in range(NUM_TASKS):
    with tf.io.TFRecordWriter(str(directory / f'task_{task}.tfrecord')) as w:
      for record in range(records):
        w.write(encoder.encode(
            {'x': np.array([task + record / 10], np.float32)},
            {'y': np.array([10.0 * task], np.float32)}))
  return str(directory / 'task_*.tfrecord')


@pytest.fixture
def model():
  return maml_model.MAMLModel(MlpModel(4), num_condition_samples_per_task=K,
                              num_inference_samples_per_task=N)


def _first_batch(model, pattern, mode, **kwargs):
  generator = meta_input_generator.MetaRecordInputGenerator(
      file_patterns=pattern, batch_size=NUM_TASKS, **kwargs)
  generator.set_specification_from_model(model, mode)
  return next(iter(generator.create_dataset(mode)))


def test_meta_batch_matches_the_model_specs(model, tmp_path):
  features, labels = _first_batch(model, _write_task_files(tmp_path, model.base_model),
                                  'train', seed=0)
  for spec_fn, values in ((model.get_feature_specification, features),
                          (model.get_label_specification, labels)):
    expected = spec_fn('train')
    assert sorted(values.keys()) == sorted(expected.keys())
    for path, spec in expected.items():
      assert values[path].shape.as_list() == [NUM_TASKS] + spec.shape.as_list()


def test_every_task_sample_comes_from_one_task_file(model, tmp_path):
  features, labels = _first_batch(model, _write_task_files(tmp_path, model.base_model),
                                  'train', seed=0)
  task_of_x = np.floor(np.concatenate(
      [features['condition/features/x'], features['inference/features/x']],
      axis=1)[..., 0])
  task_of_y = np.concatenate(
      [features['condition/labels/y'], labels['meta_labels/y']],
      axis=1)[..., 0] / 10
  np.testing.assert_array_equal(task_of_x, task_of_y)
  assert np.all(task_of_x == task_of_x[:, :1])  # One task per row.
  # K + N distinct records per task.
  all_x = np.concatenate([features['condition/features/x'],
                          features['inference/features/x']], axis=1)[..., 0]
  assert all(len(set(row)) == K + N for row in all_x.tolist())


def test_eval_reads_the_first_records_of_each_file_in_order(model, tmp_path):
  features, labels = _first_batch(model, _write_task_files(tmp_path, model.base_model),
                                  'eval', num_epochs=1)
  np.testing.assert_allclose(features['condition/features/x'][:, :, 0],
                             [[t, t + 0.1] for t in range(NUM_TASKS)])
  np.testing.assert_allclose(
      labels['meta_labels/y'][:, :, 0],
      [[10.0 * t] * N for t in range(NUM_TASKS)])


def test_meta_model_trains_on_the_generator(model, tmp_path):
  generator = meta_input_generator.MetaRecordInputGenerator(
      file_patterns=_write_task_files(tmp_path, model.base_model), batch_size=2, seed=1)
  generator.set_specification_from_model(model, 'train')
  model.compile()
  history = model.fit(generator.create_dataset('train'), steps_per_epoch=2,
                      epochs=1, verbose=0)
  assert np.isfinite(history.history['loss'][0])


def test_task_files_with_too_few_records_are_reported(model, tmp_path):
  pattern = _write_task_files(tmp_path, model.base_model, records=K + N - 1)
  generator = meta_input_generator.MetaRecordInputGenerator(
      file_patterns=pattern, batch_size=2)
  generator.set_specification_from_model(model, 'train')
  with pytest.raises(ValueError, match='K \\+ N = 2 \\+ 3 = 5'):
    generator.create_dataset('train')


def test_rejects_a_base_model():
  generator = meta_input_generator.MetaRecordInputGenerator(
      file_patterns='/nonexistent/*.tfrecord')
  with pytest.raises(TypeError, match='meta model'):
    generator.set_specification_from_model(MlpModel(4), 'train')
