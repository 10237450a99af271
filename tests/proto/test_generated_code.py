"""The committed t2r/proto/t2r_pb2.py matches proto/t2r.proto."""

import filecmp
import importlib.util

import pytest

from t2r.proto import regenerate


def test_generated_module_is_up_to_date(tmp_path):
  if importlib.util.find_spec('grpc_tools') is None:
    pytest.skip('grpcio-tools is not installed (pip install -e ".[dev]")')
  generated = regenerate.generate(str(tmp_path))
  assert filecmp.cmp(generated, regenerate.GENERATED_MODULE, shallow=False), (
      't2r/proto/t2r_pb2.py is out of date with proto/t2r.proto: run '
      '`python -m t2r.proto.regenerate` and commit the result.')


def test_proto_declares_every_spec_field():
  from t2r.proto import t2r_pb2  # pylint: disable=g-import-not-at-top
  fields = set(t2r_pb2.ExtendedTensorSpec.DESCRIPTOR.fields_by_name)
  assert {'shape', 'dtype', 'name', 'is_optional', 'is_sequence',
          'is_extracted', 'data_format', 'dataset_key',
          'varlen_default_value'} <= fields
