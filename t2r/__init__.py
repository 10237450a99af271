"""t2r: Tensor2Robot-style robot learning on TensorFlow 2 and tf-keras.

Submodules (import what you need; importing `t2r` alone stays light):
  t2r.specs        ExtendedTensorSpec, TensorSpecStruct and the structure ops.
  t2r.data         Spec-generated parsing, record writing, input generators.
  t2r.layers       Reusable tf-keras layers (SpatialSoftmax, FiLM, FiLMResNet, MDNHead, WaypointHead, Grasping44).
  t2r.models       T2RModel, Regression/Classification/CriticModel, optimizers.
  t2r.train        train_eval_model, callbacks, tf.distribute strategies.
  t2r.export       SavedModel export generators and training-time export hooks.
  t2r.predictors   ExportedSavedModelPredictor (TensorFlow + specs only).
  t2r.policies     Policy, RegressionPolicy, CEMPolicy, exploration wrappers.
"""

from t2r.modes import ModeKeys
from t2r.version import __version__
