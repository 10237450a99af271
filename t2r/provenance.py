"""Where an export and its data came from: code, data and collectors.

Every t2r export records (see `AbstractExportGenerator.export`):

* in `assets.extra/t2r_assets.pbtxt` (`Provenance`): the t2r version, the
  operative gin config, the global step, and in `extra` the export's id
  (`export_id`, a random hex id), the git commit of the code (`git_commit`),
  whether the checkout was dirty (`git_dirty`) and then the hash of its
  changes (`git_diff_sha256`);
* in `assets.extra/t2r_training_data.json`: the files it was trained on,
  each with its size, a cheap fingerprint and, for files a collector wrote,
  which export collected them.

A collector puts its policy's export into a sidecar next to every replay
file it writes, `<dir>/.<file name>.t2r.json`, written atomically before the
replay file is renamed into place (so a complete replay file always has
one; the leading '.' keeps it out of the readers' globs, see
`t2r.data.replay_writer`). `t2r.lineage` follows these links from an export
back through the data to the exports that collected it.

Fingerprint (`fingerprint_file`): the SHA-256 of the file's size and of its
first and last 64 KiB: two reads per file, whatever its size. It notices a
file rewritten, appended to, truncated or replaced; a change in the middle
of a large file that keeps its size goes unnoticed. It does not use the
modification time, so a copy of a file (to another filesystem) keeps its
fingerprint.

Example:
  >>> files = describe_files(['/data/demos-00000.tfrecord'])
  >>> files[0].size, files[0].fingerprint[:12]
  (1048576, '5b1f0e3c9a7d')
  >>> code_version().commit
  '74849b5c...'
"""

import concurrent.futures
import dataclasses
import hashlib
import json
import os
import subprocess
import uuid
from typing import Any, Dict, List, Mapping, Optional, Sequence

import tensorflow as tf

from t2r import atomic_files
from t2r.specs import proto_conversion
from t2r.version import __version__

FINGERPRINT_BYTES = 64 * 1024
FINGERPRINT_METHOD = 'sha256 of the size, the first and the last 64 KiB'
TRAINING_DATA_FILENAME = 't2r_training_data.json'
SIDECAR_SUFFIX = '.t2r.json'
# Keys of `Provenance.extra` in the t2r assets.
EXPORT_ID = 'export_id'
GIT_COMMIT = 'git_commit'
GIT_DIRTY = 'git_dirty'
GIT_DIFF_SHA256 = 'git_diff_sha256'
GIT_PROBLEM = 'git_problem'
_GIT_TIMEOUT_SECS = 30


def new_export_id() -> str:
  """A random id for a new export (32 hex digits)."""
  return uuid.uuid4().hex


def fingerprint_file(path: str) -> str:
  """The cheap fingerprint of a file (see the module docstring).

  Example:
    >>> fingerprint_file('/data/demos-00000.tfrecord')
    '5b1f0e3c9a7d...'

  Args:
    path: Any `tf.io.gfile` path.

  Returns:
    64 hex digits.

  Raises:
    FileNotFoundError: If the file does not exist.
  """
  if not tf.io.gfile.exists(path):
    raise FileNotFoundError(f'Cannot fingerprint {path!r}: no such file.')
  size = tf.io.gfile.stat(path).length
  digest = hashlib.sha256(str(size).encode())
  with tf.io.gfile.GFile(path, 'rb') as f:
    digest.update(f.read(FINGERPRINT_BYTES))
    if size > FINGERPRINT_BYTES:
      f.seek(max(FINGERPRINT_BYTES, size - FINGERPRINT_BYTES))
      digest.update(f.read(FINGERPRINT_BYTES))
  return digest.hexdigest()


@dataclasses.dataclass(frozen=True)
class CollectedBy:
  """The export whose policy collected a replay file.

  Attributes:
    export_dir: The export's directory when it collected.
    export_id: Its `export_id` ('' if it recorded none).
    global_step: Its global step.
  """
  export_dir: str
  export_id: str
  global_step: int

  def to_json(self) -> Dict[str, Any]:
    return dataclasses.asdict(self)

  @classmethod
  def from_json(cls, value: Mapping[str, Any]) -> 'CollectedBy':
    return cls(export_dir=str(value['export_dir']),
               export_id=str(value.get('export_id', '')),
               global_step=int(value.get('global_step', -1)))


@dataclasses.dataclass(frozen=True)
class DataFile:
  """A data file as a job saw it.

  Attributes:
    path: The file.
    size: Its size in bytes.
    fingerprint: `fingerprint_file(path)`.
    has_sidecar: A collector's sidecar was found next to it.
    collected_by: The export that collected it; None for data not written by
      a collector (or by one running a policy without export, e.g. random
      actions: then `has_sidecar` is True).
  """
  path: str
  size: int
  fingerprint: str
  has_sidecar: bool = False
  collected_by: Optional[CollectedBy] = None

  def to_json(self) -> Dict[str, Any]:
    return {'path': self.path, 'size': self.size,
            'fingerprint': self.fingerprint, 'has_sidecar': self.has_sidecar,
            'collected_by': (self.collected_by.to_json()
                             if self.collected_by else None)}

  @classmethod
  def from_json(cls, value: Mapping[str, Any]) -> 'DataFile':
    collected_by = value.get('collected_by')
    return cls(path=str(value['path']), size=int(value['size']),
               fingerprint=str(value['fingerprint']),
               has_sidecar=bool(value.get('has_sidecar', False)),
               collected_by=(CollectedBy.from_json(collected_by)
                             if collected_by else None))


def sidecar_path(record_path: str) -> str:
  """'dir/a.tfrecord' -> 'dir/.a.tfrecord.t2r.json': a replay file's sidecar."""
  directory, base = os.path.split(record_path)
  return os.path.join(directory, f'.{base}{SIDECAR_SUFFIX}')


def write_sidecar(record_path: str, metadata: Mapping[str, Any]) -> str:
  """Writes the sidecar of a replay file atomically (before the file itself).

  Example:
    >>> write_sidecar('/replay/a.tfrecord', {'collected_by': None})
    '/replay/.a.tfrecord.t2r.json'

  Args:
    record_path: The replay file's final path.
    metadata: JSON-serializable values, e.g. `collector_metadata(policy)`.

  Returns:
    The sidecar's path.

  Raises:
    TypeError: If `metadata` does not serialize to JSON.
  """
  try:
    text = json.dumps(dict(metadata), indent=1, sort_keys=True)
  except TypeError as e:
    raise TypeError(f'The sidecar of {record_path!r} must hold JSON values: '
                    f'{e}') from e
  path = sidecar_path(record_path)
  atomic_files.write_atomically(path, text + '\n')
  return path


def read_sidecar(record_path: str) -> Optional[Dict[str, Any]]:
  """The sidecar of a replay file, or None if it has none (or it is broken)."""
  path = sidecar_path(record_path)
  try:
    with tf.io.gfile.GFile(path, 'r') as f:
      value = json.loads(f.read())
  except (tf.errors.NotFoundError, ValueError):
    return None
  return value if isinstance(value, dict) else None


def export_id_of(export_dir: str) -> str:
  """The `export_id` an export recorded ('' for an export without one)."""
  assets = proto_conversion.read_t2r_assets(export_dir)
  return assets.provenance.extra.get(EXPORT_ID, '')


def collector_metadata(policy: Any) -> Dict[str, Any]:
  """The sidecar of the replay files a policy collects.

  Example:
    >>> collector_metadata(CEMPolicy(predictor))['collected_by']
    {'export_dir': '/run/export/1200', 'export_id': '9f...',
     'global_step': 1200}

  Args:
    policy: A `t2r.policies.Policy` (its `predictor.model_path` names the
      export it runs); a policy without predictor or export (random actions)
      gives `collected_by` None.

  Returns:
    {'collected_by': `CollectedBy.to_json()` or None, 'model_path': what the
    predictor loaded (an export, a checkpoint) or None, 't2r_version': ...}.
  """
  predictor = getattr(policy, 'predictor', None)
  path = getattr(predictor, 'model_path', None) if predictor else None
  collected_by = None
  if path and tf.io.gfile.exists(os.path.join(
      path, proto_conversion.ASSETS_DIRNAME, proto_conversion.ASSETS_FILENAME)):
    assets = proto_conversion.read_t2r_assets(path)
    collected_by = CollectedBy(
        export_dir=path, export_id=assets.provenance.extra.get(EXPORT_ID, ''),
        global_step=int(assets.global_step)).to_json()
  return {'collected_by': collected_by, 'model_path': path or None,
          't2r_version': __version__}


def _describe(path: str,
              cache: Optional[Dict[str, Any]]) -> Optional[DataFile]:
  try:
    stat = tf.io.gfile.stat(path)
  except tf.errors.NotFoundError:
    return None
  key = (stat.length, stat.mtime_nsec)
  if cache is not None and path in cache and cache[path][0] == key:
    return cache[path][1]
  sidecar = read_sidecar(path)
  collected_by = (sidecar or {}).get('collected_by')
  try:
    fingerprint = fingerprint_file(path)
  except (FileNotFoundError, tf.errors.NotFoundError):
    return None
  described = DataFile(
      path=path, size=int(stat.length), fingerprint=fingerprint,
      has_sidecar=sidecar is not None,
      collected_by=(CollectedBy.from_json(collected_by) if collected_by else
                    None))
  if cache is not None:
    cache[path] = (key, described)
  return described


def describe_files(paths: Sequence[str],
                   cache: Optional[Dict[str, Any]] = None,
                   skip_missing: bool = False) -> List[DataFile]:
  """Size, fingerprint and collector of each file, read in parallel threads.

  Example:
    >>> cache = {}
    >>> describe_files(generator.data_files(), cache)   # reads every file
    >>> describe_files(generator.data_files(), cache)   # only new ones

  Args:
    paths: The files (any `tf.io.gfile` paths).
    cache: A dict kept between calls: a file whose size and modification
      time did not change is not read again.
    skip_missing: Leave out files that do not exist (e.g. replay files
      deleted since they were listed) instead of raising.

  Returns:
    One `DataFile` per (existing) path, in order.

  Raises:
    FileNotFoundError: If a file does not exist and `skip_missing` is False.
  """
  with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
    described = list(pool.map(lambda path: _describe(path, cache), paths))
  missing = [path for path, d in zip(paths, described) if d is None]
  if missing and not skip_missing:
    raise FileNotFoundError(
        f'describe_files: {len(missing)} of the {len(paths)} files do not '
        f'exist, e.g. {missing[0]!r}. Pass skip_missing=True to leave them '
        'out.')
  return [d for d in described if d is not None]


def write_training_data(export_dir: str, files: Sequence[DataFile]) -> str:
  """Writes the training files into an export's assets, atomically.

  Args:
    export_dir: The (temporary) export directory.
    files: What `describe_files` returned.

  Returns:
    The written file's path.
  """
  path = os.path.join(export_dir, proto_conversion.ASSETS_DIRNAME,
                      TRAINING_DATA_FILENAME)
  content = {'fingerprint_method': FINGERPRINT_METHOD,
             'files': [f.to_json() for f in files]}
  atomic_files.write_atomically(path, json.dumps(content, indent=1) + '\n')
  return path


def read_training_data(export_dir: str) -> Optional[List[DataFile]]:
  """The training files an export recorded; None if it recorded none.

  Raises:
    ValueError: If the file is not valid JSON of `write_training_data`.
  """
  path = os.path.join(export_dir, proto_conversion.ASSETS_DIRNAME,
                      TRAINING_DATA_FILENAME)
  if not tf.io.gfile.exists(path):
    return None
  with tf.io.gfile.GFile(path, 'r') as f:
    text = f.read()
  try:
    return [DataFile.from_json(entry) for entry in json.loads(text)['files']]
  except (ValueError, KeyError, TypeError) as e:
    raise ValueError(f'{path!r} is not a t2r training data file: {e}') from e


@dataclasses.dataclass(frozen=True)
class CodeVersion:
  """The git state of the code.

  Attributes:
    commit: The HEAD commit ('' when unknown, see `problem`).
    dirty: Tracked files differ from HEAD or untracked files exist.
    diff_sha256: When dirty, the SHA-256 of `git diff HEAD --binary` and of
      the names and contents of the untracked files; '' when clean.
    problem: Why the commit is unknown (no git, not a checkout); '' if known.
  """
  commit: str
  dirty: bool = False
  diff_sha256: str = ''
  problem: str = ''

  def as_extra(self) -> Dict[str, str]:
    """The `Provenance.extra` entries of this state."""
    if not self.commit:
      return {GIT_COMMIT: '', GIT_PROBLEM: self.problem}
    extra = {GIT_COMMIT: self.commit, GIT_DIRTY: str(self.dirty).lower()}
    if self.dirty:
      extra[GIT_DIFF_SHA256] = self.diff_sha256
    return extra

  @classmethod
  def from_extra(cls, extra: Mapping[str, str]) -> 'CodeVersion':
    return cls(commit=extra.get(GIT_COMMIT, ''),
               dirty=extra.get(GIT_DIRTY, 'false') == 'true',
               diff_sha256=extra.get(GIT_DIFF_SHA256, ''),
               problem=extra.get(GIT_PROBLEM, '' if GIT_COMMIT in extra else
                                 'not recorded'))


def _git(directory: str, *args: str) -> bytes:
  return subprocess.run(['git', '-C', directory, *args], check=True,
                        capture_output=True,
                        timeout=_GIT_TIMEOUT_SECS).stdout


def code_version(directory: Optional[str] = None) -> CodeVersion:
  """The git commit, dirty flag and diff hash of the checkout of `directory`.

  Example:
    >>> version = code_version()
    >>> version.commit, version.dirty
    ('74849b5c...', True)

  Args:
    directory: Any directory inside the checkout; default: the one holding
      the `t2r` package (the code that trains and exports).

  Returns:
    A `CodeVersion`; with `commit` '' and the reason in `problem` when git
    is not installed or the directory is not in a git checkout.
  """
  if directory is None:
    directory = os.path.dirname(os.path.abspath(__file__))
  try:
    commit = _git(directory, 'rev-parse', 'HEAD').decode().strip()
    status = _git(directory, 'status', '--porcelain')
    if not status.strip():
      return CodeVersion(commit=commit)
    root = _git(directory, 'rev-parse', '--show-toplevel').decode().strip()
    digest = hashlib.sha256(_git(root, 'diff', 'HEAD', '--binary'))
    untracked = _git(root, 'ls-files', '--others', '--exclude-standard', '-z')
    for name in sorted(n for n in untracked.decode().split('\0') if n):
      digest.update(name.encode() + b'\0')
      try:
        with open(os.path.join(root, name), 'rb') as f:
          digest.update(f.read())
      except OSError:
        pass  # Deleted since listed (or not a regular file).
    return CodeVersion(commit=commit, dirty=True,
                       diff_sha256=digest.hexdigest())
  except FileNotFoundError:
    return CodeVersion(commit='', problem='git is not installed')
  except subprocess.CalledProcessError as e:
    return CodeVersion(
        commit='', problem=f'{directory} is not in a git checkout '
        f'({e.stderr.decode(errors="replace").strip()[:200]})')
  except subprocess.TimeoutExpired:
    return CodeVersion(commit='', problem='git timed out')


@dataclasses.dataclass(frozen=True)
class ExportProvenance:
  """What an export recorded about where it came from.

  Attributes:
    export_dir: The export.
    export_id: Its id ('' for exports written before ids were recorded).
    global_step: The step of its weights.
    t2r_version: The t2r version that wrote it.
    operative_gin_config: The training job's operative gin config.
    code: The git state of the code.
    training_files: The files it was trained on; None if not recorded.
  """
  export_dir: str
  export_id: str
  global_step: int
  t2r_version: str
  operative_gin_config: str
  code: CodeVersion
  training_files: Optional[List[DataFile]]


def read_export_provenance(export_dir: str) -> ExportProvenance:
  """Reads the provenance of an export.

  Example:
    >>> provenance = read_export_provenance('/run/export/1200')
    >>> provenance.code.commit, len(provenance.training_files)
    ('74849b5c...', 120)

  Args:
    export_dir: An export directory.

  Returns:
    An `ExportProvenance`.

  Raises:
    FileNotFoundError: If `export_dir` holds no t2r assets.
    ValueError: If its assets are invalid.
  """
  assets = proto_conversion.read_t2r_assets(export_dir)
  extra = assets.provenance.extra
  return ExportProvenance(
      export_dir=export_dir,
      export_id=extra.get(EXPORT_ID, ''),
      global_step=int(assets.global_step),
      t2r_version=assets.provenance.t2r_version,
      operative_gin_config=assets.provenance.operative_gin_config,
      code=CodeVersion.from_extra(extra),
      training_files=read_training_data(export_dir))
