"""The private tf-keras / TensorFlow attributes of t2r.compat still work.

Each test checks that an attribute exists and behaves as `t2r.compat` relies
on, on the installed tf-keras and TensorFlow. A failure names the attribute
and the installed version: update the function in t2r/compat.py.
"""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from t2r import compat


def _changed(attribute: str, function: str, what: str) -> str:
  return (f'{attribute} {what} in tf-keras {tf_keras.__version__} / '
          f'TensorFlow {tf.__version__}; t2r.compat.{function} was written '
          f'for tf-keras {compat.WRITTEN_FOR_TF_KERAS} / TensorFlow '
          f'{compat.WRITTEN_FOR_TENSORFLOW}. Update t2r/compat.py.')


def _require(obj, attribute: str, function: str):
  assert hasattr(obj, attribute), _changed(
      f'{type(obj).__name__}.{attribute}', function, 'is gone')


def _tiny_model():
  model = tf_keras.Sequential([tf_keras.layers.Dense(1)])
  model.compile(optimizer='sgd', loss='mse')
  return model


def _batches(num_batches):
  x = np.ones((2 * num_batches, 3), np.float32)
  return tf.data.Dataset.from_tensor_slices((x, x[:, :1])).batch(2)


class _Recorder(tf_keras.callbacks.Callback):
  """Records `record(logs)` at every train and test batch."""

  def __init__(self, record):
    super().__init__()
    self._record = record
    self.values = []

  def on_train_batch_end(self, batch, logs=None):
    self.values.append(self._record(logs))

  def on_test_batch_begin(self, batch, logs=None):
    self.values.append(self._record(logs))


# Model._test_counter (t2r.train.evaluation).


def test_evaluate_batch_counter_exists():
  _require(_tiny_model(), '_test_counter', 'evaluate_batch_counter')


def test_evaluate_batch_counter_is_the_index_of_the_running_batch():
  model = _tiny_model()
  counter = compat.evaluate_batch_counter(model)
  recorder = _Recorder(lambda logs: int(counter.numpy()))
  model.evaluate(_batches(3), verbose=0, callbacks=[recorder])
  model.evaluate(_batches(2), verbose=0, callbacks=[recorder])
  assert recorder.values == [0, 1, 2, 0, 1], _changed(
      'Model._test_counter', 'evaluate_batch_counter',
      'no longer starts at 0 per evaluate and counts its batches')


# Callback._supports_tf_logs (t2r.train.callbacks).


def _batch_log_types(take_tensor_logs: bool):
  recorder = _Recorder(lambda logs: type(logs['loss']))
  if take_tensor_logs:
    compat.let_callback_take_tensor_logs(recorder)
  _tiny_model().fit(_batches(2), verbose=0, callbacks=[recorder])
  return recorder.values


def test_callbacks_that_take_tensor_logs_get_tensors():
  assert all(issubclass(t, tf.Tensor) for t in _batch_log_types(True)), (
      _changed('Callback._supports_tf_logs', 'let_callback_take_tensor_logs',
               'no longer makes fit hand batch logs over as tensors'))


def test_other_callbacks_get_numbers():
  # Otherwise the attribute would not be what saves the sync per batch.
  assert not any(issubclass(t, tf.Tensor) for t in _batch_log_types(False)), (
      _changed('Callback._supports_tf_logs', 'let_callback_take_tensor_logs',
               'is no longer what decides whether logs are synced'))


# StrategyExtended._use_merge_call (t2r.models.t2r_model).


@pytest.mark.parametrize('strategy_fn', [
    tf.distribute.get_strategy,
    lambda: tf.distribute.MirroredStrategy(['/cpu:0']),
])
def test_strategy_use_merge_call_exists(strategy_fn):
  _require(strategy_fn().extended, '_use_merge_call',
           'strategy_uses_merge_call')


def test_mirrored_replicas_on_cpu_merge_call():
  strategy = tf.distribute.MirroredStrategy(['/cpu:0'])

  def replica_fn():
    assert compat.strategy_uses_merge_call(), _changed(
        'MirroredExtended._use_merge_call()', 'strategy_uses_merge_call',
        'is False on CPU outside XLA')
    context = tf.distribute.get_replica_context()
    return context.merge_call(lambda _: tf.constant(7))

  result = strategy.run(tf.function(replica_fn))
  assert int(strategy.experimental_local_results(result)[0]) == 7


# Optimizer EMA internals (t2r.models.optimizers).


def _sgd(use_ema):
  return tf_keras.optimizers.SGD(learning_rate=1.0, use_ema=use_ema,
                                 ema_momentum=0.5)


@pytest.mark.parametrize('attribute', [
    '_model_variables_moving_average', '_index_dict', '_var_key'])
def test_optimizer_ema_attributes_exist(attribute):
  optimizer = _sgd(use_ema=True)
  optimizer.build([tf.Variable([1.0])])
  _require(optimizer, attribute, 'moving_average_variables')


def test_moving_averages_follow_the_order_of_the_variables():
  first, second = tf.Variable([1.0]), tf.Variable([10.0])
  optimizer = _sgd(use_ema=True)
  optimizer.apply_gradients([(tf.constant([1.0]), first),
                             (tf.constant([2.0]), second)])
  averages = compat.moving_average_variables(optimizer, [second, first])
  # average = 0.5 * initial value + 0.5 * value after one SGD step.
  values = [float(a.numpy()[0]) for a in averages]
  assert values == [9.0, 0.5], _changed(
      'Optimizer._index_dict[_var_key(v)]', 'moving_average_variables',
      'no longer indexes _model_variables_moving_average by variable')


@pytest.mark.parametrize('use_ema, built', [
    (True, False), (False, True)])
def test_no_moving_averages_without_ema_or_before_build(use_ema, built):
  variable = tf.Variable([1.0])
  optimizer = _sgd(use_ema=use_ema)
  if built:
    optimizer.build([variable])
  assert compat.moving_average_variables(optimizer, [variable]) is None


# Trackable._trackable_children (t2r.models.t2r_model).


class _TwoLayers(tf_keras.Model):

  def __init__(self):
    super().__init__()
    self.hidden = tf_keras.layers.Dense(2)
    self.out = tf_keras.layers.Dense(1)

  def call(self, inputs):
    return self.out(self.hidden(inputs))


def _built_model(seed):
  tf_keras.utils.set_random_seed(seed)
  model = _TwoLayers()
  model(tf.ones((1, 3)))
  return model


def test_trackable_children_exists():
  _require(_built_model(0), '_trackable_children', 'trackable_children')


def test_trackable_children_are_the_layers_by_attribute_name():
  model = _built_model(0)
  children = compat.trackable_children(model)
  assert children['hidden'] is model.hidden
  assert children['out'] is model.out


def test_a_checkpoint_of_the_children_reads_a_checkpoint_of_the_model(
    tmp_path):
  source, target = _built_model(1), _built_model(2)
  path = tf.train.Checkpoint(source).write(str(tmp_path / 'model'))
  status = tf.train.Checkpoint(**compat.trackable_children(target)).read(path)
  status.assert_existing_objects_matched()
  for expected, restored in zip(source.get_weights(), target.get_weights()):
    np.testing.assert_array_equal(
        restored, expected,
        err_msg=_changed('Trackable._trackable_children()',
                         'trackable_children',
                         'no longer names what tf.train.Checkpoint saves'))
