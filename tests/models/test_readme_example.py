"""The README's example model, exactly as shown there, trains and predicts."""


def test_readme_example_trains_and_predicts():
  # --- README example (copied verbatim into README.md) ---------------------
  import numpy as np
  import tensorflow as tf
  import tf_keras
  from t2r import models, specs

  class LinearModel(models.T2RModel):
    def __init__(self, **kwargs):
      super().__init__(**kwargs)
      self.dense = tf_keras.layers.Dense(2)  # Layers are created once.

    def get_feature_specification(self, mode):
      return specs.TensorSpecStruct(
          state=specs.ExtendedTensorSpec((8,), tf.float32, name='s'))

    def get_label_specification(self, mode):
      return specs.TensorSpecStruct(
          action=specs.ExtendedTensorSpec((2,), tf.float32, name='a'))

    def inference_network_fn(self, features, labels, mode, config=None,
                             params=None):
      return {'action': self.dense(features.state)}

    def model_train_fn(self, features, labels, inference_outputs, mode,
                       config=None, params=None):
      return tf.reduce_mean(
          tf.square(inference_outputs['action'] - labels.action))

  states = np.random.default_rng(0).random((256, 8), dtype=np.float32)
  actions = states[:, :2] - states[:, 2:4]
  dataset = tf.data.Dataset.from_tensor_slices(
      (specs.TensorSpecStruct(state=states),
       specs.TensorSpecStruct(action=actions))).batch(32)

  model = LinearModel(
      create_optimizer_fn=lambda: models.create_adam_optimizer(0.05))
  model.compile()
  history = model.fit(dataset, epochs=20, verbose=0)
  predictions = model(specs.TensorSpecStruct(state=states[:4]))['action']
  # --- end of README example -------------------------------------------------

  losses = history.history['loss']
  assert losses[-1] < losses[0] / 4
  assert predictions.shape == (4, 2)
  np.testing.assert_allclose(predictions, actions[:4], atol=0.3)
