"""T2RModel: one network for all modes, trained and evaluated by tf-keras."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from preprocessors import NoOpPreprocessor
from t2r import specs
from t2r.modes import ModeKeys


def test_fit_reduces_the_loss_of_a_learnable_problem(linear_model_cls,
                                                     linear_dataset,
                                                     fast_adam):
  model = linear_model_cls(create_optimizer_fn=fast_adam())
  model.compile()
  initial = model.evaluate(linear_dataset, verbose=0)
  history = model.fit(linear_dataset, epochs=5, verbose=0)
  final = model.evaluate(linear_dataset, verbose=0)
  assert final < initial / 2
  assert history.history['loss'][-1] < history.history['loss'][0]


def test_train_eval_and_predict_share_layers_and_weights(linear_model_cls,
                                                        linear_data,
                                                        linear_dataset,
                                                        fast_adam):
  model = linear_model_cls(create_optimizer_fn=fast_adam())
  model.compile()
  model.fit(linear_dataset, epochs=1, verbose=0)
  weights = [id(w) for w in model.weights]
  layers = [id(layer) for layer in model.layers]
  model.evaluate(linear_dataset, verbose=0)
  predicted = model.predict(linear_dataset, verbose=0)['action']
  features, labels = linear_data
  eval_outputs = model.inference_network_fn(
      specs.TensorSpecStruct(state=tf.constant(features.state)),
      specs.TensorSpecStruct(action=tf.constant(labels.action)),
      ModeKeys.EVAL)
  assert [id(w) for w in model.weights] == weights
  assert [id(layer) for layer in model.layers] == layers
  assert len(model.trainable_weights) == 2
  np.testing.assert_allclose(predicted, eval_outputs['action'], rtol=1e-5)


def test_predict_works_with_an_unknown_batch_size(linear_model_cls):
  model = linear_model_cls()
  signature = specs.make_input_signature(
      model.get_feature_specification(ModeKeys.PREDICT))
  serve = tf.function(model.__call__, input_signature=[signature])
  concrete = serve.get_concrete_function()
  assert concrete.structured_outputs['action'].shape.as_list() == [None, 2]
  for batch_size in (1, 3):
    features = specs.TensorSpecStruct(
        state=np.ones((batch_size, 8), np.float32))
    assert serve(features)['action'].shape == (batch_size, 2)


def test_fit_traces_with_an_unknown_batch_size(linear_model_cls, linear_data,
                                               fast_adam):
  # 200 examples in batches of 64 leave a last batch of 8: one trace serves
  # both sizes only if nothing depends on a static batch size.
  model = linear_model_cls(create_optimizer_fn=fast_adam())
  model.compile()
  dataset = tf.data.Dataset.from_tensor_slices(linear_data).batch(64)
  model.fit(dataset, epochs=1, verbose=0)
  assert model.global_step.numpy() == 4


def test_global_step_counts_training_steps(linear_model_cls, linear_dataset):
  model = linear_model_cls()
  model.compile()
  model.fit(linear_dataset, epochs=2, verbose=0)
  assert model.global_step is model.optimizer.iterations
  assert model.global_step.numpy() == 20


def test_global_step_before_compile_raises(linear_model_cls):
  with pytest.raises(ValueError, match='compile'):
    _ = linear_model_cls().global_step


def test_logs_hold_the_learning_rate(linear_model_cls, linear_dataset,
                                     fast_adam):
  model = linear_model_cls(create_optimizer_fn=fast_adam(learning_rate=0.01))
  model.compile()
  history = model.fit(linear_dataset, epochs=1, verbose=0)
  assert history.history['learning_rate'] == [pytest.approx(0.01)]


def test_extra_scalars_of_model_train_fn_are_logged(linear_model_cls,
                                                    linear_dataset):

  class WithExtras(linear_model_cls):

    def model_train_fn(self, features, labels, inference_outputs, mode,
                       config=None, params=None):
      loss = super().model_train_fn(features, labels, inference_outputs, mode)
      return loss, {'twice_loss': 2.0 * loss}

  model = WithExtras()
  model.compile()
  logs = model.fit(linear_dataset, epochs=1, verbose=0).history
  assert logs['twice_loss'][0] == pytest.approx(2 * logs['loss'][0],
                                                rel=1e-5)


def test_evaluate_averages_model_eval_fn_over_the_dataset(
    linear_model_cls, linear_data, linear_dataset):

  class MeanAbsoluteError(linear_model_cls):

    def model_eval_fn(self, features, labels, inference_outputs, mode,
                      config=None, params=None):
      return {
          'mae': tf.reduce_mean(tf.abs(inference_outputs['action'] -
                                       labels.action))
      }

  model = MeanAbsoluteError()
  model.compile()
  result = model.evaluate(linear_dataset, verbose=0, return_dict=True)
  features, labels = linear_data
  predicted = model(specs.TensorSpecStruct(state=features.state))['action']
  expected = np.mean(np.abs(predicted - labels.action))
  assert list(result) == ['mae']
  assert result['mae'] == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize('use_ema', [False, True])
@pytest.mark.parametrize('method', ['evaluate', 'predict'])
def test_evaluate_and_predict_work_before_a_sequential_is_built(
    linear_model_cls, linear_data, linear_dataset, fast_adam, use_ema,
    method):
  # A Sequential without an input shape has no weights until it is called;
  # the moving-average swap must not read them before the model is built.

  class WithSequential(linear_model_cls):

    def __init__(self, **kwargs):
      super().__init__(**kwargs)
      self.dense = tf_keras.Sequential(
          [tf_keras.layers.Dense(4), tf_keras.layers.Dense(2)])

  model = WithSequential(create_optimizer_fn=fast_adam(use_ema=use_ema))
  model.compile()
  result = getattr(model, method)(linear_dataset, verbose=0)
  features, labels = linear_data
  predicted = model(specs.TensorSpecStruct(state=features.state))['action']
  if method == 'evaluate':
    expected = np.mean(np.square(predicted - labels.action))
    assert result == pytest.approx(expected, rel=1e-5)
  else:
    np.testing.assert_allclose(result['action'], predicted, rtol=1e-5)
  assert len(model.trainable_weights) == 4


def test_regularization_losses_are_added_to_the_loss(linear_model_cls,
                                                     linear_dataset):

  class Regularized(linear_model_cls):

    def __init__(self, **kwargs):
      super().__init__(**kwargs)
      self.dense = tf_keras.layers.Dense(
          2, kernel_regularizer=tf_keras.regularizers.L2(100.0))

  model = Regularized()
  model.compile()
  logs = model.fit(linear_dataset, epochs=1, verbose=0).history
  assert logs['regularization_loss'][0] > 0
  assert logs['loss'][0] > logs['regularization_loss'][0]


def test_add_summaries_runs_in_train_and_eval(linear_model_cls,
                                              linear_dataset, tmp_path):

  class Summarized(linear_model_cls):

    def add_summaries(self, features, labels, inference_outputs, mode):
      tf.summary.histogram(f'{mode}/action', inference_outputs['action'])

  model = Summarized()
  model.compile()
  writer = tf.summary.create_file_writer(str(tmp_path))
  with writer.as_default(step=0):
    model.fit(linear_dataset, epochs=1, verbose=0)
    model.evaluate(linear_dataset, verbose=0)
  writer.flush()
  tags = set()
  for event_file in tf.io.gfile.glob(str(tmp_path / 'events.*')):
    for event in tf.compat.v1.train.summary_iterator(event_file):
      tags.update(value.tag for value in event.summary.value)
  assert tags == {'train/action', 'eval/action'}


def test_default_preprocessor_is_noop_with_the_model_specs(linear_model_cls):
  model = linear_model_cls()
  preprocessor = model.preprocessor
  assert isinstance(preprocessor, NoOpPreprocessor)
  assert preprocessor is model.preprocessor
  assert preprocessor.get_out_feature_specification(
      ModeKeys.TRAIN) == model.get_feature_specification(ModeKeys.TRAIN)


def test_preprocessor_cls_is_built_with_the_model_spec_functions(
    linear_model_cls):

  class Recording(NoOpPreprocessor):
    pass

  model = linear_model_cls(preprocessor_cls=Recording)
  assert type(model.preprocessor) is Recording
  assert model.preprocessor.get_in_label_specification(
      ModeKeys.EVAL) == model.get_label_specification(ModeKeys.EVAL)


def test_compile_without_optimizer_uses_create_optimizer_fn(linear_model_cls):
  optimizer = tf_keras.optimizers.SGD(0.5)
  model = linear_model_cls(create_optimizer_fn=lambda: optimizer)
  model.compile()
  assert model.optimizer is optimizer


@pytest.mark.parametrize('argument', ['loss', 'metrics'])
def test_compile_rejects_keras_losses_and_metrics(linear_model_cls, argument):
  with pytest.raises(ValueError, match=f'{argument}=.*model_train_fn'):
    linear_model_cls().compile(**{argument: 'mse'})


def test_create_optimizer_fn_must_return_a_tf_keras_optimizer(
    linear_model_cls):
  model = linear_model_cls(create_optimizer_fn=lambda: 'adam')
  with pytest.raises(TypeError, match='tf_keras'):
    model.compile()


def test_wrong_feature_shape_names_the_spec(linear_model_cls):
  model = linear_model_cls()
  features = specs.TensorSpecStruct(state=np.zeros((2, 5), np.float32))
  with pytest.raises(ValueError, match=r"'state' \(name 's'\).*\(None, 8\)"):
    model(features)


def test_missing_labels_in_training_name_the_spec(linear_model_cls,
                                                  linear_data):
  model = linear_model_cls()
  model.compile()
  features, _ = linear_data
  dataset = tf.data.Dataset.from_tensor_slices(
      (features, specs.TensorSpecStruct(other=features.state))).batch(20)
  with pytest.raises(ValueError, match="labels in mode 'train'.*'action'"):
    model.fit(dataset, epochs=1, verbose=0)


@pytest.mark.parametrize('returned, error, message', [
    (lambda x: x, TypeError, 'returned EagerTensor.*expected a dict'),
    (lambda x: {'action': 1.0}, TypeError, "'action' is a float"),
])
def test_inference_network_fn_must_return_a_dict_of_tensors(
    linear_model_cls, returned, error, message):

  class Wrong(linear_model_cls):

    def inference_network_fn(self, features, labels, mode, config=None,
                             params=None):
      return returned(self.dense(features.state))

  features = specs.TensorSpecStruct(state=np.zeros((2, 8), np.float32))
  with pytest.raises(error, match=message):
    Wrong()(features)


@pytest.mark.parametrize('loss_fn, error, message', [
    (lambda diff: tf.reduce_mean(diff, axis=1), ValueError,
     r'shape \(None,\); expected a scalar'),
    (lambda diff: {'loss': tf.reduce_mean(diff)}, TypeError,
     'returned dict for the loss'),
    (lambda diff: (tf.reduce_mean(diff), tf.reduce_mean(diff)), TypeError,
     'tuple of 2 elements'),
])
def test_model_train_fn_must_return_a_scalar_loss(linear_model_cls,
                                                  linear_dataset, loss_fn,
                                                  error, message):

  class WrongLoss(linear_model_cls):

    def model_train_fn(self, features, labels, inference_outputs, mode,
                       config=None, params=None):
      return loss_fn(tf.square(inference_outputs['action'] - labels.action))

  model = WrongLoss()
  model.compile()
  with pytest.raises(error, match=message):
    model.fit(linear_dataset, epochs=1, verbose=0)


def test_build_from_specs_creates_the_weights_without_data(linear_model_cls):
  model = linear_model_cls()
  model.build_from_specs()
  assert [w.shape.as_list() for w in model.weights] == [[8, 2], [2]]
