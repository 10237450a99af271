"""BC-Z's waypoint head: N future waypoints of xyz, axis-angle and gripper.

BC-Z (Jang et al. 2021; Tensor2Robot's `research/bcz` and
`layers/bcz_networks.MultiHeadMLP`) predicts, from the image tower's
features, the next N waypoints of the end effector relative to its current
pose: an xyz residual (3), an axis-angle residual (3) and the gripper
closure (1, a logit). Each component has its own MLP (BC-Z's config: two
hidden layers of 256, ReLU, 10 waypoints).

The loss (`waypoint_loss`) is T2R's `training_outputs` for BC-Z's action
components: the Huber loss (delta 1) for the two residuals and the log loss
(sigmoid cross-entropy of the logit) for the gripper, weighted 100 / 10 / 0.5
(xyz / axis-angle / gripper) and each averaged over batch, waypoints and
dimensions (T2R's `SUM_BY_NONZERO_WEIGHTS` reduction with a scalar weight).
"""

from typing import Dict, Mapping, Optional, Sequence, Tuple

import gin
import tensorflow as tf
import tf_keras

XYZ = 'xyz_residual'
AXIS_ANGLE = 'axis_angle_residual'
GRIPPER = 'gripper'
GRIPPER_LOGIT = 'gripper_logit'
# The predicted components and their sizes, in the order of an action.
COMPONENTS = ((XYZ, 3), (AXIS_ANGLE, 3), (GRIPPER_LOGIT, 1))


def _mlp(hidden_sizes: Sequence[int], outputs: int, name: str
         ) -> tf_keras.Sequential:
  return tf_keras.Sequential(
      [tf_keras.layers.Dense(size, activation='relu', name=f'fc{i}')
       for i, size in enumerate(hidden_sizes)] +
      [tf_keras.layers.Dense(outputs, name='out')], name=name)


@gin.configurable
class WaypointHead(tf_keras.layers.Layer):
  """Predicts N future waypoints (xyz residual, axis-angle residual, gripper).

  Example:
    >>> head = WaypointHead(num_waypoints=10)
    >>> outputs = head(tf.ones((2, 512)))
    >>> outputs['xyz_residual'].shape, outputs['gripper_logit'].shape
    (TensorShape([2, 10, 3]), TensorShape([2, 10, 1]))
    >>> total, losses = waypoint_loss(labels, outputs)

  Args:
    num_waypoints: N, the number of future waypoints.
    hidden_sizes: Hidden layer sizes of each component's MLP (ReLU).
    stop_gradient_future_waypoints: T2R's `MultiHeadMLP` option: waypoints 2
      to N come from separate MLPs whose input is `stop_gradient(features)`
      in training, so that only the first waypoint trains the tower. BC-Z's
      config turns it off (the default here).
    **kwargs: Standard `tf_keras.layers.Layer` arguments.

  Call arguments:
    features: (batch, F) features, e.g. `FiLMResNet`'s.
    training: Whether this is a training call (only matters with
      `stop_gradient_future_waypoints`).

  Returns:
    A dict of (batch, N, 3) 'xyz_residual', (batch, N, 3)
    'axis_angle_residual', (batch, N, 1) 'gripper_logit' and (batch, N, 1)
    'gripper' (its sigmoid, the closure in [0, 1] a policy executes).

  Raises:
    ValueError: If `num_waypoints` is not a positive int or a hidden size is
      not positive; when called, if the features are not (batch, F).
  """

  def __init__(self,
               num_waypoints: int = 10,
               hidden_sizes: Sequence[int] = (256, 256),
               stop_gradient_future_waypoints: bool = False,
               **kwargs):
    super().__init__(**kwargs)
    if (isinstance(num_waypoints, bool) or not isinstance(num_waypoints, int)
        or num_waypoints < 1):
      raise ValueError('WaypointHead num_waypoints must be a positive int, '
                       f'got {num_waypoints!r}.')
    hidden_sizes = tuple(hidden_sizes)
    if any(isinstance(s, bool) or not isinstance(s, int) or s < 1
           for s in hidden_sizes):
      raise ValueError('WaypointHead hidden_sizes must be positive ints, got '
                       f'{hidden_sizes!r}.')
    self._num_waypoints = num_waypoints
    self._hidden_sizes = hidden_sizes
    self._stop_gradient = bool(stop_gradient_future_waypoints)
    split = self._stop_gradient and num_waypoints > 1
    first = 1 if split else num_waypoints
    self.heads = {name: _mlp(hidden_sizes, size * first, name)
                  for name, size in COMPONENTS}
    self.future_heads = (
        {name: _mlp(hidden_sizes, size * (num_waypoints - 1),
                    f'future_{name}') for name, size in COMPONENTS}
        if split else None)

  @property
  def num_waypoints(self) -> int:
    return self._num_waypoints

  def call(self, features: tf.Tensor, training=None) -> Dict[str, tf.Tensor]:
    features = tf.convert_to_tensor(features)
    if features.shape.rank != 2 or features.shape[-1] is None:
      raise ValueError(
          'WaypointHead expects (batch, F) features with a known F, got shape '
          f'{features.shape}. Pool or flatten image features first.')
    outputs = {}
    first = self._num_waypoints if self.future_heads is None else 1
    future_input = tf.stop_gradient(features) if training else features
    for name, size in COMPONENTS:
      net = tf.reshape(self.heads[name](features), [-1, first, size])
      if self.future_heads is not None:
        future = tf.reshape(self.future_heads[name](future_input),
                            [-1, self._num_waypoints - 1, size])
        net = tf.concat([net, future], axis=1)
      outputs[name] = net
    outputs[GRIPPER] = tf.sigmoid(outputs[GRIPPER_LOGIT])
    return outputs

  def get_config(self):
    return dict(super().get_config(), num_waypoints=self._num_waypoints,
                hidden_sizes=self._hidden_sizes,
                stop_gradient_future_waypoints=self._stop_gradient)


def huber(errors: tf.Tensor, delta: float = 1.0) -> tf.Tensor:
  """Element-wise Huber loss: 0.5 e^2 for |e| <= delta, else linear."""
  absolute = tf.abs(errors)
  quadratic = tf.minimum(absolute, delta)
  return 0.5 * tf.square(quadratic) + delta * (absolute - quadratic)


def _masked_mean(values: tf.Tensor, mask: Optional[tf.Tensor]) -> tf.Tensor:
  """Mean over all elements; with a (batch, N) mask, over the kept ones."""
  if mask is None:
    return tf.reduce_mean(values)
  mask = tf.cast(mask, values.dtype)[..., None]
  kept = tf.reduce_sum(mask) * tf.cast(tf.shape(values)[-1], values.dtype)
  return tf.math.divide_no_nan(tf.reduce_sum(values * mask), kept)


@gin.configurable
def waypoint_loss(labels: Mapping[str, tf.Tensor],
                  predictions: Mapping[str, tf.Tensor],
                  xyz_weight: float = 100.0,
                  axis_angle_weight: float = 10.0,
                  gripper_weight: float = 0.5,
                  huber_delta: float = 1.0,
                  mask: Optional[tf.Tensor] = None
                  ) -> Tuple[tf.Tensor, Dict[str, tf.Tensor]]:
  """BC-Z's weighted waypoint loss and its per-component parts.

  `weight * mean(huber(prediction - label))` for the xyz and axis-angle
  residuals, `gripper_weight * mean(sigmoid_cross_entropy(label, logit))`
  for the gripper; the total is their sum.

  Example:
    >>> outputs = WaypointHead(num_waypoints=4)(features)
    >>> total, losses = waypoint_loss(labels, outputs)
    >>> sorted(losses)
    ['axis_angle_loss', 'gripper_loss', 'xyz_loss']

  Args:
    labels: 'xyz_residual' (batch, N, 3), 'axis_angle_residual' (batch, N,
      3) and 'gripper' (batch, N, 1) or (batch, N): the closure, in {0, 1}
      or [0, 1] (a soft target). Other keys are ignored.
    predictions: `WaypointHead`'s outputs ('xyz_residual',
      'axis_angle_residual', 'gripper_logit').
    xyz_weight: Weight of the xyz residual loss.
    axis_angle_weight: Weight of the axis-angle residual loss.
    gripper_weight: Weight of the gripper log loss.
    huber_delta: Where the Huber loss turns from quadratic to linear.
    mask: Optional (batch, N) weights in {0, 1}: waypoints with 0 (past the
      end of an episode, say) do not count; the means are over the kept
      waypoints.

  Returns:
    `(total, losses)`: the scalar total loss and a dict of the weighted
    'xyz_loss', 'axis_angle_loss' and 'gripper_loss' (for summaries), which
    sum to the total.

  Raises:
    ValueError: If a label or prediction is missing, their shapes differ
      (the message names the component), a weight is negative or
      `huber_delta` is not positive.
    tf.errors.InvalidArgumentError: (when run) if a gripper label is outside
      [0, 1].
  """
  weights = {XYZ: xyz_weight, AXIS_ANGLE: axis_angle_weight,
             GRIPPER: gripper_weight}
  for name, weight in weights.items():
    if not weight >= 0:
      raise ValueError(f'waypoint_loss weight of {name!r} must be >= 0, got '
                       f'{weight!r}.')
  if not huber_delta > 0:
    raise ValueError(f'waypoint_loss huber_delta must be > 0, got '
                     f'{huber_delta!r}.')
  missing = ([f'labels[{k!r}]' for k in weights if k not in labels] +
             [f'predictions[{k!r}]' for k in (XYZ, AXIS_ANGLE, GRIPPER_LOGIT)
              if k not in predictions])
  if missing:
    raise ValueError(
        f'waypoint_loss is missing {", ".join(missing)}; labels have '
        f'{sorted(labels)}, predictions {sorted(predictions)}.')

  def pair(label_key, prediction_key):
    prediction = tf.convert_to_tensor(predictions[prediction_key])
    label = tf.cast(labels[label_key], prediction.dtype)
    if (label_key == GRIPPER and label.shape.rank is not None and
        prediction.shape.rank is not None and
        label.shape.rank == prediction.shape.rank - 1):
      label = label[..., None]  # (batch, N) gripper labels.
    if not label.shape.is_compatible_with(prediction.shape):
      raise ValueError(
          f'waypoint_loss: labels[{label_key!r}] has shape {label.shape} but '
          f'predictions[{prediction_key!r}] has shape {prediction.shape}; '
          'both must be (batch, num_waypoints, size).')
    return label, prediction

  if mask is not None:
    mask = tf.convert_to_tensor(mask)
    reference = tf.convert_to_tensor(predictions[XYZ]).shape[:-1]
    if not mask.shape.is_compatible_with(reference):
      raise ValueError(f'waypoint_loss mask must be (batch, num_waypoints) = '
                       f'{reference}, got {mask.shape}.')
  losses = {}
  for key, loss_name in ((XYZ, 'xyz_loss'), (AXIS_ANGLE, 'axis_angle_loss')):
    label, prediction = pair(key, key)
    losses[loss_name] = weights[key] * _masked_mean(
        huber(prediction - label, huber_delta), mask)
  label, logit = pair(GRIPPER, GRIPPER_LOGIT)
  checks = [
      tf.debugging.assert_greater_equal(
          label, tf.zeros((), label.dtype),
          message="waypoint_loss: labels['gripper'] must be in [0, 1]."),
      tf.debugging.assert_less_equal(
          label, tf.ones((), label.dtype),
          message="waypoint_loss: labels['gripper'] must be in [0, 1].")]
  with tf.control_dependencies(checks):
    log_loss = tf.nn.sigmoid_cross_entropy_with_logits(labels=label,
                                                       logits=logit)
  losses['gripper_loss'] = weights[GRIPPER] * _masked_mean(log_loss, mask)
  return tf.add_n(list(losses.values())), losses
