"""`GrowingReplayInputGenerator`: reads a replay that grows while it trains.

Off-policy RL: collector processes keep writing replay TFRecord files
(`TFRecordReplayWriter`, which renames each file into place when it is
complete) into a directory that the trainer reads. The pipeline lists the
files again at every pass over them, so files written after training started
are read without restarting anything:

  pass 0, 1, 2, ... -> list the complete files (in-graph) -> the newest N
  (or all) -> shard, shuffle (TRAIN) -> parallel interleave of TFRecord
  readers -> shuffle records -> [mix with an offline dataset] -> batch ->
  parse + decode (one batched parse per batch) -> preprocess(mode)

Listing happens inside the tf.data graph (`tf.io.matching_files`), like
everything else: no Python runs per pass or per record, so the pipeline is
as fast as `DefaultRecordInputGenerator`'s and a failing job always exits
(see `corrupt_record_log`). Reading, parsing, decoding, the corrupt-record
checks and their error messages are `DefaultRecordInputGenerator`'s.

"Newest" is the order of file *names* (their base names, bytewise), not of
modification times: collectors on other machines share no clock, copies and
some object stores reset times, and TensorFlow has no op that reads them. The
name is what the writer decides: `replay_file_name` puts the policy's global
step first, zero-padded, so the newest files are those collected by the
newest policy; see `replay_file_name` for the full order.
"""

import datetime
import os
import random
import re
import time
from typing import List, Optional, Sequence, Set, Tuple, Union

from absl import logging
import gin
import tensorflow as tf

from t2r.data import file_patterns as file_patterns_lib
from t2r.data import record_input_generator
from t2r.data import record_reading
from t2r.modes import ModeKeys

# Global steps below 10**12 keep their digit count, so names sort by step.
_STEP_DIGITS = 12
_TAG = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._-]*$')
_GLOB_CHARACTERS = frozenset('*?[')
# How often create_dataset lists the files while it waits for the first one.
_POLL_SECS = 1.0
# Bytes per int64 sort key of the in-graph name sort (56 bits: never
# negative).
_KEY_BYTES = 7
# Name fingerprints of the in-graph file size cache; the value itself is the
# sentinel that ends the sorted cache.
_FINGERPRINT_RANGE = 2**62


def replay_file_name(global_step: int,
                     tag: str,
                     timestamp: Optional[float] = None,
                     pid: Optional[int] = None,
                     extension: str = '.tfrecord') -> str:
  """A replay file's base name, `gs<step>_<tag>_<time>_<pid>`, sorting by age.

  Collectors name their files with it (in `root_dir/policy_<tag>/`), so
  that `GrowingReplayInputGenerator(newest_files=N)` keeps the newest. Names
  sort bytewise by the global step of the policy that collected them (12
  digits, zero-padded, so 'gs000000000010' follows 'gs000000000009'), then
  by tag, then by the UTC time of writing (microseconds), then by process
  id. Within one global step, files of different tags are ordered by tag,
  not by time: the window keeps the data of the newest policies, which is
  what a FIFO replay for off-policy learning wants; use one tag if files of
  one step must leave the window strictly in the order they were written.

  `TFRecordReplayWriter` with `max_records_per_file` adds '-00000',
  '-00001', ... after the name's stem, which keeps the order.

  Example:
    >>> replay_file_name(1200, 'collect', timestamp=0.0, pid=42)
    'gs000000001200_collect_19700101T000000000000Z_42.tfrecord'
    >>> path = os.path.join(root_dir, 'policy_collect',
    ...                     replay_file_name(global_step, 'collect'))

  Args:
    global_step: The global step of the policy (its export) that collected
      the records; a non-negative int below 10**12.
    tag: Names the collector (letters, digits, '.', '_' and '-'; it starts
      with a letter or digit).
    timestamp: Seconds since the epoch (`time.time()`); None: now.
    pid: The writing process's id; None: this process's.
    extension: The name's ending, e.g. '.tfrecord' or '.tfrecord.gz'.

  Returns:
    The base name, e.g.
    'gs000000001200_collect_20250102T030405123456Z_4242.tfrecord'.

  Raises:
    ValueError: For a step, tag, pid or extension that breaks the order or
      the name.
    TypeError: For a timestamp that is not a number.
  """
  if (isinstance(global_step, bool) or not isinstance(global_step, int) or
      not 0 <= global_step < 10**_STEP_DIGITS):
    raise ValueError(
        'replay_file_name: global_step must be an int in [0, '
        f'10**{_STEP_DIGITS}), got {global_step!r}.')
  if not isinstance(tag, str) or not _TAG.match(tag):
    raise ValueError(
        f'replay_file_name: tag must be letters, digits, ".", "_" and "-", '
        f"starting with a letter or digit (e.g. 'collect_0'), got {tag!r}.")
  if timestamp is None:
    timestamp = time.time()
  if isinstance(timestamp, bool) or not isinstance(timestamp, (int, float)):
    raise TypeError(
        'replay_file_name: timestamp must be seconds since the epoch (a '
        f'number, e.g. time.time()) or None, got {timestamp!r}.')
  if pid is None:
    pid = os.getpid()
  if isinstance(pid, bool) or not isinstance(pid, int) or pid < 0:
    raise ValueError(
        f'replay_file_name: pid must be a non-negative int, got {pid!r}.')
  if not isinstance(extension, str) or not re.match(r'^\.[^/]*$', extension):
    raise ValueError(
        'replay_file_name: extension must start with "." and hold no "/", '
        f"e.g. '.tfrecord', got {extension!r}.")
  written = datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc)
  return (f'gs{global_step:0{_STEP_DIGITS}d}_{tag}_'
          f'{written.strftime("%Y%m%dT%H%M%S%fZ")}_{pid}{extension}')


def _name_order(names: tf.Tensor) -> tf.Tensor:
  """The indices that sort a 1-D string tensor bytewise (a stable sort).

  TensorFlow cannot sort strings, so this is a radix sort: the names, padded
  with zero bytes to a common length, are cut into 7-byte int64 keys, and
  one stable `argsort` per key, from the last to the first, orders them.
  """
  count = tf.size(names)
  longest = tf.reduce_max(tf.concat([tf.strings.length(names), [1]], 0))
  num_keys = (longest + _KEY_BYTES - 1) // _KEY_BYTES
  codes = tf.io.decode_raw(names, tf.uint8,
                           fixed_length=num_keys * _KEY_BYTES)
  codes = tf.reshape(tf.cast(codes, tf.int64), [count, num_keys, _KEY_BYTES])
  place_values = tf.constant(
      [256**(_KEY_BYTES - 1 - i) for i in range(_KEY_BYTES)], tf.int64)
  keys = tf.reduce_sum(codes * place_values, axis=2)

  def sort_by(column, order):
    ranks = tf.argsort(tf.gather(keys[:, column], order), stable=True)
    return column - 1, tf.gather(order, ranks)

  _, order = tf.while_loop(lambda column, _: column >= 0, sort_by,
                           (num_keys - 1, tf.range(count)))
  return order


def list_complete_files(patterns: Union[Sequence[str], tf.Tensor]) -> tf.Tensor:
  """The files matching the globs, oldest first, temporary files left out.

  Runs eagerly or inside a tf.data / tf.function graph (it is TensorFlow
  ops only: `tf.io.matching_files`, so any `tf.io.gfile` filesystem). Files
  whose base name starts with '.' are left out, whatever the glob:
  `TFRecordReplayWriter` writes to '.<final name>.tmp-<hex>' and renames
  the file when it is complete, and `*` matches a leading '.'.

  Example:
    >>> list_complete_files(['/replay/policy_*/*.tfrecord']).numpy()
    array([b'/replay/policy_b/gs000000000100_b_...tfrecord',
           b'/replay/policy_a/gs000000000200_a_...tfrecord'], dtype=object)

  Args:
    patterns: Globs (no 'tfrecord:' prefix, no commas), or a 1-D string
      tensor of them. Inside a graph, pass a tensor that is not a constant
      (e.g. from the dataset's elements): grappler may fold a listing of
      constant globs into a constant, which then never changes.

  Returns:
    A 1-D string tensor of paths without duplicates, sorted bytewise by
    base name (ties: by path), i.e. oldest first for `replay_file_name`
    names.
  """
  if not isinstance(patterns, tf.Tensor):
    patterns = tf.constant(list(patterns), tf.string)
  names, _ = tf.unique(tf.io.matching_files(patterns))
  base_names = tf.strings.regex_replace(names, r'^.*/', '')
  names = tf.boolean_mask(names, tf.strings.substr(base_names, 0, 1) != '.')
  base_names = tf.strings.regex_replace(names, r'^.*/', '')
  # matching_files sorts by path, so equal base names stay in path order.
  return tf.gather(names, _name_order(base_names))


def _fingerprints(names: tf.Tensor) -> tf.Tensor:
  return tf.strings.to_hash_bucket_fast(names, _FINGERPRINT_RANGE)


def _file_size(name: tf.Tensor) -> tf.Tensor:
  # TensorFlow has no stat op: the file is read once to learn its size.
  return tf.cast(tf.strings.length(tf.io.read_file(name)), tf.int64)


def _size_cache(names: tf.Tensor, sizes: tf.Tensor):
  """(names, fingerprints, sizes) sorted by fingerprint, with a sentinel."""
  order = tf.argsort(_fingerprints(names))
  return (tf.concat([tf.gather(names, order), ['']], 0),
          tf.concat([tf.gather(_fingerprints(names), order),
                     [_FINGERPRINT_RANGE]], 0),
          tf.concat([tf.gather(sizes, order),
                     tf.constant([-1], tf.int64)], 0))


def _cached_sizes(names: tf.Tensor, cache) -> Tuple[tf.Tensor, tuple]:
  """The files' sizes: from the cache, or (new files) read once.

  Replay files never change once they have their final name, so a size,
  once known, stays right.

  Returns:
    `(sizes, cache)`: the sizes, and the cache of these files.
  """
  cached_names, cached_fingerprints, cached_sizes = cache
  fingerprints = _fingerprints(names)
  # The sentinel (larger than any fingerprint) keeps every index in range.
  at = tf.searchsorted(cached_fingerprints, fingerprints)
  known = tf.logical_and(
      tf.equal(tf.gather(cached_fingerprints, at), fingerprints),
      tf.equal(tf.gather(cached_names, at), names))
  new = tf.where(tf.logical_not(known))[:, 0]
  new_sizes = tf.map_fn(_file_size, tf.gather(names, new),
                        fn_output_signature=tf.int64)
  sizes = tf.tensor_scatter_nd_update(
      tf.gather(cached_sizes, at), new[:, None], new_sizes)
  return sizes, _size_cache(names, sizes)


@gin.configurable
class GrowingReplayInputGenerator(
    record_input_generator.DefaultRecordInputGenerator):
  """Reads replay files that collectors keep writing, while training runs.

  Every pass over the data lists the files again, inside the tf.data graph,
  so a file that is completed (renamed into place by `TFRecordReplayWriter`)
  after the trainer started is read in the next pass of the same iterator.
  With `newest_files=N` each pass reads only the N newest files (a FIFO
  replay); "newest" is by base name, see `replay_file_name`. Temporary files
  (base names starting with '.') are never read, whatever the pattern.

  Example:
    >>> generator = GrowingReplayInputGenerator(
    ...     file_patterns='/replay/policy_*/*.tfrecord', newest_files=100,
    ...     offline_file_patterns='/data/demos-*', offline_weight=0.5,
    ...     batch_size=32, seed=1)
    >>> generator.set_specification_from_model(model, ModeKeys.TRAIN)
    >>> dataset = generator.create_dataset(ModeKeys.TRAIN)

  Gin:
    train_eval_model.input_generator_train = @GrowingReplayInputGenerator()
    GrowingReplayInputGenerator.file_patterns = '/replay/policy_*/'
    GrowingReplayInputGenerator.newest_files = 100

  Waiting: `create_dataset` lists the files (every second) until a complete
  file holds a record, for up to `wait_for_files_secs`; its first record
  decides which optional specs the records hold (as in
  `DefaultRecordInputGenerator`). If none does in time it fails with a
  ValueError naming the pattern; with `wait_for_files_secs=0` it fails at
  once. Training therefore starts as soon as the first collector completed
  a file.

  Order and seeds: in TRAIN, each pass shuffles its files (seeded by `seed`
  and the pass) and records go through a shuffle buffer (seeded by `seed`);
  EVAL and PREDICT read each pass oldest file first. With a seed the order
  is the same on every run over the same files; which files a pass lists
  depends on when the collectors completed them.

  Freshness and cost: a pass lists the files once (one listing call per
  glob; on an object store a round trip, which bounds the pass rate while
  the replay holds only a few small files). A new file's records enter the
  TRAIN shuffle buffer as they are read, so with a buffer of B records they
  reach the batches after about B records; the buffer mixes records of
  consecutive passes, so a small replay's records can repeat within it.

  Input pipelines (`input_context`): a pass with at least as many files as
  pipelines gives each pipeline every P-th file of its sorted listing;
  otherwise every pipeline reads all files and keeps every P-th record.
  Pipelines list at their own times, so at a moment of growth a file can be
  read by two of them or none in one pass.

  Limits: the files must not change once they have their final name (the
  writer's default), since file sizes are cached to check that each file
  was read completely (for uncompressed files a new file is read once more
  in full to learn its size: TensorFlow has no stat op, and replay files are
  small). A file deleted while it is listed fails the read with
  `NotFoundError`: delete only files well outside the window. The pattern
  must match files only (`/replay/*` with `policy_*` subdirectories would
  match the directories: use '/replay/policy_*/'). All replay files share
  one compression, detected from the first file unless given.

  Args:
    file_patterns: Comma-separated globs (optionally 'tfrecord:'-prefixed)
      of the replay files. An entry that ends in '/', or names an existing
      directory when `create_dataset` is called, stands for the files in
      that directory: 'dir/' reads 'dir/*', '/replay/policy_*/' the files of
      every collector directory.
    newest_files: Each pass reads only the newest this many files; None
      reads all.
    wait_for_files_secs: How long `create_dataset` waits for a complete file
      holding a record; 0 fails at once; None waits forever.
    offline_file_patterns: A fixed dataset (comma-separated globs, listed
      once) to mix with the replay, e.g. demonstrations; None: replay only.
    offline_weight: The probability that a record comes from the offline
      dataset (the replay gets the rest); only with `offline_file_patterns`.
    num_passes: Passes over the (re-listed) replay files; None repeats
      forever. Not with an offline dataset (it repeats forever).
    batch_size: Examples per batch (global batch size under a strategy).
    shuffle_buffer_size: Records in the TRAIN shuffle buffer (of the replay,
      and of the offline dataset).
    drop_remainder: Drop a last partial batch. None: drop it for an endless
      stream (static batch dimension), keep it for a finite `num_passes`.
    seed: Seed of the file, record and mixing shuffles; also makes the
      order deterministic. `train_eval_model(seed=...)` sets it if unset.
    cycle_length: Files read concurrently; None lets tf.data decide (the
      number of CPUs).
    compression_type: 'GZIP', 'ZLIB', '' (none) or None (detect GZIP from
      the first replay file's magic bytes).
    read_buffer_size_bytes: Read buffer per file; None uses TensorFlow's.
    skip_corrupt_records: Skip (and log, see `skipped_records`) records that
      cannot be read or parsed instead of failing, as in
      `DefaultRecordInputGenerator`.

  Raises:
    ValueError: For invalid arguments (a pattern that is not a non-empty
      string or has an unknown format prefix, a non-positive
      `newest_files`, a negative wait, an `offline_weight` outside [0, 1],
      `num_passes` with an offline dataset); from `create_dataset`, when no
      complete file holds a record within `wait_for_files_secs`.
    TypeError: For a `file_patterns` that is not a string.
  """

  def __init__(self,
               file_patterns: str,
               newest_files: Optional[int] = None,
               wait_for_files_secs: Optional[float] = 600.0,
               offline_file_patterns: Optional[str] = None,
               offline_weight: float = 0.5,
               num_passes: Optional[int] = None,
               batch_size: int = 32,
               shuffle_buffer_size: int = 500,
               drop_remainder: Optional[bool] = None,
               seed: Optional[int] = None,
               cycle_length: Optional[int] = None,
               compression_type: Optional[str] = None,
               read_buffer_size_bytes: Optional[int] = None,
               skip_corrupt_records: bool = False):
    self._patterns = _parse_patterns('file_patterns', file_patterns)
    if offline_file_patterns is not None:
      _parse_patterns('offline_file_patterns', offline_file_patterns)
    for name, value in (('newest_files', newest_files),
                        ('num_passes', num_passes)):
      if value is not None and (isinstance(value, bool) or
                                not isinstance(value, int) or value <= 0):
        raise ValueError(
            f'GrowingReplayInputGenerator: {name} must be a positive int or '
            f'None, got {value!r}.')
    if wait_for_files_secs is not None and (
        isinstance(wait_for_files_secs, bool) or
        not isinstance(wait_for_files_secs, (int, float)) or
        wait_for_files_secs < 0):
      raise ValueError(
          'GrowingReplayInputGenerator: wait_for_files_secs must be a '
          'number of seconds >= 0 (0: fail at once when there is no file) or '
          f'None (wait forever), got {wait_for_files_secs!r}.')
    if isinstance(offline_weight, bool) or not isinstance(
        offline_weight, (int, float)) or not 0 <= offline_weight <= 1:
      raise ValueError(
          'GrowingReplayInputGenerator: offline_weight must be a number in '
          '[0, 1] (the fraction of records from offline_file_patterns), got '
          f'{offline_weight!r}.')
    if offline_file_patterns is not None and num_passes is not None:
      raise ValueError(
          'GrowingReplayInputGenerator: the offline dataset repeats forever, '
          f'so num_passes={num_passes!r} cannot end the stream; pass '
          'num_passes=None with offline_file_patterns.')
    super().__init__(
        file_patterns=file_patterns, batch_size=batch_size,
        shuffle_buffer_size=shuffle_buffer_size, num_epochs=None,
        drop_remainder=drop_remainder, seed=seed, cycle_length=cycle_length,
        compression_type=compression_type,
        read_buffer_size_bytes=read_buffer_size_bytes,
        skip_corrupt_records=skip_corrupt_records)
    self._newest_files = newest_files
    self._wait_for_files_secs = wait_for_files_secs
    self._offline_file_patterns = offline_file_patterns
    self._offline_weight = float(offline_weight)
    self._num_passes = num_passes

  def data_files(self) -> List[str]:
    """The complete replay files (all, not only the newest window) and the
    offline files that the patterns match now, sorted."""
    names = {name.decode() for name in list_complete_files(
        _with_directories(self._patterns)).numpy()}
    if self._offline_file_patterns is not None:
      _, offline = file_patterns_lib.get_data_format_and_filenames(
          self._offline_file_patterns)
      names.update(offline)
    return sorted(names)

  def _create_dataset(self, mode, batch_size, input_context):
    patterns = _with_directories(self._patterns)
    files, compression, present = self._wait_for_files(patterns)
    records = self._replay_records(patterns, files, compression, mode,
                                   input_context)
    endless = self._num_passes is None
    if self._offline_file_patterns is not None:
      _, offline_files = file_patterns_lib.get_data_format_and_filenames(
          self._offline_file_patterns)
      offline, offline_present = self._records({None: offline_files}, mode,
                                               input_context)
      if offline_present != present:
        raise ValueError(
            'GrowingReplayInputGenerator: the replay records '
            f'({self._file_patterns!r}) hold the optional specs '
            f'{sorted(present)} but the offline records '
            f'({self._offline_file_patterns!r}) hold {sorted(offline_present)}'
            '; one parse function reads both, so write the same optional '
            'features to both.')
      records = tf.data.Dataset.sample_from_datasets(
          [records, offline.repeat()],
          weights=[1.0 - self._offline_weight, self._offline_weight],
          seed=self._seed)
    drop_remainder = self._drop_remainder
    if drop_remainder is None:
      drop_remainder = endless
    return self._parse(
        records.batch(batch_size, drop_remainder=drop_remainder), present,
        mode)

  def _window(self, files: tf.Tensor) -> tf.Tensor:
    if self._newest_files is None:
      return files
    return files[tf.maximum(tf.size(files) - self._newest_files, 0):]

  def _wait_for_files(self, patterns: List[str]) -> Tuple[List[str], str,
                                                           Set[str]]:
    """Lists the files until one holds a record (or the wait times out).

    Returns:
      `(files, compression_type, present)`: the newest files (oldest
      first), their compression type and the optional specs they hold.

    Raises:
      ValueError: When no complete file holds a record in time; when the
        first record does not parse.
    """
    waited = self._wait_for_files_secs
    deadline = None if waited is None else time.monotonic() + waited
    logged = False
    while True:
      files = [name.decode() for name in
               self._window(list_complete_files(patterns)).numpy()]
      if files:
        compression = (self._compression_type
                       if self._compression_type is not None else
                       file_patterns_lib.detect_compression_type(files[0]))
        try:
          return files, compression, self._present_optional_names(
              {None: files}, {None: compression})
        except record_input_generator.NoRecordsError:
          pass  # Only empty files so far: wait for records.
      if deadline is not None and time.monotonic() >= deadline:
        found = (f'{len(files)} complete file(s) match, but none holds a '
                 'record' if files else 'no complete file matches')
        within = ('waiting is off (wait_for_files_secs=0)' if not waited else
                  f'after waiting wait_for_files_secs={waited:g}')
        raise ValueError(
            f'GrowingReplayInputGenerator: {found} the replay file pattern '
            f'{self._file_patterns!r} ({within}; temporary files, whose '
            'names start with ".", do not count). Start the collectors that '
            'write there, check the pattern, or raise wait_for_files_secs.')
      if not logged:
        logging.info(
            'Waiting for replay files matching %r (%s).', self._file_patterns,
            'forever' if waited is None else f'up to {waited:g} s')
        logged = True
      time.sleep(_POLL_SECS if deadline is None else
                 max(0.0, min(_POLL_SECS, deadline - time.monotonic())))

  def _replay_records(
      self, patterns: List[str], files: List[str], compression: str,
      mode: str, input_context: Optional[tf.distribute.InputContext]
  ) -> tf.data.Dataset:
    """Endless (or `num_passes`) (record, where) pairs, re-listing each pass.

    Args:
      patterns: The globs to list.
      files: The files found by `_wait_for_files`; their sizes seed the size
        cache (one parallel stat each, so a large replay is not read twice
        at the first pass).
      compression: The files' compression type.
      mode: A `ModeKeys` value.
      input_context: The distribution input context, or None.
    """
    is_train = mode == ModeKeys.TRAIN
    deterministic = self._is_deterministic(mode)
    shuffle_seed = (self._seed if self._seed is not None else
                    random.SystemRandom().randrange(2**31))
    num_pipelines, pipeline = 1, 0
    if input_context is not None:
      num_pipelines = input_context.num_input_pipelines
      pipeline = input_context.input_pipeline_id
    found_at_start = len(files)
    initial_cache = _size_cache(
        tf.constant(files, tf.string),
        tf.constant(record_reading.file_sizes(files, compression), tf.int64))
    shown = self._file_patterns

    @tf.autograph.experimental.do_not_convert
    def list_pass(cache, pass_and_patterns):
      pass_index, globs = pass_and_patterns
      files = list_complete_files(globs)
      # No quotes around the pattern: the Assert's message escapes them.
      check = tf.debugging.Assert(tf.size(files) > 0, [
          f'No complete file matches the replay file pattern {shown} any '
          f'more ({found_at_start} did when the dataset was created): the '
          'replay files were deleted while training read them.'])
      with tf.control_dependencies([check]):
        files = self._window(tf.identity(files))
      if compression:
        sizes = tf.fill(tf.shape(files), tf.constant(-1, tf.int64))
      else:
        sizes, cache = _cached_sizes(files, cache)
      count = tf.size(files, out_type=tf.int64)
      record_shards = tf.ones_like(sizes)
      if num_pipelines > 1:
        by_file = count >= num_pipelines
        mine = tf.logical_or(tf.logical_not(by_file),
                             tf.range(count) % num_pipelines == pipeline)
        files = tf.boolean_mask(files, mine)
        sizes = tf.boolean_mask(sizes, mine)
        record_shards = tf.fill(tf.shape(sizes),
                                tf.where(by_file, 1, num_pipelines))
        record_shards = tf.cast(record_shards, tf.int64)
      if is_train:
        order = tf.random.experimental.stateless_shuffle(
            tf.range(tf.size(files)),
            seed=tf.stack([tf.constant(shuffle_seed, tf.int64), pass_index]))
        files, sizes = tf.gather(files, order), tf.gather(sizes, order)
        record_shards = tf.gather(record_shards, order)
      return cache, (files, sizes, record_shards)

    @tf.autograph.experimental.do_not_convert
    def read(filename, size, record_shards):
      records = self._read_file(filename, size, compression)
      if num_pipelines == 1:
        return records
      return records.shard(
          record_shards,
          tf.where(record_shards > 1, tf.constant(pipeline, tf.int64), 0))

    # The globs come in as data, not as a constant of the function: grappler
    # would fold a constant listing into the graph, listing only once.
    passes = tf.data.Dataset.zip(
        tf.data.Dataset.counter(),
        tf.data.Dataset.from_tensors(tf.constant(patterns)).repeat())
    if self._num_passes is not None:
      passes = passes.take(self._num_passes)
    listings = passes.scan(initial_cache, list_pass)
    records = listings.flat_map(
        lambda *listing: tf.data.Dataset.from_tensor_slices(listing)
    ).interleave(
        read, cycle_length=self._cycle_length, block_length=1,
        num_parallel_calls=tf.data.AUTOTUNE, deterministic=deterministic)
    if is_train:
      records = records.shuffle(
          self._shuffle_buffer_size, seed=self._seed,
          reshuffle_each_iteration=True)
    return records


def _parse_patterns(argument: str, file_patterns: str) -> List[str]:
  """The globs of a comma-separated pattern string, prefixes removed.

  Raises:
    TypeError: If it is not a string.
    ValueError: If it holds no glob or a prefix names an unknown format.
  """
  if not isinstance(file_patterns, str):
    raise TypeError(
        f'GrowingReplayInputGenerator: {argument} must be a comma-separated '
        "string of globs such as '/replay/policy_*/*.tfrecord', got "
        f'{file_patterns!r} ({type(file_patterns).__name__}).')
  globs = []
  for entry in (entry.strip() for entry in file_patterns.split(',')):
    if not entry:
      continue
    # pylint: disable=protected-access
    data_format, glob = file_patterns_lib._split_prefix(entry)
    # pylint: enable=protected-access
    if (data_format is not None and
        data_format not in file_patterns_lib.SUPPORTED_DATA_FORMATS):
      raise ValueError(
          f'GrowingReplayInputGenerator: unknown record format prefix '
          f'{data_format + ":"!r} in {argument} entry {entry!r}; supported: '
          f'{[f + ":" for f in file_patterns_lib.SUPPORTED_DATA_FORMATS]} '
          'or none (TFRecord).')
    globs.append(glob)
  if not globs:
    raise ValueError(
        f'GrowingReplayInputGenerator: {argument} {file_patterns!r} holds no '
        "glob; pass e.g. '/replay/policy_*/*.tfrecord' or a directory.")
  return globs


def _with_directories(globs: List[str]) -> List[str]:
  """Globs with directories ('dir/', or an existing 'dir') as 'dir/*'."""
  expanded = []
  for glob in globs:
    if glob.endswith('/'):
      glob += '*'
    elif not _GLOB_CHARACTERS & set(glob) and tf.io.gfile.isdir(glob):
      glob = glob.rstrip('/') + '/*'
    expanded.append(glob)
  return expanded
