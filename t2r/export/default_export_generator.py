"""`DefaultExportGenerator`: raw-tensor and serialized-tf.Example signatures.

`serving_default` takes one tensor per required PREDICT in-feature, keyed by
spec name (TensorFlow turns characters such as '/' into '_' in the input key;
the TensorSpec keeps the spec name, which is how predictors match inputs to
specs). `serving_tf_example` takes serialized `tf.train.Example`s, one string
vector per dataset key, parsed by the same spec parser as training data, so a
damaged record is rejected with an InvalidArgumentError naming its index in
the batch (and cannot crash the serving process, see `t2r.data.record_guard`).
Both preprocess in PREDICT mode, run the model and return its export outputs.
"""

from typing import Any, Dict, Sequence

import gin
import tensorflow as tf

from t2r import specs
from t2r.data import parsing
from t2r.export import abstract_export_generator
from t2r.export import warmup

SERVING_DEFAULT = 'serving_default'
SERVING_TF_EXAMPLE = 'serving_tf_example'
DEFAULT_EXAMPLE_INPUT = 'input_example_tensor'


def example_input_name(dataset_key: str) -> str:
  """The `serving_tf_example` input that takes the records of a dataset key."""
  return dataset_key or DEFAULT_EXAMPLE_INPUT


@gin.configurable
class DefaultExportGenerator(abstract_export_generator.AbstractExportGenerator):
  """Exports `serving_default` (tensors) and `serving_tf_example` (records).

  Example:
    >>> path = DefaultExportGenerator().export(model, model_dir + '/export')
    >>> serve = tf.saved_model.load(path).signatures['serving_default']
    >>> serve(s=tf.zeros([1, 8]))['inference_output']

  Args:
    export_tf_example_signature: Also export `serving_tf_example`.
    warmup_batch_sizes: If not empty, write TF Serving warmup requests for
      `serving_default`, one per batch size (see `t2r.export.warmup`).
  """

  def __init__(self,
               export_tf_example_signature: bool = True,
               warmup_batch_sizes: Sequence[int] = ()):
    super().__init__()
    self._export_tf_example_signature = bool(export_tf_example_signature)
    self._warmup_batch_sizes = tuple(warmup_batch_sizes)

  def create_serving_fn(self, t2r_model: Any):
    """Returns the `serving_default` concrete function (tensors by name)."""
    signature = specs.make_input_signature(self.required_feature_spec)
    # A plain dict: tf.function's signature must not be a dict subclass.
    signature = dict(signature.items())

    @tf.function(input_signature=[signature])
    def serve(features):
      return abstract_export_generator.predict_outputs(t2r_model, features)

    return serve.get_concrete_function()

  def create_tf_example_serving_fn(self, t2r_model: Any):
    """Returns the `serving_tf_example` concrete function (records)."""
    required = self.required_feature_spec
    parse_fn = parsing.create_parse_tf_example_fn(
        required, present_optional_names=frozenset(),
        source_description=f'the {SERVING_TF_EXAMPLE} input')
    keys = specs.dataset_keys(required)
    signature = {
        example_input_name(key): tf.TensorSpec([None], tf.string,
                                               example_input_name(key))
        for key in keys
    }

    @tf.function(input_signature=[signature])
    def serve_examples(examples):
      if len(keys) == 1:
        serialized = examples[example_input_name(keys[0])]
      else:
        serialized = {key: examples[example_input_name(key)] for key in keys}
      features = parse_fn(serialized)
      return abstract_export_generator.predict_outputs(t2r_model, features)

    return serve_examples.get_concrete_function()

  def create_signatures(self, t2r_model: Any) -> Dict[str, Any]:
    signatures = {SERVING_DEFAULT: self.create_serving_fn(t2r_model)}
    if self._export_tf_example_signature:
      signatures[SERVING_TF_EXAMPLE] = self.create_tf_example_serving_fn(
          t2r_model)
    return signatures

  def write_extra_assets(self, export_dir: str):
    if self._warmup_batch_sizes:
      warmup.write_warmup_requests(export_dir, SERVING_DEFAULT,
                                   self._warmup_batch_sizes)
