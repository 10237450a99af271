"""`ExportedSavedModelPredictor`: runs the newest t2r export, no model code.

A robot imports TensorFlow and `t2r.specs` only: the specs come from the
export's `assets.extra/t2r_assets.pbtxt`, the computation from the SavedModel.

Swapping exports while `predict` calls are in flight: a newer export is
loaded and warmed up (its signatures called once, so TensorFlow optimizes
their graphs then rather than in the first real call) away from `predict`,
then swapped in by one reference assignment under a lock held only for that;
each `predict` call runs on the export it started with.
`refresh_interval_secs` does this in a background thread,
`restore(is_async=True)` once, a plain `restore()` in the calling thread.

A load is mostly Python, so in one process it competes with `predict` calls
in other threads for the GIL and the CPU. While it runs, the interpreter's
GIL switch interval is lowered (`LOAD_SWITCH_INTERVAL_SECS`; else a `predict`
call waits up to 5 ms each time it needs the GIL) and the loading thread
pauses while a `predict` call is in flight, for at most
`YIELD_MAX_WAIT_SECS` at a time (`_giving_way_to`). So predict latency
during swaps stays close to that without (`benchmarks/predict_swaps.py`); a
loop that calls `predict` back to back gets the new export later (one or
two seconds instead of a few hundred ms).

Damaged exports: an export that looks complete but does not load (an empty
or garbled `saved_model.pb`, unreadable assets) is skipped. The predictor
serves the newest export that loads, logs each broken one once, does not
retry it unless its `saved_model.pb` changes, and reports it in
`restore()`'s result and `skipped_exports`.
"""

import concurrent.futures
import contextlib
import os
import sys
import threading
import time
import weakref
from typing import Any, Dict, List, NamedTuple, Optional, Tuple, Union

from absl import logging
import gin
import numpy as np
import tensorflow as tf

from t2r import specs
from t2r.predictors import export_dirs
from t2r.predictors.abstract_predictor import AbstractPredictor
from t2r.predictors.feature_feeder import FeatureFeeder

DEFAULT_SIGNATURE = 'serving_default'
# The input of the serialized records of the default dataset key (see
# `t2r.export.default_export_generator.example_input_name`).
_DEFAULT_EXAMPLE_INPUT = 'input_example_tensor'
# The GIL switch interval while an export loads; None leaves it alone.
# `benchmarks/predict_swaps.py` (back-to-back predict, 2 cores): p99 during
# swaps / idle p99 2.0-2.4 at 0.5 ms with a 1 ms quantum, 1.56-1.61 at
# 0.05 ms with a 0.5 ms quantum (a swap then takes 1.3 s instead of 0.6 s).
LOAD_SWITCH_INTERVAL_SECS = 0.00005
# How a load gives way to predict calls (see `_giving_way_to`); a
# YIELD_MAX_WAIT_SECS of 0 turns that off (p99 ratio 4.3: the load's thread
# takes a core that the predict call's kernels wait for).
YIELD_MAX_WAIT_SECS = 0.005
YIELD_QUANTUM_SECS = 0.0005
# TensorFlow's messages for records that are not serialized protos (its
# parser's and t2r's wire-format guard's, `t2r.data.record_guard`).
_UNPARSABLE_RECORD_MESSAGES = ('Could not parse example input',
                               'is not a valid serialized')


class BrokenExportError(OSError, ValueError):
  """An export that looks complete (see `export_dirs`) but does not load.

  Both an OSError (what TensorFlow raises for a garbled `saved_model.pb`)
  and a ValueError (what it raises for an empty one), so `except` clauses
  written for either still catch it.

  Attributes:
    path: The export directory.
  """

  def __init__(self, path: str, message: str):
    super().__init__(message)
    self.path = path

  def __str__(self):
    return self.args[0]


class SkippedExport(NamedTuple):
  """An export the predictor skips because it does not load.

  Attributes:
    version: Its version (the directory name).
    path: The export directory.
    reason: Why it does not load (the `BrokenExportError` message).
  """
  version: int
  path: str
  reason: str


class RestoreResult:
  """What a `restore()` call did; true if a newer export is now in use.

  Truthiness is `restore()`'s contract (`if predictor.restore(): ...`); the
  attributes say which export is in use and which newer ones were skipped.

  Example:
    >>> result = predictor.restore()
    >>> bool(result), result.version, [s.version for s in result.skipped]
    (True, 1, [2])

  Attributes:
    restored: A newer export is in use than when the call began.
    version: The version in use after the call (-1 if none).
    path: The export in use after the call (None if none).
    skipped: The exports newer than the one in use that do not load, newest
      first.
  """

  __slots__ = ('restored', 'version', 'path', 'skipped')

  def __init__(self, restored: bool, version: int, path: Optional[str],
               skipped: Tuple[SkippedExport, ...] = ()):
    self.restored = bool(restored)
    self.version = version
    self.path = path
    self.skipped = tuple(skipped)

  def __bool__(self):
    return self.restored

  def __repr__(self):
    skipped = ', '.join(f'{s.version}: {s.reason}' for s in self.skipped)
    return (f'RestoreResult(restored={self.restored}, version={self.version}, '
            f'path={self.path!r}, skipped=[{skipped}])')


_switch_interval_lock = threading.Lock()
_switch_interval_users = 0
_saved_switch_interval = None


@contextlib.contextmanager
def _short_switch_interval():
  """Lowers the GIL switch interval while the block runs (nests)."""
  global _switch_interval_users, _saved_switch_interval
  if LOAD_SWITCH_INTERVAL_SECS is None:
    yield
    return
  with _switch_interval_lock:
    if _switch_interval_users == 0:
      _saved_switch_interval = sys.getswitchinterval()
      sys.setswitchinterval(
          min(_saved_switch_interval, LOAD_SWITCH_INTERVAL_SECS))
    _switch_interval_users += 1
  try:
    yield
  finally:
    with _switch_interval_lock:
      _switch_interval_users -= 1
      if _switch_interval_users == 0:
        sys.setswitchinterval(_saved_switch_interval)


@contextlib.contextmanager
def _giving_way_to(in_flight: Dict[int, bool]):
  """Makes the calling thread pause while `predict` calls are in flight.

  Loading an export is mostly Python, run in this thread: a profile hook
  (`sys.setprofile`, this thread only) checks at each function call and
  return whether a `predict` call is running (`in_flight` is not empty)
  and if so sleeps, releasing the GIL and the CPU, until it is done. So
  that a control loop calling `predict` back to back cannot starve the
  load, it pauses for at most `YIELD_MAX_WAIT_SECS` at a time, then works
  `YIELD_QUANTUM_SECS` without pausing. No hook is installed if the thread
  already has one (e.g. a profiler). Any profile hook makes CPython 3.11
  run this thread's Python about half as fast (a 175 ms load takes about
  380 ms without a single pause).
  """
  if YIELD_MAX_WAIT_SECS <= 0 or sys.getprofile() is not None:
    yield
    return
  monotonic, sleep = time.monotonic, time.sleep
  max_wait, quantum = YIELD_MAX_WAIT_SECS, YIELD_QUANTUM_SECS
  work_until = [0.0]

  def hook(frame, event, arg):
    del frame, event, arg
    if not in_flight:
      return
    now = monotonic()
    if now < work_until[0]:
      return
    deadline = now + max_wait
    while in_flight and now < deadline:
      sleep(0.0001)
      now = monotonic()
    if in_flight:
      work_until[0] = now + quantum

  sys.setprofile(hook)
  try:
    yield
  finally:
    sys.setprofile(None)


def _first_line(error: Exception) -> str:
  message = getattr(error, 'message', None) or str(error)
  lines = [line.strip() for line in message.splitlines() if line.strip()]
  # TensorFlow's graph errors start with 'Graph execution error:' and a
  # stack; the cause is the line before the node list.
  for line in lines:
    if not line.startswith(('Graph execution error', 'Detected at node',
                            '<stack traces', '[[', 'File ')):
      return line
  return lines[0] if lines else type(error).__name__


def _load_saved_model(path: str):
  """`tf.saved_model.load`, raising BrokenExportError for a damaged file."""
  saved_model_file = export_dirs.saved_model_file(path)
  if saved_model_file is None:
    raise BrokenExportError(path, f'The export {path!r} holds no '
                            'saved_model.pb.')
  if tf.io.gfile.stat(saved_model_file).length == 0:
    raise BrokenExportError(
        path, f'{saved_model_file!r} is empty (0 bytes), so the export '
        f'{path!r} cannot be loaded: it was damaged or only partly copied. '
        'Export that step again or delete the directory.')
  try:
    return tf.saved_model.load(path)
  except (OSError, ValueError, tf.errors.OpError) as e:
    if isinstance(e, OSError) or 'MetaGraph' in str(e):
      problem = (f'{saved_model_file!r} is corrupt: it does not parse as a '
                 'SavedModel')
    else:
      problem = f'The export {path!r} does not load'
    raise BrokenExportError(
        path, f'{problem} ({type(e).__name__}: {_first_line(e)}). Export that '
        'step again or delete the directory.') from e


class LoadedExport:
  """One loaded export: the SavedModel, its specs and provenance.

  Immutable once built (but for a cache of signature callers), so `predict`
  can use it without a lock while a newer one is being loaded.

  Args:
    path: A complete export directory.
    version: Its version (the directory name; the global step).

  Raises:
    BrokenExportError: If the SavedModel or its t2r assets do not load.
  """

  def __init__(self, path: str, version: int):
    self.path = path
    self.version = version
    try:
      self.assets = specs.read_t2r_assets(path)
      self.feature_spec = specs.spec_structure_from_proto(
          self.assets.feature_spec)
      self.label_spec = (
          specs.spec_structure_from_proto(self.assets.label_spec)
          if self.assets.HasField('label_spec') else None)
    except (OSError, ValueError, TypeError) as e:
      raise BrokenExportError(
          path, f'The t2r assets of the export {path!r} do not load '
          f'({type(e).__name__}: {e}). Export that step again or delete the '
          'directory.') from e
    self.global_step = int(self.assets.global_step)
    self.saved_model = _load_saved_model(path)
    self._callers = {}
    self._example_inputs = {}

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
                                       self._feeder_for(function,
                                                        signature_name))
    return self._callers[signature_name]

  def example_inputs(self, signature_name: str) -> List[str]:
    """The inputs of a signature that take serialized records."""
    self.caller(signature_name)
    return list(self._example_inputs[signature_name])

  def record_type(self, input_key: str) -> str:
    """'tf.train.SequenceExample' or 'tf.train.Example': an input's records."""
    dataset_key = '' if input_key == _DEFAULT_EXAMPLE_INPUT else input_key
    is_sequence = any(
        getattr(spec, 'is_sequence', False) and
        (getattr(spec, 'dataset_key', '') or '') == dataset_key
        for spec in self.feature_spec.values())
    return 'tf.train.SequenceExample' if is_sequence else 'tf.train.Example'

  def _feeder_for(self, function, signature_name: str) -> FeatureFeeder:
    """Maps every signature input to the asset spec of the same name.

    Inputs that no spec names (e.g. serialized tf.Examples) are checked
    against the signature's own TensorSpec, keyed by the input name.
    """
    path_by_name = {
        specs.spec_name(spec, path): path
        for path, spec in self.feature_spec.items()
    }
    flat_spec, input_keys = specs.TensorSpecStruct(), {}
    own_inputs, example_inputs = [], []
    for key, tensor_spec in function.structured_input_signature[1].items():
      path = path_by_name.get(tensor_spec.name)
      if path is None:
        path = key
        spec = specs.ExtendedTensorSpec(tensor_spec.shape[1:],
                                        tensor_spec.dtype, name=key)
        own_inputs.append(path)
        if tensor_spec.dtype == tf.string:
          example_inputs.append(key)
      else:
        spec = self.feature_spec[path]
      flat_spec[path] = spec
      input_keys[path] = key
    self._example_inputs[signature_name] = example_inputs
    return FeatureFeeder(flat_spec, input_keys, own_input_paths=own_inputs)


class _BrokenEntry(NamedTuple):
  skipped: SkippedExport
  file_stat: Tuple[int, int]  # saved_model.pb (length, mtime): retry on change
  error: BrokenExportError


def _file_stat(path: str) -> Tuple[int, int]:
  saved_model_file = export_dirs.saved_model_file(path)
  if saved_model_file is None:
    return (-1, -1)
  try:
    stat = tf.io.gfile.stat(saved_model_file)
  except tf.errors.NotFoundError:
    return (-1, -1)
  return (stat.length, stat.mtime_nsec)


def _refresh_loop(predictor_ref, stop: threading.Event, interval: float):
  """Polls for newer exports until `stop` or the predictor is collected.

  Holds the predictor only during a poll, so an unclosed one can be
  collected (its `__del__` stops this loop).
  """
  # pylint: disable=protected-access
  while not stop.wait(interval):
    predictor = predictor_ref()
    if predictor is None:
      return
    try:
      predictor._load_newest(0.0, quiet=True)
    except BrokenExportError:
      pass  # An explicit export directory that does not load; logged once.
    except Exception:  # pylint: disable=broad-except
      logging.exception('Looking for a newer export under %s failed; trying '
                        'again in %.1f s.', predictor._export_dir, interval)
    del predictor


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

  Or let a background thread pick up newer exports:
    >>> predictor = ExportedSavedModelPredictor(
    ...     '/tmp/model/export', refresh_interval_secs=10)

  Args:
    export_dir: An export root holding version directories
      (`model_dir/export`), or one export directory.
    timeout: How long `restore` waits, in seconds, for a first export that
      loads to appear when none is loaded yet.
    signature_name: The signature `predict` calls by default.
    async_restore: Default of `restore(is_async=...)`: load newer exports in
      a background thread instead of blocking the caller.
    poll_interval_secs: How often `restore` looks for a first export.
    refresh_interval_secs: If set, a background thread looks for a newer
      export this often and swaps it in once it is loaded and warmed up;
      `restore()` still works (and loads synchronously). `close()` stops it.

  Raises:
    ValueError: If `timeout`, `poll_interval_secs` or
      `refresh_interval_secs` is negative.
  """

  def __init__(self,
               export_dir: str,
               timeout: float = 600.0,
               signature_name: str = DEFAULT_SIGNATURE,
               async_restore: bool = False,
               poll_interval_secs: float = 1.0,
               refresh_interval_secs: Optional[float] = None):
    if timeout < 0 or poll_interval_secs < 0 or (
        refresh_interval_secs is not None and refresh_interval_secs <= 0):
      raise ValueError(
          f'timeout ({timeout}) and poll_interval_secs ({poll_interval_secs}) '
          f'must be >= 0 seconds, refresh_interval_secs '
          f'({refresh_interval_secs}) None or > 0 seconds.')
    self._export_dir = export_dir
    self._timeout = float(timeout)
    self._signature_name = signature_name
    self._async_restore = bool(async_restore)
    self._poll_interval_secs = float(poll_interval_secs)
    self._loaded: Optional[LoadedExport] = None
    self._load_lock = threading.Lock()   # One load at a time.
    self._swap_lock = threading.Lock()   # Held only to swap or close.
    self._broken: Dict[str, _BrokenEntry] = {}
    # The threads in `predict` now (thread id -> True): loads give way.
    self._in_flight: Dict[int, bool] = {}
    self._last_predict_thread: Optional[int] = None
    # The last inputs each signature was called with, to warm up the next
    # export with.
    self._recent_inputs: Dict[str, Dict[str, np.ndarray]] = {}
    self._executor = None
    self._pending: Optional[concurrent.futures.Future] = None
    self._refresh_stop = threading.Event()
    self._refresh_thread = None
    if refresh_interval_secs is not None:
      self._refresh_thread = threading.Thread(
          target=_refresh_loop,
          args=(weakref.ref(self), self._refresh_stop,
                float(refresh_interval_secs)),
          name='t2r-export-refresh', daemon=True)
      self._refresh_thread.start()

  # -- Loading --------------------------------------------------------------

  def _is_single_export(self) -> bool:
    return export_dirs.is_complete_export(self._export_dir)

  def _candidates(self) -> List[Tuple[int, str]]:
    """(version, path) of the complete exports, newest first."""
    if self._is_single_export():
      name = os.path.basename(self._export_dir.rstrip('/'))
      if name.isdigit():
        version = int(name)
      else:
        try:
          version = int(specs.read_t2r_assets(self._export_dir).global_step)
        except (OSError, ValueError) as e:
          raise BrokenExportError(
              self._export_dir, f'The t2r assets of the export '
              f'{self._export_dir!r} do not load ({e}).') from e
      return [(version, self._export_dir)]
    return export_dirs.list_exports(self._export_dir)[::-1]

  def _known_broken(self, path: str) -> Optional[_BrokenEntry]:
    entry = self._broken.get(path)
    if entry is not None and entry.file_stat != _file_stat(path):
      del self._broken[path]  # Rewritten: try it again.
      return None
    return entry

  def _mark_broken(self, version: int, path: str, error: BrokenExportError,
                   file_stat: Tuple[int, int]):
    self._broken[path] = _BrokenEntry(
        SkippedExport(version, path, str(error)), file_stat, error)
    logging.warning(
        'Skipping export %s (version %d), it does not load: %s The predictor '
        'serves the newest export that loads and retries this one only if '
        'its saved_model.pb changes.', path, version, error)

  def _skipped(self, candidates: List[Tuple[int, str]]
              ) -> Tuple[SkippedExport, ...]:
    floor = self.model_version
    return tuple(self._broken[path].skipped for version, path in candidates
                 if version > floor and path in self._broken)

  def _load_and_warm_up(self, version: int, path: str) -> LoadedExport:
    # Only a thread that others call predict in gives way: pausing costs
    # the load about twice its time (the profile hook slows Python down).
    others_predict = self._last_predict_thread not in (None,
                                                       threading.get_ident())
    with _short_switch_interval(), (_giving_way_to(self._in_flight)
                                    if others_predict else
                                    contextlib.nullcontext()):
      loaded = LoadedExport(path, version)
      self._warm_up(loaded)
    return loaded

  def _warm_up(self, loaded: LoadedExport):
    """Calls the signatures `predict` uses once, so the first real call is fast.

    With the inputs the signature last got, else (for the default signature)
    random ones from the specs. Best effort: a failing call is logged only.
    """
    for name in dict.fromkeys([self._signature_name, *self._recent_inputs]):
      if name not in loaded.saved_model.signatures:
        continue
      try:
        function, feeder = loaded.caller(name)
        inputs = self._recent_inputs.get(name)
        if inputs is None:
          if loaded.example_inputs(name) or any(
              spec.dtype == tf.string for spec in feeder.flat_spec.values()):
            continue  # No meaningful random records or strings.
          inputs = feeder(specs.make_random_numpy(feeder.flat_spec,
                                                  batch_size=1, seed=0))
        function(**inputs)
      except Exception as e:  # pylint: disable=broad-except
        logging.info('Warming up signature %r of %s failed (its first '
                     'predict call will be slower): %s', name, loaded.path,
                     _first_line(e))

  def _swap(self, loaded: LoadedExport) -> bool:
    with self._swap_lock:
      if self._loaded is not None and loaded.version <= self._loaded.version:
        return False
      self._loaded = loaded
    return True

  def _load_newer(self, candidates: List[Tuple[int, str]]) -> bool:
    """Loads the newest candidate newer than the loaded one that loads."""
    for version, path in candidates:
      if version <= self.model_version:
        break
      entry = self._known_broken(path)
      if entry is not None:
        if path == self._export_dir:
          raise entry.error
        continue
      file_stat = _file_stat(path)
      try:
        loaded = self._load_and_warm_up(version, path)
      except BrokenExportError as e:
        if not tf.io.gfile.exists(path):
          # The trainer pruned this version while it was being loaded.
          logging.warning('Export %s disappeared while loading.', path)
          continue
        self._mark_broken(version, path, e, file_stat)
        if path == self._export_dir:
          raise
        continue
      if not self._swap(loaded):
        return False
      skipped = self._skipped(candidates)
      if skipped:
        logging.info('Loaded export %s (global step %d); skipped the newer '
                     'broken exports %s.', path, loaded.global_step,
                     [s.path for s in skipped])
      else:
        logging.info('Loaded export %s (global step %d).', path,
                     loaded.global_step)
      return True
    return False

  def _load_newest(self, wait_secs: float,
                   quiet: bool = False) -> RestoreResult:
    """Loads the newest export that loads, if newer than the loaded one.

    Args:
      wait_secs: How long to wait for one while none is loaded.
      quiet: Do not warn that none is there (background polls).
    """
    start_version = self.model_version
    with self._load_lock:
      deadline = time.monotonic() + wait_secs
      while True:
        candidates = self._candidates()
        for path in set(self._broken) - {p for _, p in candidates}:
          del self._broken[path]  # Deleted since.
        self._load_newer(candidates)
        if self._loaded is not None or time.monotonic() >= deadline:
          break
        time.sleep(min(self._poll_interval_secs,
                       max(0.0, deadline - time.monotonic())))
      if self._loaded is None and not quiet:
        if wait_secs > 0 or not candidates:
          logging.warning(
              'No export that loads under %s after %.1f s%s.',
              self._export_dir, wait_secs,
              f' (skipped {sorted(self._broken)})' if self._broken else '')
      loaded = self._loaded
      return RestoreResult(
          restored=self.model_version > start_version,
          version=-1 if loaded is None else loaded.version,
          path=None if loaded is None else loaded.path,
          skipped=self._skipped(candidates))

  def restore(self, is_async: Optional[bool] = None
              ) -> Union[RestoreResult, bool]:
    """Loads the newest export that loads, if newer than the loaded one.

    With no model loaded yet, waits up to `timeout` seconds for a first
    export; later calls only look once. Exports that look complete but do
    not load are skipped (logged once each, see the module docstring); an
    older export that loads is used instead.

    Example:
      >>> result = predictor.restore()
      >>> if result.skipped:
      ...   print('Serving', result.path, 'not the broken', result.skipped)

    Args:
      is_async: Load in a background thread and return at once; the new
        export replaces the old one when it is loaded and warmed up (see
        `wait_for_restore`). None uses the constructor's `async_restore`.

    Returns:
      Synchronous: a `RestoreResult`, true if a newer export is now in use
      than when the call began. Asynchronous: True if a background load was
      started (False while one is still running).

    Raises:
      BrokenExportError: If `export_dir` is one export directory (not a root
        of versions) and it does not load: there is nothing to fall back to.
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

  def wait_for_restore(self, timeout: Optional[float] = None
                      ) -> RestoreResult:
    """Blocks until a background `restore` finishes; returns its result.

    Raises:
      The exception of the background load, if it failed.
      concurrent.futures.TimeoutError: If it did not finish in `timeout`.
    """
    if self._pending is None:
      return RestoreResult(False, self.model_version, self.model_path,
                           self.skipped_exports)
    return self._pending.result(timeout)

  def close(self):
    """Stops background loading and releases the loaded export.

    A later `restore()` loads again (without background refresh).
    """
    self._refresh_stop.set()
    if self._refresh_thread is not None:
      if self._refresh_thread is not threading.current_thread():
        self._refresh_thread.join()
      self._refresh_thread = None
    if self._executor is not None:
      self._executor.shutdown(wait=True)
      self._executor = None
    with self._swap_lock:
      self._loaded = None

  def __del__(self):
    stop = getattr(self, '_refresh_stop', None)  # None if __init__ raised.
    if stop is not None:
      stop.set()

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
      ValueError: If no model is loaded, the signature does not exist, a
        feature is missing or has the wrong shape or dtype, the features
        have different batch sizes, or a serialized record is not a
        `tf.train.Example` of the export's specs (the message names the
        record's index in the batch).
    """
    thread = threading.get_ident()
    self._in_flight[thread] = True
    self._last_predict_thread = thread
    try:
      loaded = self._loaded
      if loaded is None:
        self.assert_is_loaded()  # Raises unless a load finished meanwhile.
        loaded = self._loaded
      name = signature_name or self._signature_name
      function, feeder = loaded.caller(name)
      inputs = feeder(features)
      try:
        outputs = function(**inputs)
      except tf.errors.InvalidArgumentError as e:
        explained = _explain_failure(loaded, name, function, feeder, inputs,
                                     e)
        if explained is None:
          raise
        raise explained from e
      self._recent_inputs[name] = inputs
      return {key: value.numpy() for key, value in outputs.items()}
    finally:
      self._in_flight.pop(thread, None)

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
  def skipped_exports(self) -> Tuple[SkippedExport, ...]:
    """Exports newer than the loaded one that do not load, newest first."""
    floor = self.model_version
    return tuple(sorted(
        (entry.skipped for entry in list(self._broken.values())
         if entry.skipped.version > floor),
        key=lambda skipped: -skipped.version))

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


def _explain_failure(loaded: LoadedExport, signature_name: str, function,
                     feeder: FeatureFeeder, inputs: Dict[str, np.ndarray],
                     error: tf.errors.InvalidArgumentError
                    ) -> Optional[ValueError]:
  """A clear error for a signature call that TensorFlow rejected, or None.

  Runs only after a failure: finds the first bad serialized record by
  calling the signature on ever shorter prefixes of the batch.
  """
  batch_sizes = feeder.batch_size_problem(inputs)
  if batch_sizes is not None:
    return ValueError(
        f'Signature {signature_name!r} of {loaded.path!r} rejected features '
        f'with different batch sizes: {batch_sizes} ({_first_line(error)}). '
        'Pass the same number of examples for every feature.')
  example_inputs = loaded.example_inputs(signature_name)
  if not example_inputs:
    return None

  def fails(count: int) -> Optional[tf.errors.InvalidArgumentError]:
    try:
      function(**{key: value[:count] for key, value in inputs.items()})
    except tf.errors.InvalidArgumentError as e:
      return e
    return None

  # The shortest failing prefix ends with the first bad record.
  passing, failing = 0, _batch_size(inputs)
  while failing - passing > 1:
    middle = (passing + failing) // 2
    if fails(middle):
      failing = middle
    else:
      passing = middle
  index = failing - 1
  single = {key: value[index:index + 1] for key, value in inputs.items()}
  try:
    function(**single)
    cause = error
  except tf.errors.InvalidArgumentError as e:
    cause = e
  records = ', '.join(
      f'{key!r} ({len(bytes(inputs[key][index]))} bytes: '
      f'{bytes(inputs[key][index])[:24]!r}'
      f'{"..." if len(bytes(inputs[key][index])) > 24 else ""})'
      for key in example_inputs)
  record_type = ' or '.join(sorted({loaded.record_type(key)
                                    for key in example_inputs}))
  where = (f'Record {index} of the batch of input {records} of signature '
           f'{signature_name!r}')
  message = getattr(cause, 'message', str(cause))
  if any(text in message for text in _UNPARSABLE_RECORD_MESSAGES):
    return ValueError(
        f'{where} is not a serialized {record_type}: TensorFlow cannot parse '
        f'it. Pass {record_type.split(".")[-1]} protos serialized with '
        'SerializeToString() (e.g. t2r.data.encode_example).')
  return ValueError(
      f'{where} does not match the specs of the export {loaded.path!r}: '
      f'{_first_line(cause)}.')


def _batch_size(inputs: Dict[str, np.ndarray]) -> int:
  """The batch size of inputs that passed `FeatureFeeder` (all equal)."""
  return max(value.shape[0] for value in inputs.values())
