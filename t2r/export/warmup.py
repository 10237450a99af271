"""TF Serving warmup requests: `assets.extra/tf_serving_warmup_requests`.

TF Serving (`--enable_model_warmup`) replays the `PredictionLog` protos of
this TFRecord file when it loads a model, so the first real request does not
pay for graph optimization. The `tensorflow_serving` package is not a t2r
dependency, so the few messages needed are declared here from their
published schema (tensorflow_serving/apis/{model,predict,prediction_log}
.proto; only field numbers and types matter on the wire) in a private
descriptor pool, on top of TensorFlow's own `TensorProto`:

  ModelSpec       { string name = 1; string signature_name = 3; }
  PredictRequest  { ModelSpec model_spec = 1;
                    map<string, TensorProto> inputs = 2; }
  PredictLog      { PredictRequest request = 1; }
  PredictionLog   { PredictLog predict_log = 6; }
"""

import functools
import os
from typing import Any, Dict, Sequence

from google.protobuf import descriptor_pb2
from google.protobuf import descriptor_pool
from google.protobuf import message_factory
import numpy as np
import tensorflow as tf
from tensorflow.core.framework import tensor_pb2

from t2r import specs
from t2r.specs import proto_conversion

WARMUP_FILENAME = 'tf_serving_warmup_requests'
_PACKAGE = 'tensorflow.serving'
_FDP = descriptor_pb2.FieldDescriptorProto


def _add_with_dependencies(pool, file_descriptor):
  for dependency in file_descriptor.dependencies:
    _add_with_dependencies(pool, dependency)
  try:
    pool.FindFileByName(file_descriptor.name)
  except KeyError:
    pool.Add(descriptor_pb2.FileDescriptorProto.FromString(
        file_descriptor.serialized_pb))


def _field(message, name, number, field_type, type_name=None,
           label=_FDP.LABEL_OPTIONAL):
  field = message.field.add(name=name, number=number, type=field_type,
                            label=label)
  if type_name:
    field.type_name = type_name


@functools.lru_cache(maxsize=1)
def prediction_log_classes() -> Dict[str, Any]:
  """The message classes {'PredictionLog', 'PredictLog', ...}."""
  pool = descriptor_pool.DescriptorPool()
  _add_with_dependencies(pool, tensor_pb2.DESCRIPTOR)
  file_proto = descriptor_pb2.FileDescriptorProto(
      name='t2r/tf_serving_prediction_log.proto', package=_PACKAGE,
      syntax='proto3', dependency=[tensor_pb2.DESCRIPTOR.name])
  model_spec = file_proto.message_type.add(name='ModelSpec')
  _field(model_spec, 'name', 1, _FDP.TYPE_STRING)
  _field(model_spec, 'signature_name', 3, _FDP.TYPE_STRING)
  request = file_proto.message_type.add(name='PredictRequest')
  _field(request, 'model_spec', 1, _FDP.TYPE_MESSAGE, f'.{_PACKAGE}.ModelSpec')
  entry = request.nested_type.add(name='InputsEntry')
  entry.options.map_entry = True
  _field(entry, 'key', 1, _FDP.TYPE_STRING)
  _field(entry, 'value', 2, _FDP.TYPE_MESSAGE, '.tensorflow.TensorProto')
  _field(request, 'inputs', 2, _FDP.TYPE_MESSAGE,
         f'.{_PACKAGE}.PredictRequest.InputsEntry', _FDP.LABEL_REPEATED)
  predict_log = file_proto.message_type.add(name='PredictLog')
  _field(predict_log, 'request', 1, _FDP.TYPE_MESSAGE,
         f'.{_PACKAGE}.PredictRequest')
  prediction_log = file_proto.message_type.add(name='PredictionLog')
  _field(prediction_log, 'predict_log', 6, _FDP.TYPE_MESSAGE,
         f'.{_PACKAGE}.PredictLog')
  pool.Add(file_proto)
  return {
      name: message_factory.GetMessageClass(
          pool.FindMessageTypeByName(f'{_PACKAGE}.{name}'))
      for name in ('ModelSpec', 'PredictRequest', 'PredictLog',
                   'PredictionLog')
  }


def write_warmup_requests(export_dir: str,
                          signature_name: str,
                          batch_sizes: Sequence[int],
                          model_name: str = '',
                          seed: int = 0) -> str:
  """Writes one random PredictRequest per batch size for a signature.

  The inputs are keyed, shaped and typed like the saved signature (read
  back from the SavedModel in `export_dir`) and filled with seeded random
  data; unknown dimensions other than the batch (e.g. time) get size 1.

  Example:
    >>> write_warmup_requests(export_dir, 'serving_default', [1, 64])

  Args:
    export_dir: A SavedModel directory.
    signature_name: The signature the requests call.
    batch_sizes: One request per batch size.
    model_name: The TF Serving model name in `ModelSpec.name` ('' lets the
      server use the loading model).
    seed: Seed of the random inputs.

  Returns:
    The path of the written file.

  Raises:
    ValueError: If a batch size is not positive.
  """
  classes = prediction_log_classes()
  function = tf.saved_model.load(export_dir).signatures[signature_name]
  inputs = function.structured_input_signature[1]
  directory = os.path.join(export_dir, proto_conversion.ASSETS_DIRNAME)
  tf.io.gfile.makedirs(directory)
  path = os.path.join(directory, WARMUP_FILENAME)
  with tf.io.TFRecordWriter(path) as writer:
    for batch_size in batch_sizes:
      if isinstance(batch_size, bool) or int(batch_size) < 1:
        raise ValueError(f'Warmup batch sizes must be positive ints, got '
                         f'{list(batch_sizes)}.')
      unbatched = {
          key: specs.ExtendedTensorSpec(
              [1 if d is None else d for d in spec.shape[1:]], spec.dtype,
              name=key) for key, spec in inputs.items()
      }
      values = specs.make_random_numpy(unbatched, int(batch_size), seed=seed)
      request = classes['PredictRequest'](
          model_spec=classes['ModelSpec'](name=model_name,
                                          signature_name=signature_name))
      for key, value in values.items():
        # The private pool has its own TensorProto class: copy by bytes.
        request.inputs[key].ParseFromString(
            tf.make_tensor_proto(np.asarray(value)).SerializeToString())
      log = classes['PredictionLog'](
          predict_log=classes['PredictLog'](request=request))
      writer.write(log.SerializeToString())
  return path
