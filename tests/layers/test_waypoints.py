"""BC-Z's waypoint head and its weighted Huber / log loss."""

import gin
import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from t2r import layers


def _hand_case():
  """One example, two waypoints, with errors on both sides of delta = 1."""
  predictions = {
      'xyz_residual': tf.constant([[[0.5, -2.0, 0.0], [0.1, 0.0, 3.0]]]),
      'axis_angle_residual': tf.ones((1, 2, 3)),
      'gripper_logit': tf.constant([[[0.0], [2.0]]]),
  }
  labels = {
      'xyz_residual': tf.zeros((1, 2, 3)),
      'axis_angle_residual': tf.zeros((1, 2, 3)),
      'gripper': tf.constant([[[1.0], [0.0]]]),
  }
  # Huber: 0.5 e^2 for |e| <= 1, |e| - 0.5 beyond.
  xyz = (0.125 + 1.5 + 0.0 + 0.005 + 0.0 + 2.5) / 6
  axis_angle = 0.5
  # Log loss of sigmoid(logit): -log(sigmoid(0)), -log(1 - sigmoid(2)).
  gripper = (np.log(2.0) + np.log(1.0 + np.exp(2.0))) / 2
  return labels, predictions, xyz, axis_angle, gripper


def test_head_predicts_n_waypoints_of_each_component():
  head = layers.WaypointHead(num_waypoints=4, hidden_sizes=(16,))
  outputs = head(tf.random.stateless_normal((2, 8), seed=(0, 1)))
  assert outputs['xyz_residual'].shape == (2, 4, 3)
  assert outputs['axis_angle_residual'].shape == (2, 4, 3)
  assert outputs['gripper_logit'].shape == (2, 4, 1)
  np.testing.assert_allclose(outputs['gripper'],
                             tf.sigmoid(outputs['gripper_logit']))
  assert head.num_waypoints == 4


def test_bcz_defaults():
  head = layers.WaypointHead()
  outputs = head(tf.zeros((1, 512)))
  assert outputs['xyz_residual'].shape == (1, 10, 3)
  kernels = [v.shape for v in head.trainable_weights if 'kernel' in v.name]
  assert kernels.count((512, 256)) == 3  # One MLP per component.


def test_loss_matches_a_hand_computation_with_bcz_weights():
  labels, predictions, xyz, axis_angle, gripper = _hand_case()
  total, losses = layers.waypoint_loss(labels, predictions)
  np.testing.assert_allclose(losses['xyz_loss'], 100 * xyz, rtol=1e-6)
  np.testing.assert_allclose(losses['axis_angle_loss'], 10 * axis_angle,
                             rtol=1e-6)
  np.testing.assert_allclose(losses['gripper_loss'], 0.5 * gripper,
                             rtol=1e-6)
  np.testing.assert_allclose(
      total, 100 * xyz + 10 * axis_angle + 0.5 * gripper, rtol=1e-6)
  np.testing.assert_allclose(total, 74.538352, rtol=1e-6)


def test_weights_and_delta_are_arguments_and_gin_bindable():
  labels, predictions, xyz, axis_angle, gripper = _hand_case()
  total, losses = layers.waypoint_loss(labels, predictions, xyz_weight=1.0,
                                       axis_angle_weight=0.0,
                                       gripper_weight=2.0)
  np.testing.assert_allclose(total, xyz + 2 * gripper, rtol=1e-6)
  assert float(losses['axis_angle_loss']) == 0.0
  # With delta 4 every xyz error is in the quadratic zone.
  _, losses = layers.waypoint_loss(labels, predictions, huber_delta=4.0)
  np.testing.assert_allclose(
      losses['xyz_loss'], 100 * 0.5 * (0.25 + 4 + 0.01 + 9) / 6, rtol=1e-6)
  gin.clear_config()
  try:
    gin.bind_parameter('waypoint_loss.xyz_weight', 1.0)
    _, losses = layers.waypoint_loss(labels, predictions)
  finally:
    gin.clear_config()
  np.testing.assert_allclose(losses['xyz_loss'], xyz, rtol=1e-6)


def test_soft_and_unit_axis_gripper_labels():
  labels, predictions, _, _, _ = _hand_case()
  labels['gripper'] = tf.constant([[0.25, 0.75]])  # (batch, N) and soft.
  _, losses = layers.waypoint_loss(labels, predictions)
  p = 1 / (1 + np.exp(-np.array([0.0, 2.0])))
  y = np.array([0.25, 0.75])
  expected = -(y * np.log(p) + (1 - y) * np.log(1 - p)).mean()
  np.testing.assert_allclose(losses['gripper_loss'], 0.5 * expected,
                             rtol=1e-6)


def test_gripper_labels_outside_zero_one_fail():
  labels, predictions, _, _, _ = _hand_case()
  labels['gripper'] = tf.constant([[[1.5], [0.0]]])
  with pytest.raises(tf.errors.InvalidArgumentError, match=r'in \[0, 1\]'):
    layers.waypoint_loss(labels, predictions)


def test_mask_drops_waypoints():
  labels, predictions, _, _, _ = _hand_case()
  total, losses = layers.waypoint_loss(labels, predictions,
                                       mask=tf.constant([[1.0, 0.0]]))
  np.testing.assert_allclose(losses['xyz_loss'], 100 * (0.125 + 1.5) / 3,
                             rtol=1e-6)
  np.testing.assert_allclose(losses['gripper_loss'], 0.5 * np.log(2.0),
                             rtol=1e-6)
  np.testing.assert_allclose(total, sum(losses.values()), rtol=1e-6)
  total, _ = layers.waypoint_loss(labels, predictions,
                                  mask=tf.zeros((1, 2)))
  assert float(total) == 0.0


def test_future_waypoints_can_stop_the_gradient_to_the_features():
  head = layers.WaypointHead(num_waypoints=3, hidden_sizes=(8,),
                             stop_gradient_future_waypoints=True)
  features = tf.random.stateless_normal((2, 4), seed=(2, 3))
  gradients = {}
  for training in (True, False):
    with tf.GradientTape(persistent=True) as tape:
      tape.watch(features)
      xyz = head(features, training=training)['xyz_residual']
      first, future = tf.reduce_sum(xyz[:, 0]), tf.reduce_sum(xyz[:, 1:])
    gradients[training] = (tape.gradient(first, features),
                           tape.gradient(future, features))
  assert np.abs(gradients[True][0].numpy()).max() > 0
  np.testing.assert_array_equal(gradients[True][1], 0.0)  # Stopped.
  assert np.abs(gradients[False][1].numpy()).max() > 0


def test_head_and_loss_train_a_few_steps():
  tf_keras.utils.set_random_seed(0)
  head = layers.WaypointHead(num_waypoints=2, hidden_sizes=(16,))
  features = tf.random.stateless_normal((8, 4), seed=(4, 5))
  labels = {
      'xyz_residual': tf.random.stateless_normal((8, 2, 3), seed=(6, 7)),
      'axis_angle_residual': tf.zeros((8, 2, 3)),
      'gripper': tf.cast(tf.random.stateless_uniform((8, 2, 1), seed=(8, 9))
                         > 0.5, tf.float32),
  }
  optimizer = tf_keras.optimizers.Adam(0.01)
  losses = []
  for _ in range(8):
    with tf.GradientTape() as tape:
      loss, _ = layers.waypoint_loss(labels, head(features, training=True))
    gradients = tape.gradient(loss, head.trainable_variables)
    optimizer.apply_gradients(zip(gradients, head.trainable_variables))
    losses.append(float(loss))
  assert losses[-1] < 0.7 * losses[0], losses


def test_mismatched_or_missing_inputs_are_named():
  labels, predictions, _, _, _ = _hand_case()
  bad = dict(labels, axis_angle_residual=tf.zeros((1, 3, 3)))
  with pytest.raises(ValueError, match=r"labels\['axis_angle_residual'\] has "
                     r'shape \(1, 3, 3\) but .* \(1, 2, 3\)'):
    layers.waypoint_loss(bad, predictions)
  with pytest.raises(ValueError, match=r"missing labels\['gripper'\]"):
    layers.waypoint_loss({k: v for k, v in labels.items() if k != 'gripper'},
                         predictions)
  with pytest.raises(ValueError, match=r'mask must be \(batch, '
                     r'num_waypoints\)'):
    layers.waypoint_loss(labels, predictions, mask=tf.ones((1, 3)))
  with pytest.raises(ValueError, match="weight of 'gripper' must be >= 0"):
    layers.waypoint_loss(labels, predictions, gripper_weight=-1.0)
  with pytest.raises(ValueError, match='huber_delta must be > 0'):
    layers.waypoint_loss(labels, predictions, huber_delta=0.0)


@pytest.mark.parametrize('kwargs, message', [
    (dict(num_waypoints=0), 'num_waypoints must be a positive int, got 0'),
    (dict(hidden_sizes=(16, -2)), r'hidden_sizes must be positive ints, got '
     r'\(16, -2\)'),
])
def test_head_rejects_bad_arguments(kwargs, message):
  with pytest.raises(ValueError, match=message):
    layers.WaypointHead(**kwargs)


def test_head_needs_flat_features():
  with pytest.raises(ValueError, match=r'\(batch, F\) features'):
    layers.WaypointHead()(tf.zeros((1, 4, 4, 8)))


def test_config_round_trip():
  head = layers.WaypointHead(num_waypoints=3, hidden_sizes=(8, 8),
                             stop_gradient_future_waypoints=True)
  assert layers.WaypointHead.from_config(
      head.get_config()).get_config() == head.get_config()
