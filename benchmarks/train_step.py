"""Training throughput: `train_eval_model` vs a hand-written tf.function step.

Both train the same MLP with Adam on the same input pipeline (one
`DefaultConstantInputGenerator` dataset: a constant batch, so the step is
measured, not Python-side data generation), one batch and one tf.function
call per step. Ours runs the whole job: tf-keras `fit` with t2r's callbacks
(global-step tracking, progress/summaries, checkpoints) and the T2RModel's
spec-validated train_step; the baseline is `next(iterator)`, forward,
backward and `apply_gradients` in a tf.function called from a Python loop.

Ours runs with the default `steps_per_execution=None` (steps per call
chosen within the checkpoint, summary and log intervals, here 16) and with
each value of `--compare_steps_per_execution` (1: one call per step, as the
baseline). Rounds alternate between all sides; each round times about
`--steps` steps after `--warmup_steps` (tracing, restoring); the median
steps/s of each side is compared. Ours resumes its model_dir every round, as
a restarted job would; its checkpoint save at the end of a round falls
outside the timed steps.

  python benchmarks/train_step.py [--steps=300 --rounds=9]

Every side prints `train_step_spe<k>: ratio ...`; the last line is the
default's
  train_step: ratio <ours/baseline> (<ours> vs <baseline> steps/s)
"""

import os
import statistics
import tempfile
import time
from typing import Optional

from absl import app
from absl import flags
import tensorflow as tf
import tf_keras

from t2r import compat
from t2r import models
from t2r import specs
from t2r import train
from t2r.data import synthetic_input_generators
from t2r.modes import ModeKeys

_STEPS = flags.DEFINE_integer('steps', 300, 'Timed steps per round.')
_WARMUP_STEPS = flags.DEFINE_integer('warmup_steps', 20,
                                     'Untimed steps per round first.')
_ROUNDS = flags.DEFINE_integer('rounds', 9, 'Rounds per side.')
_BATCH_SIZE = flags.DEFINE_integer('batch_size', 128, 'Batch size.')
_HIDDEN = flags.DEFINE_integer('hidden', 512, 'Hidden layer width.')
_COMPARE_STEPS_PER_EXECUTION = flags.DEFINE_list(
    'compare_steps_per_execution', ['1', '4'],
    'Explicit train_eval_model steps per tf.function call to time besides '
    'the default (1 = one call per step, as the baseline).')

_STATE_SIZE = 128
_ACTION_SIZE = 16


def _layers():
  return [
      tf_keras.layers.Dense(_HIDDEN.value, activation='relu'),
      tf_keras.layers.Dense(_HIDDEN.value, activation='relu'),
      tf_keras.layers.Dense(_ACTION_SIZE),
  ]


def _mse(predictions, targets):
  return tf.reduce_mean(tf.square(predictions - targets))


class MLPModel(models.T2RModel):
  """Regresses an action from a state with a 2-hidden-layer MLP."""

  def __init__(self, **kwargs):
    super().__init__(create_optimizer_fn=lambda: tf_keras.optimizers.Adam(
        1e-3), **kwargs)
    self.network = tf_keras.Sequential(_layers())

  def get_feature_specification(self, mode):
    return specs.TensorSpecStruct(state=specs.ExtendedTensorSpec(
        (_STATE_SIZE,), tf.float32, name='state'))

  def get_label_specification(self, mode):
    return specs.TensorSpecStruct(action=specs.ExtendedTensorSpec(
        (_ACTION_SIZE,), tf.float32, name='action'))

  def inference_network_fn(self, features, labels, mode, config=None,
                           params=None):
    return {'action': self.network(features.state)}

  def model_train_fn(self, features, labels, inference_outputs, mode,
                     config=None, params=None):
    return _mse(inference_outputs['action'], labels.action)


class _StepTimer(tf_keras.callbacks.Callback):
  """Times about `steps` batches after the first `warmup` of a `fit` call.

  The hook fires once per call, so timing starts at the first call end at
  or after `warmup` and stops at the first one at or after `warmup + steps`.
  """

  def __init__(self, warmup: int, steps: int):
    super().__init__()
    compat.let_callback_take_tensor_logs(self)
    self._warmup = warmup
    self._steps = steps
    self._start = None
    self._start_batches = None
    self.steps_per_sec = None

  def on_train_batch_end(self, batch, logs=None):
    # `batch` is the index of the last step run (steps_per_execution steps
    # may run per call, so the hook does not fire after every step).
    batches = batch + 1
    if self.steps_per_sec is not None or batches < self._warmup or (
        self._start is not None and batches < self._warmup + self._steps):
      return
    self.model.optimizer.iterations.numpy()  # Wait for the step to finish.
    now = time.perf_counter()
    if self._start is None:
      self._start, self._start_batches = now, batches
    else:
      self.steps_per_sec = (batches - self._start_batches) / (now -
                                                              self._start)


def _generator():
  generator = synthetic_input_generators.DefaultConstantInputGenerator(
      constant_value=0.5, batch_size=_BATCH_SIZE.value)
  generator.set_specification_from_model(MLPModel(), ModeKeys.TRAIN)
  return generator


def run_ours(model_dir: str, round_index: int,
             steps_per_execution: Optional[int]) -> float:
  """steps/s of train_eval_model, resuming model_dir for one more round."""
  round_steps = _WARMUP_STEPS.value + _STEPS.value
  timer = _StepTimer(_WARMUP_STEPS.value, _STEPS.value)
  train.train_eval_model(
      t2r_model=MLPModel,
      input_generator_train=_generator(),
      max_train_steps=(round_index + 1) * round_steps,
      model_dir=model_dir,
      save_checkpoints_steps=round_steps,
      log_every_n_steps=round_steps,
      save_summary_steps=round_steps,
      steps_per_execution=steps_per_execution,
      show_progress=False,
      callbacks=[timer])
  return timer.steps_per_sec


def run_baseline() -> float:
  """steps/s of a hand-written tf.function train step."""
  network = tf_keras.Sequential(_layers())
  optimizer = tf_keras.optimizers.Adam(1e-3)
  iterator = iter(_generator().create_dataset(ModeKeys.TRAIN))

  @tf.function
  def train_step(iterator):
    features, labels = next(iterator)
    with tf.GradientTape() as tape:
      loss = _mse(network(features.state), labels.action)
    variables = network.trainable_variables
    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
    return loss

  for _ in range(_WARMUP_STEPS.value):
    train_step(iterator)
  optimizer.iterations.numpy()
  start = time.perf_counter()
  for _ in range(_STEPS.value):
    train_step(iterator)
  optimizer.iterations.numpy()
  return _STEPS.value / (time.perf_counter() - start)


def main(argv):
  del argv
  sides = [None] + [int(k) for k in _COMPARE_STEPS_PER_EXECUTION.value]
  ours = {k: [] for k in sides}
  baseline = []
  with tempfile.TemporaryDirectory() as root:
    for round_index in range(_ROUNDS.value):
      for k in sides:
        ours[k].append(run_ours(os.path.join(root, f'spe{k}'), round_index,
                                k))
      baseline.append(run_baseline())
      print(f'round {round_index}: ' + ', '.join(
          f'ours spe={k or "default"} {ours[k][-1]:.1f}' for k in sides) +
            f', baseline {baseline[-1]:.1f} steps/s', flush=True)
  baseline_median = statistics.median(baseline)
  for k in sides[1:] + [None]:
    median = statistics.median(ours[k])
    name = 'train_step' if k is None else f'train_step_spe{k}'
    print(f'{name}: ratio {median / baseline_median:.3f} '
          f'({median:.1f} vs {baseline_median:.1f} steps/s)')


if __name__ == '__main__':
  app.run(main)
