"""Converts specs to and from `proto/t2r.proto` messages and asset files.

Exports store their specs as a text proto (`assets.extra/t2r_assets.pbtxt`), so
a robot reads them with protobuf alone: no pickle, no model code.
"""

import datetime
import os
from typing import Any, Optional

import tensorflow as tf
from google.protobuf import text_format

from t2r import atomic_files
from t2r.proto import t2r_pb2
from t2r.specs.extended_tensor_spec import ExtendedTensorSpec
from t2r.specs.structure import flatten_spec_structure
from t2r.specs.structure import flatten_tensor_specs
from t2r.specs.tensor_spec_struct import TensorSpecStruct

ASSETS_DIRNAME = 'assets.extra'
ASSETS_FILENAME = 't2r_assets.pbtxt'


def spec_to_proto(spec: tf.TensorSpec) -> t2r_pb2.ExtendedTensorSpec:
  """Returns a `t2r_pb2.ExtendedTensorSpec` holding every field of `spec`."""
  spec = ExtendedTensorSpec.from_spec(spec)
  message = t2r_pb2.ExtendedTensorSpec(
      dtype=spec.dtype.name,
      name=spec.name or '',
      is_optional=spec.is_optional,
      is_sequence=spec.is_sequence,
      is_extracted=spec.is_extracted,
      data_format=spec.data_format or '',
      dataset_key=spec.dataset_key)
  if spec.shape.rank is None:
    message.unknown_rank = True
  else:
    message.shape.extend(-1 if d is None else d for d in spec.shape.as_list())
  if spec.varlen_default_value is not None:
    message.varlen_default_value = spec.varlen_default_value
  return message


def spec_from_proto(message: t2r_pb2.ExtendedTensorSpec) -> ExtendedTensorSpec:
  """Returns the `ExtendedTensorSpec` stored in `message`."""
  shape = None if message.unknown_rank else [
      None if d < 0 else d for d in message.shape
  ]
  return ExtendedTensorSpec(
      shape=shape,
      dtype=tf.as_dtype(message.dtype),
      name=message.name or None,
      is_optional=message.is_optional,
      is_sequence=message.is_sequence,
      is_extracted=message.is_extracted,
      data_format=message.data_format or None,
      dataset_key=message.dataset_key,
      varlen_default_value=(message.varlen_default_value
                            if message.HasField('varlen_default_value') else
                            None))


def spec_structure_to_proto(spec_structure: Any) -> t2r_pb2.TensorSpecStruct:
  """Returns a `t2r_pb2.TensorSpecStruct` with one entry per flat path."""
  message = t2r_pb2.TensorSpecStruct()
  for path, spec in flatten_tensor_specs(spec_structure).items():
    message.entries.add(path=path, spec=spec_to_proto(spec))
  return message


def spec_structure_from_proto(
    message: t2r_pb2.TensorSpecStruct) -> TensorSpecStruct:
  """Returns the flat `TensorSpecStruct` stored in `message`, in order."""
  return TensorSpecStruct([
      (entry.path, spec_from_proto(entry.spec)) for entry in message.entries
  ])


def make_t2r_assets(feature_spec: Any,
                    label_spec: Optional[Any] = None,
                    global_step: int = 0,
                    **provenance: Any) -> t2r_pb2.T2RAssets:
  """Builds the `T2RAssets` message an export carries.

  Args:
    feature_spec: The (preprocessor in-) feature spec structure.
    label_spec: The label spec structure, if any.
    global_step: The training step of the exported weights.
    **provenance: Fields of `t2r_pb2.Provenance` (operative_gin_config,
      model_class, extra={...}); versions and creation time are filled in.

  Returns:
    A `t2r_pb2.T2RAssets` message.
  """
  from t2r.version import __version__  # pylint: disable=g-import-not-at-top
  assets = t2r_pb2.T2RAssets(
      feature_spec=spec_structure_to_proto(feature_spec),
      global_step=int(global_step))
  if label_spec is not None and len(flatten_spec_structure(label_spec)):
    assets.label_spec.CopyFrom(spec_structure_to_proto(label_spec))
  extra = provenance.pop('extra', {}) or {}
  provenance.setdefault('t2r_version', __version__)
  provenance.setdefault('tensorflow_version', tf.__version__)
  provenance.setdefault(
      'creation_time',
      datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'))
  assets.provenance.CopyFrom(t2r_pb2.Provenance(**provenance))
  assets.provenance.extra.update({str(k): str(v) for k, v in extra.items()})
  return assets


def write_t2r_assets(assets: t2r_pb2.T2RAssets, export_dir: str) -> str:
  """Writes `assets` as text proto to `<export_dir>/assets.extra/` atomically.

  Args:
    assets: The message to write.
    export_dir: A SavedModel directory (any `tf.io.gfile` filesystem).

  Returns:
    The path of the written file.
  """
  path = os.path.join(export_dir, ASSETS_DIRNAME, ASSETS_FILENAME)
  atomic_files.write_atomically(path, text_format.MessageToString(assets))
  return path


def read_t2r_assets(path: str) -> t2r_pb2.T2RAssets:
  """Reads a `T2RAssets` text proto.

  Args:
    path: The .pbtxt file, or an export directory holding
      `assets.extra/t2r_assets.pbtxt`.

  Returns:
    The parsed `t2r_pb2.T2RAssets`.

  Raises:
    FileNotFoundError: If no assets file exists there.
    ValueError: If the file is not a valid T2RAssets text proto.
  """
  if tf.io.gfile.isdir(path):
    path = os.path.join(path, ASSETS_DIRNAME, ASSETS_FILENAME)
  if not tf.io.gfile.exists(path):
    raise FileNotFoundError(
        f'No t2r assets at {path!r}. Expected an export directory written by '
        f't2r (it holds {ASSETS_DIRNAME}/{ASSETS_FILENAME}) or the .pbtxt file.')
  with tf.io.gfile.GFile(path, 'r') as f:
    text = f.read()
  try:
    return text_format.Parse(text, t2r_pb2.T2RAssets())
  except text_format.ParseError as e:
    raise ValueError(f'{path!r} is not a valid T2RAssets text proto: {e}') from e
