"""FastWeights: tf-keras layers compute with substituted tensors."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from t2r.meta_learning import fast_weights


def _dense():
  dense = tf_keras.layers.Dense(1, kernel_initializer='ones')
  dense(tf.ones((1, 2)))
  return dense


def test_layer_computes_with_the_substituted_tensors():
  dense = _dense()
  fast = fast_weights.FastWeights(dense)
  kernel, bias = fast.read()
  with fast.substituted([3.0 * kernel, bias + 1.0]):
    output = dense(tf.ones((1, 2)))
  np.testing.assert_allclose(output.numpy(), [[7.0]])


def test_gradient_flows_through_the_substituted_tensors_to_the_variables():
  dense = _dense()
  fast = fast_weights.FastWeights(dense)
  with tf.GradientTape() as tape:
    kernel, bias = fast.read()
    with fast.substituted([2.0 * kernel, bias]):
      output = tf.reduce_sum(dense(tf.ones((1, 2))))
  gradient = tape.gradient(output, dense.kernel)
  np.testing.assert_allclose(gradient.numpy(), [[2.0], [2.0]])


def test_variables_are_back_after_the_block_even_on_error():
  dense = _dense()
  fast = fast_weights.FastWeights(dense)
  with pytest.raises(RuntimeError):
    with fast.substituted(fast.read()):
      raise RuntimeError('inside')
  assert dense.kernel is dense.trainable_weights[0]
  assert isinstance(dense.bias, tf.Variable)


def test_nested_layers_and_list_attributes_are_covered():

  class Stack(tf_keras.layers.Layer):

    def __init__(self):
      super().__init__()
      self.layers_list = [tf_keras.layers.Dense(2), tf_keras.layers.Dense(1)]
      self.scales = [self.add_weight(name='s0', shape=(), initializer='ones')]

    def call(self, x):
      return self.layers_list[1](self.layers_list[0](x)) * self.scales[0]

  stack = Stack()
  stack(tf.ones((1, 3)))
  fast = fast_weights.FastWeights(stack)
  zeros = [tf.zeros_like(w) for w in fast.read()]
  with fast.substituted(zeros):
    np.testing.assert_allclose(stack(tf.ones((1, 3))).numpy(), [[0.0]])


def test_weight_held_by_no_attribute_is_reported_by_name():

  class Hidden(tf_keras.layers.Layer):

    def build(self, input_shape):
      self.store = {'w': self.add_weight(name='hidden_w', shape=(1,))}

    def call(self, x):
      return x * self.store['w']

  layer = Hidden()
  layer(tf.ones((1, 1)))
  with pytest.raises(ValueError, match='hidden_w'):
    fast_weights.FastWeights(layer)


def test_rejects_tensors_of_the_wrong_shape():
  fast = fast_weights.FastWeights(_dense())
  with pytest.raises(ValueError, match='must have shape'):
    with fast.substituted([tf.zeros((3, 1)), tf.zeros((1,))]):
      pass
