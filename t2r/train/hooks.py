"""The export-hook protocol of training jobs.

An export hook is a callable `hook(model, directory, global_step)` run after
each checkpoint save (e.g. `t2r.export.PeriodicExporter`). A hook may also
define a method `at_train_end(model, directory, global_step)`, which
`run_train_end_hooks` calls once training has ended (after the final
checkpoint), e.g. to export the final step that its schedule skipped, and
a method `set_training_data(input_generator)`, which `set_training_data`
calls before training with the training input generator, e.g. to record the
training files in each export (`t2r.provenance`).

Example:
  >>> def log_step(model, directory, step):
  ...   logging.info('checkpoint at step %d in %s', step, directory)
  >>> train_eval_model(..., export_hooks=[log_step, PeriodicExporter()])
"""

from typing import Any, Callable, Sequence

import tf_keras

ExportHook = Callable[[tf_keras.Model, str, int], Any]
TRAIN_END_METHOD = 'at_train_end'
TRAINING_DATA_METHOD = 'set_training_data'


def run_train_end_hooks(export_hooks: Sequence[ExportHook],
                        model: tf_keras.Model, directory: str, step: int):
  """Calls `at_train_end(model, directory, step)` of the hooks that define it.

  Plain callables (functions, lambdas) have no such method and are skipped.

  Example:
    >>> run_train_end_hooks([PeriodicExporter(every_n_steps=1000)], model,
    ...                     model_dir, global_step(model))

  Args:
    export_hooks: The job's export hooks.
    model: The trained model.
    directory: Where this worker writes (as for the hooks' calls).
    step: The final global step.
  """
  for hook in export_hooks:
    at_train_end = getattr(hook, TRAIN_END_METHOD, None)
    if at_train_end is not None:
      at_train_end(model, directory, step)


def set_training_data(hooks_and_callbacks: Sequence[Any],
                      input_generator: Any):
  """Calls `set_training_data(input_generator)` of those that define it.

  Example:
    >>> set_training_data([PeriodicExporter()], input_generator_train)

  Args:
    hooks_and_callbacks: The job's export hooks and tf-keras callbacks
      (e.g. `BestExporter`).
    input_generator: The training input generator.
  """
  for hook in hooks_and_callbacks:
    method = getattr(hook, TRAINING_DATA_METHOD, None)
    if method is not None:
      method(input_generator)
