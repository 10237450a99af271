"""Fixtures of the training tests: gin isolation and a trained model_dir."""

import os
import sys

import gin
import pytest

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
  sys.path.insert(0, _HERE)


@pytest.fixture(autouse=True)
def clear_gin():
  """Every test starts and ends with an empty gin config."""
  gin.clear_config()
  yield
  gin.clear_config()

