"""TF Serving warmup requests: PredictionLogs the export itself can serve."""

import os

import pytest
import tensorflow as tf
from tensorflow.core.framework import tensor_pb2

from t2r.export import default_export_generator
from t2r.export import warmup

from export_models import make_model


@pytest.fixture(scope='module')
def export_path(tmp_path_factory):
  return default_export_generator.DefaultExportGenerator(
      export_tf_example_signature=False,
      warmup_batch_sizes=(1, 3)).export(
          make_model(), str(tmp_path_factory.mktemp('warm')), global_step=1)


def _logs(path):
  prediction_log = warmup.prediction_log_classes()['PredictionLog']
  records = tf.data.TFRecordDataset(
      os.path.join(path, 'assets.extra', warmup.WARMUP_FILENAME))
  return [prediction_log.FromString(r.numpy()) for r in records]


def test_one_predict_request_per_batch_size(export_path):
  logs = _logs(export_path)
  assert len(logs) == 2
  for log, batch_size in zip(logs, (1, 3)):
    request = log.predict_log.request
    assert request.model_spec.signature_name == 'serving_default'
    for tensor in request.inputs.values():
      assert tensor.tensor_shape.dim[0].size == batch_size


def test_requests_run_on_the_exported_signature(export_path):
  serve = tf.saved_model.load(export_path).signatures['serving_default']
  for log in _logs(export_path):
    inputs = {
        key: tf.make_ndarray(
            tensor_pb2.TensorProto.FromString(tensor.SerializeToString()))
        for key, tensor in log.predict_log.request.inputs.items()
    }
    assert sorted(inputs) == sorted(serve.structured_input_signature[1])
    outputs = serve(**inputs)
    assert outputs['inference_output'].shape[0] == len(
        next(iter(inputs.values())))


def test_wire_format_uses_the_tf_serving_field_numbers():
  classes = warmup.prediction_log_classes()
  log = classes['PredictionLog'](predict_log=classes['PredictLog'](
      request=classes['PredictRequest'](model_spec=classes['ModelSpec'](
          name='m', signature_name='s'))))
  # predict_log = 6 (0x32), request = 1 (0x0a), model_spec = 1 (0x0a),
  # name = 1 (0x0a), signature_name = 3 (0x1a).
  assert log.SerializeToString() == bytes(
      [0x32, 10, 0x0a, 8, 0x0a, 6, 0x0a, 1, ord('m'), 0x1a, 1, ord('s')])


def test_invalid_batch_size_fails(export_path):
  with pytest.raises(ValueError, match='positive ints'):
    warmup.write_warmup_requests(export_path, 'serving_default', [0])
