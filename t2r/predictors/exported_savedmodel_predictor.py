"""`ExportedSavedModelPredictor`: runs the newest t2r export, no model code.

A robot imports TensorFlow and `t2r.specs` only: the specs come from the
export's `assets.extra/t2r_assets.pbtxt`, the computation from the SavedModel.
`restore()` swaps in a newer export while `predict` calls are in flight: each
call runs on the model it started with, and the swap is a single reference
assignment once the new export is fully loaded.
"""

import concurrent.futures
import os
import threading
import time
from typing import Any, Dict, Optional

from absl import logging
import gin
import numpy as np
import tensorflow as tf

from t2r import specs
from t2r.predictors import export_dirs
from t2r.predictors.abstract_predictor import AbstractPredictor
from t2r.predictors.feature_feeder import FeatureFeeder

DEFAULT_SIGNATURE = 'serving_default'


class LoadedExport:
  """One loaded export: the SavedModel, its specs and provenance.

  Immutable once built, so `predict` can use it without a lock while a newer
  one is being loaded.

  Args:
    path: A complete export directory.
    version: Its version (the directory name; the global step).
  """

  def __init__(self, path: str, version: int):
    self.path = path
    self.version = version
    self.assets = specs.read_t2r_assets(path)
    self.feature_spec = specs.spec_structure_from_proto(
        self.assets.feature_spec)
    self.label_spec = (
        specs.spec_structure_from_proto(self.assets.label_spec)
        if self.assets.HasField('label_spec') else None)
    self.global_step = int(self.assets.global_step)
    self.saved_model = tf.saved_model.load(path)
    self._callers = {}

  def caller(self, signature_name: str):
    """Returns (signature function, FeatureFeeder) for a signature."""
    if signature_name not in self._callers:
      signatures = self.saved_model.signatures
      if signature_name not in signatures:
        raise ValueError(
            f'The export {self.path!r} has no signature {signature_name!r}; '
            f'it has {sorted(signatures)}.')
      function = signatures[signature_name]
      self._callers[signature_name] = (function,
                                       self._feeder_for(function))
    return self._callers[signature_name]

  def _feeder_for(self, function) -> FeatureFeeder:
    """Maps every signature input to the asset spec of the same name.

    Inputs that no spec names (e.g. serialized tf.Examples) are checked
    against the signature's own TensorSpec, keyed by the input name.
    """
    path_by_name = {
        specs.spec_name(spec, path): path
        for path, spec in self.feature_spec.items()
    }
    flat_spec, input_keys = specs.TensorSpecStruct(), {}
    for key, tensor_spec in function.structured_input_signature[1].items():
      path = path_by_name.get(tensor_spec.name)
      if path is None:
        path = key
        spec = specs.ExtendedTensorSpec(tensor_spec.shape[1:],
                                        tensor_spec.dtype, name=key)
      else:
        spec = self.feature_spec[path]
      flat_spec[path] = spec
      input_keys[path] = key
    return FeatureFeeder(flat_spec, input_keys)


@gin.configurable
class ExportedSavedModelPredictor(AbstractPredictor):
  """Predicts with the newest complete SavedModel export of a t2r model.

  Example:
    >>> predictor = ExportedSavedModelPredictor('/tmp/model/export',
    ...                                         timeout=60)
    >>> if not predictor.restore():
    ...   raise RuntimeError('No export appeared within 60 s.')
    >>> outputs = predictor.predict({'state': np.zeros(8, np.float32)})
    >>> predictor.restore()   # later: picks up a newer export, if any

  Args:
    export_dir: An export root holding version directories
      (`model_dir/export`), or one export directory.
    timeout: How long `restore` waits, in seconds, for a first export to
      appear when none is loaded yet.
    signature_name: The signature `predict` calls by default.
    async_restore: Default of `restore(is_async=...)`: load newer exports in
      a background thread instead of blocking the caller.
    poll_interval_secs: How often `restore` looks for a first export.

  Raises:
    ValueError: If `timeout` or `poll_interval_secs` is negative.
  """

  def __init__(self,
               export_dir: str,
               timeout: float = 600.0,
               signature_name: str = DEFAULT_SIGNATURE,
               async_restore: bool = False,
               poll_interval_secs: float = 1.0):
    if timeout < 0 or poll_interval_secs < 0:
      raise ValueError(
          f'timeout ({timeout}) and poll_interval_secs ({poll_interval_secs}) '
          'must be >= 0 seconds.')
    self._export_dir = export_dir
    self._timeout = float(timeout)
    self._signature_name = signature_name
    self._async_restore = bool(async_restore)
    self._poll_interval_secs = float(poll_interval_secs)
    self._loaded: Optional[LoadedExport] = None
    self._load_lock = threading.Lock()
    self._executor = None
    self._pending: Optional[concurrent.futures.Future] = None

  # -- Loading --------------------------------------------------------------

  def _newest(self):
    """(version, path) of the newest complete export, or None."""
    if export_dirs.is_complete_export(self._export_dir):
      name = os.path.basename(self._export_dir.rstrip('/'))
      version = int(name) if name.isdigit() else int(
          specs.read_t2r_assets(self._export_dir).global_step)
      return version, self._export_dir
    return export_dirs.latest_export(self._export_dir)

  def _load_newest(self, wait_secs: float) -> bool:
    """Loads the newest export if it is newer than the loaded one."""
    with self._load_lock:
      deadline = time.monotonic() + wait_secs
      while True:
        newest = self._newest()
        if newest is not None or time.monotonic() >= deadline:
          break
        time.sleep(min(self._poll_interval_secs,
                       max(0.0, deadline - time.monotonic())))
      if newest is None:
        logging.warning('No complete export under %s after %.1f s.',
                        self._export_dir, wait_secs)
        return False
      version, path = newest
      if self._loaded is not None and version <= self._loaded.version:
        return False
      try:
        loaded = LoadedExport(path, version)
      except (tf.errors.OpError, OSError):
        if tf.io.gfile.exists(path):
          raise
        # The trainer pruned this version while it was being loaded.
        logging.warning('Export %s disappeared while loading; keeping %s.',
                        path, self.model_path)
        return False
      self._loaded = loaded
      logging.info('Loaded export %s (global step %d).', path,
                   loaded.global_step)
      return True

  def restore(self, is_async: Optional[bool] = None) -> bool:
    """Loads the newest complete export if it is newer than the loaded one.

    With no model loaded yet, waits up to `timeout` seconds for a first
    export; later calls only look once.

    Args:
      is_async: Load in a background thread and return at once; the new
        export replaces the old one when it is fully loaded (see
        `wait_for_restore`). None uses the constructor's `async_restore`.

    Returns:
      Synchronous: True if a newer export is now in use. Asynchronous: True
      if a background load was started (False while one is still running).
    """
    if is_async is None:
      is_async = self._async_restore
    wait_secs = 0.0 if self._loaded is not None else self._timeout
    if not is_async:
      return self._load_newest(wait_secs)
    if self._pending is not None and not self._pending.done():
      return False
    if self._executor is None:
      self._executor = concurrent.futures.ThreadPoolExecutor(
          max_workers=1, thread_name_prefix='t2r-restore')
    self._pending = self._executor.submit(self._load_newest, wait_secs)
    return True

  def wait_for_restore(self, timeout: Optional[float] = None) -> bool:
    """Blocks until a background `restore` finishes; returns its result.

    Raises:
      The exception of the background load, if it failed.
      concurrent.futures.TimeoutError: If it did not finish in `timeout`.
    """
    if self._pending is None:
      return False
    return self._pending.result(timeout)

  def close(self):
    if self._executor is not None:
      self._executor.shutdown(wait=True)
      self._executor = None
    self._loaded = None

  # -- Predicting -----------------------------------------------------------

  def predict(self,
              features: Any,
              signature_name: Optional[str] = None) -> Dict[str, np.ndarray]:
    """Runs a signature of the loaded export on numpy features.

    Example:
      >>> outputs = predictor.predict({'state/image': image, 'state/pose': p})
      >>> outputs['action'].shape          # batch of one added
      (1, 2)

    Args:
      features: Numpy values keyed by spec path (a flat dict, a nested dict
        or a `TensorSpecStruct`). A feature without the batch dimension gets
        one; outputs always keep the batch dimension. Inputs a signature
        takes that are not specs (the serialized examples of
        `serving_tf_example`) are keyed by their input name.
      signature_name: The signature to run; defaults to the constructor's.

    Returns:
      The signature outputs as numpy arrays, keyed by output name.

    Raises:
      ValueError: If no model is loaded, the signature does not exist, or a
        feature is missing or has the wrong shape or dtype.
    """
    loaded = self._loaded
    if loaded is None:
      self.assert_is_loaded()  # Raises unless a load finished meanwhile.
      loaded = self._loaded
    function, feeder = loaded.caller(signature_name or self._signature_name)
    outputs = function(**feeder(features))
    return {name: value.numpy() for name, value in outputs.items()}

  def signature_feature_paths(self,
                              signature_name: Optional[str] = None) -> list:
    """The feature paths a signature of the loaded export takes."""
    self.assert_is_loaded()
    return self._loaded.caller(signature_name or self._signature_name)[1].paths

  # -- Properties -----------------------------------------------------------

  def get_feature_specification(self) -> specs.TensorSpecStruct:
    self.assert_is_loaded()
    return self._loaded.feature_spec

  def get_label_specification(self) -> Optional[specs.TensorSpecStruct]:
    self.assert_is_loaded()
    return self._loaded.label_spec

  @property
  def is_loaded(self) -> bool:
    return self._loaded is not None

  @property
  def loaded_export(self) -> Optional[LoadedExport]:
    """The loaded export (SavedModel, specs, assets), or None."""
    return self._loaded

  @property
  def model_version(self) -> int:
    loaded = self._loaded
    return -1 if loaded is None else loaded.version

  @property
  def global_step(self) -> int:
    loaded = self._loaded
    return -1 if loaded is None else loaded.global_step

  @property
  def model_path(self) -> Optional[str]:
    loaded = self._loaded
    return None if loaded is None else loaded.path
