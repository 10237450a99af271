"""Packaging promises: modes, tf-keras, the README's two commands and CI."""

import os
import re
import subprocess
import sys

import t2r

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_mode_keys_use_tf_estimator_strings():
  assert (t2r.ModeKeys.TRAIN, t2r.ModeKeys.EVAL,
          t2r.ModeKeys.PREDICT) == ('train', 'eval', 'infer')


def test_unknown_mode_is_rejected_with_the_choices():
  try:
    t2r.ModeKeys.validate('training')
  except ValueError as e:
    assert "'train'" in str(e) and "'infer'" in str(e)
  else:
    raise AssertionError('expected ValueError')


def _readme_commands():
  readme = open(os.path.join(REPO_ROOT, 'README.md')).read()
  return re.findall(r'```bash\n(.*?)\n```', readme, flags=re.S)[:2]


def test_ci_runs_exactly_the_readme_commands():
  install, test = _readme_commands()
  ci_lines = [
      line.strip()
      for line in open(os.path.join(REPO_ROOT, '.ci', 'run'))
      if line.strip() and not line.startswith('#')
  ]
  install_part = install.split(' && ')[2]
  assert install_part in ci_lines
  assert test in ci_lines


def test_tf_keras_works_beside_keras_3_without_env_flag():
  code = (
      'import os; assert "TF_USE_LEGACY_KERAS" not in os.environ\n'
      'import keras, tf_keras, tensorflow as tf\n'
      'import t2r.specs\n'
      'assert keras.__version__.startswith("3"), keras.__version__\n'
      'm = tf_keras.Sequential([tf_keras.layers.Dense(1, input_shape=(2,))])\n'
      'm.compile(optimizer="sgd", loss="mse")\n'
      'm.fit(tf.ones((4, 2)), tf.ones((4, 1)), verbose=0)\n'
      'k = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])\n'
      'assert k(tf.ones((1, 2))).shape == (1, 1)\n'
      'print("ok")\n')
  env = {k: v for k, v in os.environ.items() if k != 'TF_USE_LEGACY_KERAS'}
  result = subprocess.run([sys.executable, '-c', code], capture_output=True,
                          text=True, env=env, timeout=300)
  assert result.returncode == 0, result.stderr[-2000:]
  assert result.stdout.strip().endswith('ok')
