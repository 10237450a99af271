"""The spec tour `python -m t2r.bin.spec_demo` (console script t2r-spec-demo)."""

import contextlib
import io
import os
import subprocess
import sys

import pytest
import tensorflow as tf

from t2r import specs
from t2r.bin import spec_demo


@pytest.fixture(scope='module')
def printed():
  """The lines the tour prints, from one run of `main` in this process."""
  output = io.StringIO()
  with contextlib.redirect_stdout(output):
    spec_demo.main(['spec_demo'])
  return output.getvalue().splitlines()


def test_the_spec_is_t2r_readme_hierarchical_example():
  spec = spec_demo.build_hierarchical_spec()
  assert list(spec.keys()) == ['train/state', 'train/action', 'val/state',
                               'val/action', 'image']
  assert [s.name for s in spec.values()] == ['train/s', 'train/a', 'val/s',
                                             'val/a', 'image']
  assert spec.train.state == specs.ExtendedTensorSpec((8, 128), tf.float32)
  assert spec.image.data_format == 'jpeg'


def test_the_tour_lists_every_path_with_its_name(printed):
  for path, name in (('train/state', 'train/s'), ('image', 'image')):
    assert any(line.split()[:2] == [path, f"name='{name}'"]
               for line in printed), path


@pytest.mark.parametrize('expected', [
    "Hierarchical view spec.train: ['state', 'action']",
    'Random batch validated: 5 arrays, train/state (4, 8, 128)',
    "A misshaped batch is rejected: Spec 'train/state' (name 'train/s') "
    'expects (None, 8, 128) float32 but got (4, 7, 128) float32',
    "namedtuple flattened: ['state', 'action']",
    'Assets written to t2r_assets.pbtxt and read back: 5 specs, global step '
    f'42, TensorFlow {tf.__version__}',
])
def test_the_tour_prints_each_step(printed, expected):
  assert any(line.startswith(expected) for line in printed), expected


def test_the_tf_function_averages_each_action(printed):
  line, = [text for text in printed
           if text.startswith('tf.function over the signature')]
  values = line.split(':', 1)[1].strip(' []').split()
  assert len(values) == 2  # One mean per example of the batch of 2.
  assert all(0.0 <= float(v) <= 1.0 for v in values)


def test_the_module_runs_as_a_command():
  result = subprocess.run(
      [sys.executable, '-m', 't2r.bin.spec_demo'], capture_output=True,
      text=True, timeout=120, check=False,
      env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL='3', CUDA_VISIBLE_DEVICES=''))
  assert result.returncode == 0, result.stderr
  assert result.stdout.splitlines()[-1].startswith('Assets written to')
