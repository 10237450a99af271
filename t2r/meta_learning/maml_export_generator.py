"""`MAMLExportGenerator`: the default export of a `MAMLModel`, tensors only.

A `MAMLModel`'s PREDICT specs leave the samples per task unknown, so one
export adapts from any number of condition samples; serialized tf.Examples
store fixed-size tensors only, so the `serving_tf_example` signature of
`DefaultExportGenerator` cannot describe them. This generator exports
`serving_default` (raw tensors keyed by spec name), which returns the
unadapted and the adapted predictions of one call.
"""

from typing import Sequence

import gin

from t2r.export import default_export_generator


@gin.configurable
class MAMLExportGenerator(default_export_generator.DefaultExportGenerator):
  """`DefaultExportGenerator` without the tf.Example signature.

  Example:
    >>> path = MAMLExportGenerator().export(maml_model, model_dir + '/export')
    >>> serve = tf.saved_model.load(path).signatures['serving_default']

  Args:
    warmup_batch_sizes: As for `DefaultExportGenerator`.
  """

  def __init__(self, warmup_batch_sizes: Sequence[int] = ()):
    super().__init__(export_tf_example_signature=False,
                     warmup_batch_sizes=warmup_batch_sizes)
