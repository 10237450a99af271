"""t2r: Tensor2Robot-style robot learning on TensorFlow 2 and tf-keras.

Submodules (import what you need; importing `t2r` alone stays light):
  t2r.specs        ExtendedTensorSpec, TensorSpecStruct and the structure ops.
  t2r.data         Spec-generated tf.data pipelines and record writers.
"""

from t2r.modes import ModeKeys
from t2r.version import __version__
