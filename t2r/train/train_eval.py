"""`train_eval_model`: T2R's gin-configured training and evaluation job.

It trains a `T2RModel` with tf-keras `fit` under a tf.distribute strategy and
gives the job T2R's model_dir contract:

  model_dir/
    checkpoint, ckpt-<step>.*   tf.train.CheckpointManager (resume from here)
    operative_config.gin        gin.operative_config_str() after step one
    train/  eval/               TensorBoard events keyed by the global step
    eval_<name>/                the same for each named eval set of a
                                MultiEvalRecordInputGenerator

Re-running the same command resumes from the latest checkpoint (weights,
optimizer state, moving averages, global step). TensorFlow writes a checkpoint
under temporary names and renames it, and updates the `checkpoint` index file
atomically, so killing the job at any moment loses at most the steps since the
last checkpoint. Without `input_generator_train` the job is a continuous
evaluator of the checkpoints another job writes.
"""

import math
import os
from typing import Any, Callable, Dict, Optional, Sequence, Union

from absl import logging
import gin
import tensorflow as tf
import tf_keras

from t2r.data import abstract_input_generator
from t2r.data import multi_eval_input_generator
from t2r.export import abstract_export_generator
from t2r.export import export_hooks as export_hooks_lib
from t2r.models import optimizers
from t2r.models import t2r_model as t2r_model_lib
from t2r.modes import ModeKeys
from t2r.train import callbacks as callbacks_lib
from t2r.train import checkpoints
from t2r.train import evaluation
from t2r.train import hooks
from t2r.train import leftovers
from t2r.train import seeding
from t2r.train import strategies
from t2r.train import train_steps

InputGenerator = abstract_input_generator.AbstractInputGenerator
ExportGenerator = abstract_export_generator.AbstractExportGenerator
ModelOrFactory = Union[t2r_model_lib.T2RModel,
                       Callable[[], t2r_model_lib.T2RModel]]

OPERATIVE_CONFIG_FILENAME = 'operative_config.gin'


@gin.configurable
def train_eval_model(
    t2r_model: ModelOrFactory = gin.REQUIRED,
    input_generator_train: Optional[InputGenerator] = None,
    input_generator_eval: Optional[InputGenerator] = None,
    max_train_steps: int = 1000,
    model_dir: str = gin.REQUIRED,
    eval_steps: Optional[int] = 100,
    eval_every_n_steps: Optional[int] = None,
    save_checkpoints_steps: int = 500,
    keep_checkpoint_max: int = 5,
    log_every_n_steps: int = 100,
    save_summary_steps: int = 100,
    eval_timeout_secs: Optional[float] = 600.0,
    export_hooks: Sequence[hooks.ExportHook] = (),
    callbacks: Sequence[tf_keras.callbacks.Callback] = (),
    strategy: Optional[tf.distribute.Strategy] = None,
    mixed_precision_policy: Optional[str] = None,
    steps_per_execution: Optional[int] = None,
    seed: Optional[int] = None,
    export_generator: Optional[ExportGenerator] = None,
    num_export_versions: int = 5,
    show_progress: bool = True) -> Dict[str, Any]:
  """Trains and evaluates a T2R model; or evaluates checkpoints continuously.

  With `input_generator_train`, trains to `max_train_steps` (resuming from
  the latest checkpoint in `model_dir`), saving every
  `save_checkpoints_steps` and evaluating on `input_generator_eval` (if
  given) every `eval_every_n_steps`. Without it, evaluates each checkpoint
  that appears in `model_dir` until one reaches `max_train_steps` or none
  arrives for `eval_timeout_secs`.

  Example (gin):
    train_eval_model.t2r_model = @MyModel  # a class: built in the scope
    train_eval_model.input_generator_train = @DefaultRecordInputGenerator()
    train_eval_model.max_train_steps = 10000
    train_eval_model.model_dir = '/tmp/my_model'
    create_strategy.name = 'mirrored'

  Args:
    t2r_model: A `T2RModel` class or factory (preferred: it is then created
      under the strategy scope and mixed-precision policy), or an instance
      created under `strategy`'s scope.
    input_generator_train: The training data; None for eval-only.
    input_generator_eval: The evaluation data; None skips evaluation. A
      `MultiEvalRecordInputGenerator` evaluates each of its named sets at
      every evaluation, with summaries in model_dir/eval_<name>/.
    max_train_steps: The global step at which training ends.
    model_dir: Where checkpoints, summaries and the operative config go (any
      tf.io.gfile filesystem).
    eval_steps: Batches per evaluation; None evaluates until the eval dataset
      ends (it must be finite then).
    eval_every_n_steps: Evaluation interval during training; None:
      `save_checkpoints_steps`.
    save_checkpoints_steps: Checkpoint interval in global steps.
    keep_checkpoint_max: How many checkpoints to keep.
    log_every_n_steps: Progress logging interval (step, loss, steps/s).
    save_summary_steps: Interval of train summaries (logs, steps/s and the
      model's `add_summaries`).
    eval_timeout_secs: Eval-only mode ends when no new checkpoint appears
      for this long (None: wait forever).
    export_hooks: Callables `hook(model, directory, global_step)` run after
      each checkpoint save on every worker; `directory` is model_dir on the
      chief and a temporary directory elsewhere (removed at the end), so
      collective saves such as SavedModel export work under multi-worker
      strategies. The export generators plug in here. A hook's optional
      `at_train_end(model, directory, global_step)` method runs once at the
      end of training, also when the restored step already reaches
      `max_train_steps` (so a final export missed by a stopped run is
      written). Hooks and callbacks with a `set_training_data(generator)`
      method (the exporters) get `input_generator_train`, so that every
      export lists the training files (`t2r.provenance`).
    callbacks: Extra tf-keras callbacks for `fit`.
    strategy: The tf.distribute strategy; None: `create_strategy()` (gin).
    mixed_precision_policy: e.g. 'mixed_float16' or 'mixed_bfloat16'; None
      keeps the global tf-keras policy.
    steps_per_execution: Training steps per `tf.function` call; larger values
      cut Python overhead for small models (training may then pass
      `max_train_steps` by up to `steps_per_execution - 1` steps, and
      checkpoints, summaries and logs fall on the first call end at or past
      their step). None (the default) picks the largest value up to
      `train_steps.MAX_AUTO_STEPS_PER_EXECUTION` that divides the start
      step, `max_train_steps` and every interval (checkpoints and exports,
      evaluation, logging, summaries), so that all of them happen at exactly
      the configured steps. Evaluation always runs one step per call.
    seed: The job's seed: weight initialisation, dropout, augmentation
      (TensorFlow's global seed), Python's and numpy's generators, and the
      data order of input generators built without a seed of their own
      (train: `seed`, eval: `seed + 1`). The same seed on the same machine
      gives the same numbers. None: unseeded.
    export_generator: Tensor2Robot's argument: an export generator (e.g.
      `DefaultExportGenerator()`) that exports the model at every checkpoint
      into model_dir/export/<global_step>, keeping the newest
      `num_export_versions`; shorthand for
      `export_hooks=[PeriodicExporter(export_generator=...)]`.
    num_export_versions: How many exports `export_generator` keeps.
    show_progress: Show a training progress bar (steps/s, ETA, loss) on the
      chief; a line every few seconds when stdout is not a terminal.

  Returns:
    {'global_step': int, 'train': last epoch's train logs, 'eval': the last
    evaluation's metrics}; the dicts are empty where nothing ran. With a
    `MultiEvalRecordInputGenerator`, each set's metrics are under
    'eval_<name>' (its summary directory) instead of 'eval'.

  Raises:
    ValueError: For invalid arguments, or a checkpoint in model_dir that
      does not match the model.
    TypeError: If `t2r_model` is not a T2RModel (class).
  """
  if seed is not None:
    seeding.set_job_seed(seed)
    for generator, offset in ((input_generator_train, 0),
                              (input_generator_eval, 1)):
      if generator is not None:
        generator.set_default_seed(seed + offset)
  export_hooks = list(export_hooks)
  if export_generator is not None:
    export_hooks.append(export_hooks_lib.PeriodicExporter(
        export_generator=export_generator, num_versions=num_export_versions))
  _check_arguments(
      input_generator_train, input_generator_eval, model_dir,
      max_train_steps=max_train_steps,
      save_checkpoints_steps=save_checkpoints_steps,
      keep_checkpoint_max=keep_checkpoint_max,
      log_every_n_steps=log_every_n_steps,
      save_summary_steps=save_summary_steps,
      steps_per_execution=steps_per_execution, eval_steps=eval_steps,
      eval_every_n_steps=eval_every_n_steps)
  if strategy is None:
    strategy = strategies.create_strategy()
  model = _create_model(t2r_model, strategy, mixed_precision_policy)
  _compile_and_build(model, strategy, steps_per_execution or 1)
  checkpoint = tf.train.Checkpoint(model=model, optimizer=model.optimizer)
  chief = strategies.is_chief(strategy)
  eval_sets = {}
  if input_generator_eval is not None:
    eval_sets = _eval_sets(input_generator_eval, model, strategy, model_dir,
                           chief)
  no_eval_results = {name: {} for name in eval_sets or ['eval']}

  if input_generator_train is None:
    results = evaluation.evaluate_checkpoints_on_sets(
        model, checkpoint, eval_sets, model_dir, eval_steps,
        max_train_steps=max_train_steps, timeout_secs=eval_timeout_secs)
    return {'global_step': train_steps.global_step(model), 'train': {},
            **results}

  if chief:
    # Temporary files of a killed run (never in eval-only mode, where the
    # trainer may be writing them right now).
    leftovers.remove_leftovers(model_dir)
  _restore_latest(checkpoint, model_dir)
  start_step = train_steps.global_step(model)
  # Exports list the training files in their provenance (t2r.provenance).
  input_generator_train.set_specification_from_model(model, ModeKeys.TRAIN)
  hooks.set_training_data(export_hooks + list(callbacks),
                          input_generator_train)
  if start_step >= max_train_steps:
    logging.info('Global step %d already reaches max_train_steps %d; nothing '
                 'to train.', start_step, max_train_steps)
    # The run that trained may have stopped before its final export.
    with strategies.worker_write_dir(model_dir, chief) as write_dir:
      hooks.run_train_end_hooks(export_hooks, model, write_dir, start_step)
    return {'global_step': start_step, 'train': {}, **no_eval_results}
  train_dataset = _distributed_dataset(input_generator_train, model,
                                       ModeKeys.TRAIN, strategy)
  eval_every_n_steps = eval_every_n_steps or save_checkpoints_steps
  if steps_per_execution is None:
    steps_per_execution = train_steps.auto_steps_per_execution(
        start_step, max_train_steps,
        [save_checkpoints_steps, eval_every_n_steps, log_every_n_steps,
         save_summary_steps])
    logging.info('Training %d steps per call (steps_per_execution=None).',
                 steps_per_execution)
  train_steps.set_train_steps_per_execution(model, steps_per_execution)
  with strategies.worker_write_dir(model_dir, chief) as write_dir:
    fit_callbacks = [
        callbacks_lib.StopAtStep(max_train_steps),
        callbacks_lib.ProgressLogger(
            log_every_n_steps, save_summary_steps,
            _summary_writer(model_dir, 'train', chief)),
        callbacks_lib.CheckpointSaver(
            tf.train.CheckpointManager(
                checkpoint, write_dir, max_to_keep=keep_checkpoint_max),
            save_checkpoints_steps, export_hooks, write_dir),
    ]
    if chief:
      fit_callbacks.append(callbacks_lib.OperativeConfigWriter(
          os.path.join(model_dir, OPERATIVE_CONFIG_FILENAME)))
      if show_progress:
        fit_callbacks.append(callbacks_lib.TrainingProgressBar(
            max_train_steps, f'train {type(model).__name__}',
            log_every_n_steps))
    evaluators = {
        name: evaluation.PeriodicEvaluator(eval_set.dataset, eval_steps,
                                           eval_every_n_steps, eval_set.writer,
                                           name)
        for name, eval_set in eval_sets.items()
    }
    fit_callbacks.extend(evaluators.values())
    # Our own History: evaluations inside `fit` replace `model.history`.
    history = tf_keras.callbacks.History()
    # An epoch ends on every checkpoint and evaluation step.
    epoch_steps = math.gcd(save_checkpoints_steps, eval_every_n_steps)
    initial_epoch = start_step // epoch_steps
    model.fit(
        train_dataset,
        epochs=initial_epoch + math.ceil(
            (max_train_steps - start_step) / epoch_steps),
        initial_epoch=initial_epoch,
        steps_per_epoch=epoch_steps,
        callbacks=fit_callbacks + list(callbacks) + [history],
        verbose=0)
  return {'global_step': train_steps.global_step(model),
          'train': {name: values[-1]
                    for name, values in history.history.items()},
          **no_eval_results,
          **{name: evaluator.results for name, evaluator in evaluators.items()}}


def _check_arguments(input_generator_train: Optional[InputGenerator],
                     input_generator_eval: Optional[InputGenerator],
                     model_dir: Any, **intervals: Optional[int]):
  """Raises ValueError for arguments train_eval_model cannot run with."""
  if input_generator_train is None and input_generator_eval is None:
    raise ValueError('train_eval_model needs input_generator_train (to train) '
                     'or input_generator_eval (to evaluate checkpoints); both '
                     'are None.')
  if not model_dir or not isinstance(model_dir, str):
    raise ValueError(f'model_dir must be a non-empty path, got {model_dir!r}.')
  for name, value in intervals.items():
    if value is not None:
      _check_positive_int(name, value)


def _compile_and_build(model: t2r_model_lib.T2RModel,
                       strategy: tf.distribute.Strategy,
                       steps_per_execution: int):
  """Compiles (unless compiled) and creates all variables in the scope.

  Slot and moving-average variables then exist before a restore, so it
  restores them at once and can check that the checkpoint matches.
  """
  with strategy.scope():
    if model.optimizer is None:
      model.compile(steps_per_execution=steps_per_execution)
    if not model.built:
      model.build_from_specs()
    optimizers.base_optimizer(model.optimizer).build(model.trainable_variables)


def _check_positive_int(name: str, value: Any):
  if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
    raise ValueError(f'train_eval_model.{name} must be a positive int, got '
                     f'{value!r}.')


def _create_model(t2r_model: ModelOrFactory, strategy: tf.distribute.Strategy,
                  policy: Optional[str]) -> t2r_model_lib.T2RModel:
  """Returns the model, created under the strategy scope and policy."""
  if isinstance(t2r_model, tf_keras.Model):
    model = t2r_model
    if model.distribute_strategy is not strategy:
      raise ValueError(
          f'The {type(model).__name__} instance was created outside the scope '
          f'of the training strategy {type(strategy).__name__}. Pass the '
          'model class instead (gin: `train_eval_model.t2r_model = @MyModel`, '
          'without parentheses) or create it under `strategy.scope()`.')
    if policy and model.dtype_policy.name != policy:
      raise ValueError(
          f'mixed_precision_policy is {policy!r} but the '
          f'{type(model).__name__} instance was created with policy '
          f'{model.dtype_policy.name!r}. Pass the model class (gin: '
          '`train_eval_model.t2r_model = @MyModel`) so that it is created '
          'under the policy.')
  elif callable(t2r_model):
    previous_policy = tf_keras.mixed_precision.global_policy()
    try:
      if policy:
        tf_keras.mixed_precision.set_global_policy(policy)
      with strategy.scope():
        model = t2r_model()
    finally:
      tf_keras.mixed_precision.set_global_policy(previous_policy)
  else:
    model = t2r_model
  if not isinstance(model, t2r_model_lib.T2RModel):
    raise TypeError(
        'train_eval_model.t2r_model must be a T2RModel subclass or instance '
        f'(or a factory returning one), got {t2r_model!r}.')
  return model


def _distributed_dataset(generator: InputGenerator, model: Any, mode: str,
                         strategy: tf.distribute.Strategy) -> Any:
  """The generator's dataset for `mode`, one shard per input pipeline."""
  generator.set_specification_from_model(model, mode)
  return strategy.distribute_datasets_from_function(
      lambda context: generator.create_dataset(mode, input_context=context))


def _eval_sets(generator: InputGenerator, model: Any,
               strategy: tf.distribute.Strategy, model_dir: str,
               chief: bool) -> Dict[str, evaluation.EvalSet]:
  """The eval datasets and summary writers, keyed by summary directory.

  One set 'eval'; or, for a `MultiEvalRecordInputGenerator`, 'eval_<name>'
  per named set (Tensor2Robot's directory for a named evaluation).
  """
  if isinstance(generator,
                multi_eval_input_generator.MultiEvalRecordInputGenerator):
    generators = {f'eval_{name}': generator.eval_generator(name)
                  for name in generator.eval_names}
  else:
    generators = {'eval': generator}
  return {
      name: evaluation.EvalSet(
          _distributed_dataset(named, model, ModeKeys.EVAL, strategy),
          _summary_writer(model_dir, name, chief))
      for name, named in generators.items()
  }


def _summary_writer(model_dir: str, name: str,
                    chief: bool) -> Optional[tf.summary.SummaryWriter]:
  """The chief's summary writer for model_dir/<name>; None elsewhere."""
  if not chief:
    return None
  return tf.summary.create_file_writer(os.path.join(model_dir, name))


def _restore_latest(checkpoint: tf.train.Checkpoint, model_dir: str):
  """Restores the latest checkpoint of model_dir, if any, checking it fits."""
  latest = tf.train.latest_checkpoint(model_dir)
  if latest is None:
    logging.info('No checkpoint in %s; training from scratch.', model_dir)
    return
  checkpoints.restore_checkpoint(checkpoint, latest)
  logging.info('Resumed from %s.', latest)
