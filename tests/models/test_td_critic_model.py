"""TDCriticModel: Bellman targets, its target network, and Q* of a chain MDP.

The MDP: states 0..4 on a line (one-hot), a 1-D action in [-1, 1] moving
right if > 0, else left (state 0 stays); entering state 4 ends the episode
with reward 1. With gamma = 0.9, for s in 0..3,

  Q*(s, a > 0) = 0.9 ** (3 - s)
  Q*(s, a <= 0) = 0.9 * V*(max(s - 1, 0)),   V*(s) = 0.9 ** (3 - s).
"""

import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from t2r import data
from t2r import models
from t2r import specs
from t2r import train
from t2r.modes import ModeKeys
from t2r.policies import cem_export_generator

NUM_STATES = 5
GAMMA = 0.9
CEM_SIZES = dict(cem_num_samples=32, cem_iterations=2, cem_num_elites=4)


class ChainQNetwork(tf_keras.layers.Layer):
  """Q(one-hot position, action): an MLP on their concatenation."""

  def __init__(self, hidden_sizes=(32, 32), **kwargs):
    super().__init__(**kwargs)
    self.hidden = [tf_keras.layers.Dense(size, activation='relu')
                   for size in hidden_sizes]
    self.out = tf_keras.layers.Dense(1)

  def call(self, features, training=False):
    net = tf.concat([features.state.position, features.action], axis=-1)
    for layer in self.hidden:
      net = layer(net)
    return self.out(net)


class ChainCritic(models.TDCriticModel):
  """The chain's critic; create_q_network reads an attribute of __init__."""

  def __init__(self, hidden_sizes=(32, 32), **kwargs):
    super().__init__(**kwargs)
    self.hidden_sizes = tuple(hidden_sizes)

  def get_state_specification(self):
    return specs.TensorSpecStruct(
        position=specs.ExtendedTensorSpec((NUM_STATES,), tf.float32,
                                          name='position'))

  def get_action_specification(self):
    return specs.ExtendedTensorSpec((1,), tf.float32, name='action')

  def create_q_network(self):
    return ChainQNetwork(self.hidden_sizes)


def v_star(state):
  return GAMMA**(NUM_STATES - 2 - state)


def q_star(state, action):
  if action > 0:
    return v_star(state)
  return GAMMA * v_star(max(state - 1, 0))


def chain_transitions(per_state=128, seed=0):
  """(features, labels) numpy structs of uniformly random actions."""
  rng = np.random.default_rng(seed)
  states = np.repeat(np.arange(NUM_STATES - 1), per_state)
  actions = rng.uniform(-1, 1, size=states.shape).astype(np.float32)
  next_states = np.where(actions > 0, states + 1, np.maximum(states - 1, 0))
  done = (next_states == NUM_STATES - 1).astype(np.float32)
  one_hot = np.eye(NUM_STATES, dtype=np.float32)
  features = specs.TensorSpecStruct()
  features['state/position'] = one_hot[states]
  features['action'] = actions[:, None]
  features['next_state/position'] = one_hot[next_states]
  labels = specs.TensorSpecStruct(reward=done.copy(), done=done)
  return features, labels


def chain_dataset(batch_size=64, seed=0):
  return tf.data.Dataset.from_tensor_slices(chain_transitions()).shuffle(
      512, seed=seed).repeat().batch(batch_size)


def _critic(**kwargs):
  kwargs = dict(CEM_SIZES, **kwargs)
  kwargs.setdefault('cem_seed', 0)
  kwargs.setdefault('create_optimizer_fn',
                    lambda: models.create_adam_optimizer(5e-3))
  return ChainCritic(**kwargs)


def _values(variables):
  return [v.numpy().copy() for v in variables]


def _assert_all_equal(variables, values):
  assert len(variables) == len(values)
  for variable, value in zip(variables, values):
    np.testing.assert_array_equal(np.asarray(variable), value)


def _state_features(states, actions=None):
  features = specs.TensorSpecStruct()
  features['state/position'] = np.eye(NUM_STATES, dtype=np.float32)[states]
  if actions is not None:
    features['action'] = np.asarray(actions, np.float32).reshape(-1, 1)
  return features


# -- Bellman targets ---------------------------------------------------------


def test_bellman_target_of_a_done_transition_is_the_reward():
  targets = models.bellman_targets(
      reward=tf.constant([1.0, 0.5]), done=tf.constant([1.0, 1.0]),
      next_q=tf.constant([7.0, -3.0]), gamma=0.9)
  np.testing.assert_array_equal(targets.numpy(), [1.0, 0.5])


def test_bellman_target_bootstraps_with_gamma_and_no_gradient():
  next_q = tf.Variable([2.0, 4.0])
  with tf.GradientTape() as tape:
    targets = models.bellman_targets(
        tf.constant([1.0, 0.0]), tf.constant([0.0, 1.0]), next_q, 0.5)
  np.testing.assert_allclose(targets.numpy(), [2.0, 0.0])
  assert tape.gradient(targets, next_q) is None


def test_model_target_is_r_plus_gamma_max_q_of_the_target_network():
  tf_keras.utils.set_random_seed(5)
  critic = _critic(cem_num_samples=64, cem_iterations=3, cem_num_elites=8)
  critic.compile()
  critic.build_from_specs()
  features, labels = chain_transitions(per_state=2)
  features = critic._pack('feature', features, ModeKeys.TRAIN)
  labels = critic._pack('label', labels, ModeKeys.TRAIN)
  _, next_q = critic.target_max_q(features)
  # The CEM maximum is at least the target Q of any fixed action.
  for action in (-1.0, 0.0, 1.0):
    probe = specs.TensorSpecStruct()
    probe['state/position'] = features['next_state/position']
    probe['action'] = tf.fill([8, 1], action)
    fixed = tf.reshape(critic.target_q_network(probe), [-1])
    assert np.all(next_q.numpy() >= fixed.numpy() - 1e-2)
  expected = labels.reward + GAMMA * (1 - labels.done) * next_q
  np.testing.assert_allclose(
      critic.bellman_target(features, labels).numpy(), expected.numpy(),
      rtol=1e-6)


def test_gamma_zero_trains_on_the_reward_alone():
  critic = _critic(gamma=0.0)
  features, labels = chain_transitions(per_state=1)
  target = critic.bellman_target(
      critic._pack('feature', features, ModeKeys.TRAIN),
      critic._pack('label', labels, ModeKeys.TRAIN))
  np.testing.assert_array_equal(target.numpy(), labels.reward)


def test_sigmoid_cross_entropy_bootstraps_from_the_target_probability():
  critic = _critic(loss_type='sigmoid_cross_entropy')
  critic.compile()
  history = critic.fit(chain_dataset(), steps_per_epoch=2, epochs=1,
                       verbose=0).history
  assert np.isfinite(history['loss'][-1])
  features = specs.TensorSpecStruct()
  features['next_state/position'] = np.eye(NUM_STATES, dtype=np.float32)
  _, next_q = critic.target_max_q(features)
  assert np.all((next_q.numpy() > 0) & (next_q.numpy() < 1))
  results = critic.evaluate(chain_dataset(), steps=2, verbose=0,
                            return_dict=True)
  assert set(results) == {'loss', 'td_target'}


# -- Specs and arguments ------------------------------------------------------


def test_td_layout_adds_next_state_in_train_and_eval_only():
  critic = _critic()
  for mode in (ModeKeys.TRAIN, ModeKeys.EVAL):
    spec = specs.flatten_spec_structure(critic.get_feature_specification(mode))
    assert list(spec.keys()) == ['state/position', 'action',
                                 'next_state/position']
    assert spec['next_state/position'].name == 'next_position'
    assert spec['next_state/position'].shape == (NUM_STATES,)
  predict = critic.get_feature_specification(ModeKeys.PREDICT)
  assert list(specs.flatten_spec_structure(predict).keys()) == [
      'state/position', 'action']
  labels = critic.get_label_specification(ModeKeys.TRAIN)
  assert {path: (spec.shape, spec.dtype, spec.name)
          for path, spec in labels.items()} == {
              'reward': ((), tf.float32, 'reward'),
              'done': ((), tf.float32, 'done')}


@pytest.mark.parametrize('kwargs,message', [
    ({'gamma': -0.1}, r'gamma=-0.1; expected a discount in \[0, 1\]'),
    ({'gamma': 1.5}, r'gamma=1.5; expected a discount in \[0, 1\]'),
    ({'gamma': float('nan')}, r'gamma=nan; expected a discount'),
    ({'gamma': True}, r'gamma=True; expected a discount'),
    ({'target_update_tau': 0.0}, r'TDCriticModel got target update tau 0.0; '
     r'expected a float in \(0, 1\]'),
    ({'target_update_tau': 1.01}, r'tau 1.01; expected a float in \(0, 1\]'),
    ({'target_update_period': 0}, r'TDCriticModel got target update period '
     '0; expected an int >= 1'),
    ({'target_update_period': 1.5}, r'period 1.5; expected an int >= 1'),
    ({'cem_num_elites': 64}, 'must not exceed num_samples'),
    ({'action_low': [1.0], 'action_high': [-1.0]}, 'action_low < action_high'),
    ({'cem_seed': -1}, r'cem_seed=-1; expected None or an int'),
    ({'target_label_key': 'target_q'}, "takes no target_label_key "
     r"\(got 'target_q'\). For a Monte-Carlo or bandit target label use "
     'CriticModel'),
])
def test_bad_arguments_are_clear_value_errors(kwargs, message):
  with pytest.raises(ValueError, match=message):
    _critic(**kwargs)


def test_an_action_in_two_features_fails_when_built():

  class TwoActions(ChainCritic):

    def get_action_specification(self):
      return specs.TensorSpecStruct(
          move=specs.ExtendedTensorSpec((1,), tf.float32, name='move'),
          grip=specs.ExtendedTensorSpec((1,), tf.float32, name='grip'))

  with pytest.raises(ValueError, match=r"exactly one action feature .* gives "
                     r"\['action/move', 'action/grip'\]"):
    TwoActions().build_from_specs()


def test_create_q_network_must_build_a_new_network_each_call():
  network = ChainQNetwork()

  class Shared(ChainCritic):

    def create_q_network(self):
      return network

  with pytest.raises(ValueError, match='returned the same layer twice'):
    Shared().q_network  # pylint: disable=expression-not-assigned


def test_only_the_q_network_is_trained():
  critic = _critic()
  critic.build_from_specs()
  trainable = {id(v) for v in critic.trainable_variables}
  assert {id(v) for v in critic.q_network.weights} == trainable
  assert not trainable & {id(v) for v in critic.target_q_network.weights}
  assert len(critic.target_q_network.weights) == 6


# -- The target network inside fit -------------------------------------------


def _steps(critic, num_steps):
  """Runs single train steps; returns the Q-network's weights before each."""
  critic.compile()
  train_fn = critic.make_train_function()
  batches = iter(chain_dataset())
  online_before = []
  target_after = []
  for _ in range(num_steps):
    online_before.append(_values(critic.q_network.weights))
    train_fn(batches)
    target_after.append(_values(critic.target_q_network.weights))
  return online_before, target_after


def test_fit_copies_the_q_network_exactly_every_k_steps():
  period = 3
  critic = _critic(target_update_period=period, target_update_tau=1.0)
  online_before, target_after = _steps(critic, 7)
  for step, target in enumerate(target_after):
    # Before the step at global step n the target becomes the Q-network
    # when n is a multiple of K (n = 0 included), else stays as it was.
    _assert_all_equal(target, online_before[step - step % period])
  assert not np.array_equal(online_before[1][0], online_before[0][0])
  assert int(critic.global_step.numpy()) == 7


def test_fit_polyak_averages_by_tau_every_step():
  tau = 0.5
  critic = _critic(target_update_period=1, target_update_tau=tau)
  online_before, target_after = _steps(critic, 3)
  _assert_all_equal(target_after[0], online_before[0])
  for step in (1, 2):
    for target, previous, online in zip(target_after[step],
                                        target_after[step - 1],
                                        online_before[step]):
      np.testing.assert_allclose(target, (1 - tau) * previous + tau * online,
                                 rtol=1e-5, atol=1e-7)


def test_checkpoint_restores_the_target_network_into_a_fresh_model(tmp_path):
  tf_keras.utils.set_random_seed(1)
  critic = _critic(target_update_period=2, target_update_tau=1.0)
  _steps(critic, 3)
  checkpoint = tf.train.Checkpoint(model=critic, optimizer=critic.optimizer)
  path = checkpoint.save(str(tmp_path / 'ckpt'))
  trained_target = _values(critic.target_q_network.weights)

  tf_keras.utils.set_random_seed(2)
  fresh = _critic(target_update_period=2, target_update_tau=1.0)
  fresh.compile()
  fresh.build_from_specs()
  assert not np.array_equal(fresh.target_q_network.weights[0].numpy(),
                            trained_target[0])
  tf.train.Checkpoint(model=fresh, optimizer=fresh.optimizer).restore(
      path).assert_existing_objects_matched()
  _assert_all_equal(fresh.target_q_network.weights, trained_target)
  _assert_all_equal(fresh.q_network.weights,
                    _values(critic.q_network.weights))
  assert int(fresh.global_step.numpy()) == 3


def test_replay_records_train_and_resume_with_the_target_network(tmp_path):
  """The TD specs drive the writer and the parser; a job resumes its target."""
  critic = _critic(target_update_period=1000, target_update_tau=1.0)
  features, labels = chain_transitions(per_state=8)
  records = [({path: value[i] for path, value in features.items()},
              {path: value[i] for path, value in labels.items()})
             for i in range(32)]
  with data.TFRecordReplayWriter(
      critic.get_feature_specification(ModeKeys.TRAIN),
      critic.get_label_specification(ModeKeys.TRAIN)) as writer:
    writer.open(str(tmp_path / 'replay' / 'transitions.tfrecord'))
    writer.write(records)

  def run(model, max_train_steps):
    return train.train_eval_model(
        t2r_model=model,
        input_generator_train=data.DefaultRecordInputGenerator(
            file_patterns=str(tmp_path / 'replay' / '*.tfrecord'),
            batch_size=8, shuffle_buffer_size=32, seed=0),
        max_train_steps=max_train_steps, model_dir=str(tmp_path / 'model'),
        save_checkpoints_steps=2, log_every_n_steps=2, show_progress=False)

  tf_keras.utils.set_random_seed(3)
  assert run(critic, 4)['global_step'] == 4
  # K = 1000: the target is still the copy of the initial Q-network.
  assert not np.array_equal(critic.q_network.weights[0].numpy(),
                            critic.target_q_network.weights[0].numpy())

  tf_keras.utils.set_random_seed(4)
  resumed = _critic(target_update_period=1000, target_update_tau=1.0)
  assert run(resumed, 6)['global_step'] == 6
  _assert_all_equal(resumed.target_q_network.weights,
                    _values(critic.target_q_network.weights))


# -- Learning Q* ----------------------------------------------------------------


@pytest.mark.parametrize('period,tau', [(1, 0.1), (50, 1.0)],
                         ids=['polyak', 'hard_copy'])
def test_learns_q_star_of_a_chain_and_cem_finds_the_argmax(period, tau):
  tf_keras.utils.set_random_seed(0)
  critic = _critic(gamma=GAMMA, target_update_period=period,
                   target_update_tau=tau)
  critic.compile()
  critic.fit(chain_dataset(), steps_per_epoch=1000, epochs=1, verbose=0)

  states = np.repeat(np.arange(NUM_STATES - 1), 4)
  actions = np.tile([-1.0, -0.5, 0.5, 1.0], NUM_STATES - 1)
  q = critic(_state_features(states, actions))['q_predicted'].numpy()
  expected = [q_star(s, a) for s, a in zip(states, actions)]
  # Measured max error: 0.016 (polyak), 0.027 (hard copy); <= 0.06 over
  # seeds 0-3 of both schedules.
  np.testing.assert_allclose(q, expected, atol=0.1)

  # The exported policy's CEM (over the Q-network) moves right everywhere.
  generator = cem_export_generator.CEMExportGenerator(
      num_samples=64, export_tf_example_signature=False)
  generator.set_specification_from_model(critic)
  cem_fn = generator.create_cem_fn(critic)
  start = np.arange(NUM_STATES - 1)
  chosen = cem_fn({'state/position': tf.constant(_state_features(start)[
      'state/position']), 'cem_seed': tf.constant(start, tf.int64)})
  assert np.all(chosen['action'].numpy()[:, 0] > 0)
  np.testing.assert_allclose(chosen['q'].numpy(), [v_star(s) for s in start],
                             atol=0.1)

  # The Bellman targets' CEM (over the target network) agrees.
  features = specs.TensorSpecStruct()
  features['next_state/position'] = _state_features(start)['state/position']
  best_actions, next_q = critic.target_max_q(features)
  assert np.all(best_actions.numpy()[:, 0] > 0)
  np.testing.assert_allclose(next_q.numpy(), [v_star(s) for s in start],
                             atol=0.1)


# -- Under a two-replica MirroredStrategy --------------------------------------

_TWO_REPLICAS_SCRIPT = """
import sys
import numpy as np
import tensorflow as tf
tf.config.set_logical_device_configuration(
    tf.config.list_physical_devices('CPU')[0],
    [tf.config.LogicalDeviceConfiguration()] * 2)
sys.path.insert(0, sys.argv[1])
import test_td_critic_model as t

strategy = tf.distribute.MirroredStrategy(['/cpu:0', '/cpu:1'])
with strategy.scope():
  critic = t._critic(target_update_period=1000, target_update_tau=1.0)
  critic.compile()
  critic.build_from_specs()
initial = [v.numpy() for v in critic.q_network.weights]
dataset = t.chain_dataset(batch_size=16)
history = critic.fit(dataset, steps_per_epoch=3, epochs=1, verbose=0)
assert np.isfinite(history.history['loss'][-1])
for online, target, value in zip(critic.q_network.weights,
                                 critic.target_q_network.weights, initial):
  assert len(target.values) == 2
  for replica in target.values:  # Every replica's copy: the step-0 copy.
    np.testing.assert_array_equal(replica.numpy(), value)
assert not np.array_equal(critic.q_network.weights[0].numpy(), initial[0])
print('ok')
"""


def test_target_copy_under_a_two_replica_mirrored_strategy():
  result = subprocess.run(
      [sys.executable, '-c', _TWO_REPLICAS_SCRIPT,
       os.path.dirname(os.path.abspath(__file__))],
      capture_output=True, text=True, check=False,
      env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2'))
  assert result.returncode == 0, result.stderr[-3000:]
  assert result.stdout.strip().endswith('ok')
