"""`t2r lineage`: an export, the data it was trained on, who collected that.

From an export's provenance (`t2r.provenance`) the walk goes

  export -> its training files -> the exports whose policies collected them
         -> their training files -> ...

and checks every file against the fingerprint recorded at training time:
'ok', 'changed' (size or fingerprint differ: rewritten, appended to, cut
off) or 'missing'. An export that is gone is 'missing'; one whose directory
now holds another export (a different `export_id`, e.g. a retrained model
reusing the step) is 'replaced'. Each export is expanded once; later
references to it say so (flywheels collect many files with one export).

Example:
  >>> tree = build_lineage('/run_b/export/1200')
  >>> print(format_text(tree))
  export /run_b/export/1200 (step 1200, id 5c0e1f2a, git 74849b5 dirty)
  ├── file /run_a/policy_a/gs300_a_...tfrecord (ok, 2110 bytes)
  │   └── collected by export /run_a/export/300 (step 300, id 9f12c3d4, ...)
  │       └── file /data/random-00000.tfrecord (ok, 8002 bytes), collected
  │           by a policy without export (e.g. random)
  └── file /data/demos.tfrecord (CHANGED since training, 4096 bytes)
  >>> tree.problems()
  ['/data/demos.tfrecord: changed since training']
"""

import dataclasses
import os
from typing import Dict, List, Optional

import tensorflow as tf

from t2r import provenance

OK = 'ok'
CHANGED = 'changed'
MISSING = 'missing'
REPLACED = 'replaced'
NOT_RECORDED = 'not recorded'


@dataclasses.dataclass
class FileNode:
  """A training file of an export.

  Attributes:
    path: The file.
    status: OK, CHANGED or MISSING (now, against the recorded fingerprint).
    recorded: What the export recorded about it.
    collected_by: The export that collected it (None: not collected by an
      export, see `origin`).
  """
  path: str
  status: str
  recorded: provenance.DataFile
  collected_by: Optional['ExportNode'] = None

  @property
  def origin(self) -> str:
    """'export', 'policy without export' (e.g. random) or 'unknown'."""
    if self.recorded.collected_by is not None:
      return 'export'
    return ('policy without export' if self.recorded.has_sidecar else
            'unknown')


@dataclasses.dataclass
class ExportNode:
  """An export in the lineage tree.

  Attributes:
    export_dir: Its directory.
    status: OK, MISSING, REPLACED (see the module docstring).
    recorded: What it recorded (None if missing).
    files: Its training files, expanded (empty if `expanded_above`).
    expanded_above: This export appears (expanded) earlier in the tree.
    expected_id: The id the referring file's collector recorded ('' for
      the root).
  """
  export_dir: str
  status: str
  recorded: Optional[provenance.ExportProvenance] = None
  files: List[FileNode] = dataclasses.field(default_factory=list)
  expanded_above: bool = False
  expected_id: str = ''

  def walk(self):
    """Yields every export node of the tree, depth first, this one first."""
    yield self
    for file in self.files:
      if file.collected_by is not None:
        yield from file.collected_by.walk()

  def problems(self) -> List[str]:
    """One line per changed or missing file, per missing or replaced export
    and per export that recorded no training data."""
    found = []
    for export in self.walk():
      if export.status != OK:
        found.append(f'{export.export_dir}: export {export.status}')
      elif export.recorded.training_files is None:
        found.append(f'{export.export_dir}: no training data recorded')
      for file in export.files:
        if file.status != OK:
          found.append(f'{file.path}: {file.status}'
                       + (' since training' if file.status == CHANGED else ''))
    return found


def _file_status(recorded: provenance.DataFile) -> str:
  if not tf.io.gfile.exists(recorded.path):
    return MISSING
  if tf.io.gfile.stat(recorded.path).length != recorded.size:
    return CHANGED
  return (OK if provenance.fingerprint_file(recorded.path) ==
          recorded.fingerprint else CHANGED)


def build_lineage(export_dir: str, max_depth: int = 50) -> ExportNode:
  """Walks the provenance of an export back through data and collectors.

  Example:
    >>> tree = build_lineage('/run_b/export/1200')
    >>> [node.export_dir for node in tree.walk()]
    ['/run_b/export/1200', '/run_a/export/300']

  Args:
    export_dir: An export directory (written by t2r).
    max_depth: The most generations walked back.

  Returns:
    The root `ExportNode`.

  Raises:
    FileNotFoundError: If `export_dir` holds no t2r export.
    ValueError: If `max_depth` is not a positive int, or its provenance is
      invalid.
  """
  if isinstance(max_depth, bool) or not isinstance(max_depth,
                                                   int) or max_depth < 1:
    raise ValueError(f'max_depth must be a positive int, got {max_depth!r}.')
  root = provenance.read_export_provenance(export_dir)
  expanded: Dict[str, ExportNode] = {}
  return _expand(ExportNode(export_dir, OK, root), expanded, max_depth)


def _key(node: ExportNode) -> str:
  return node.recorded.export_id or os.path.abspath(node.export_dir)


def _expand(node: ExportNode, expanded: Dict[str, ExportNode],
            depth: int) -> ExportNode:
  if _key(node) in expanded:
    node.expanded_above = True
    return node
  expanded[_key(node)] = node
  for recorded in node.recorded.training_files or []:
    file = FileNode(recorded.path, _file_status(recorded), recorded)
    node.files.append(file)
    collector = recorded.collected_by
    if collector is not None and depth > 1:
      file.collected_by = _export_node(collector, expanded, depth - 1)
  return node


def _export_node(collector: provenance.CollectedBy,
                 expanded: Dict[str, ExportNode], depth: int) -> ExportNode:
  try:
    found = provenance.read_export_provenance(collector.export_dir)
  except FileNotFoundError:
    return ExportNode(collector.export_dir, MISSING,
                      expected_id=collector.export_id)
  status = (REPLACED if collector.export_id and
            found.export_id != collector.export_id else OK)
  node = ExportNode(collector.export_dir, status, found,
                    expected_id=collector.export_id)
  if status != OK:
    return node
  return _expand(node, expanded, depth)


def _describe_export(node: ExportNode) -> str:
  if node.status == MISSING:
    return f'export {node.export_dir} (MISSING)'
  found = node.recorded
  code = found.code
  git = (f'git {code.commit[:7]}{" dirty" if code.dirty else ""}'
         if code.commit else 'git unknown')
  status = {REPLACED: ', REPLACED by another export'}.get(node.status, '')
  data = ('' if found.training_files is not None else
          ', no training data recorded')
  seen = ', expanded above' if node.expanded_above else ''
  return (f'export {node.export_dir} (step {found.global_step}, id '
          f'{found.export_id[:8] or "none"}, {git}{status}{data}{seen})')


def _describe_file(file: FileNode) -> str:
  status = {CHANGED: 'CHANGED since training', MISSING: 'MISSING'}.get(
      file.status, OK)
  origin = {'policy without export': ', collected by a policy without '
                                     'export (e.g. random)',
            'unknown': ''}.get(file.origin, '')
  return f'file {file.path} ({status}, {file.recorded.size} bytes){origin}'


def format_text(tree: ExportNode) -> str:
  """The lineage as an indented text tree (one line per export and file).

  Example:
    >>> print(format_text(build_lineage('/run_b/export/1200')))
  """
  lines = [_describe_export(tree)]

  def add(node: ExportNode, prefix: str):
    for index, file in enumerate(node.files):
      last = index == len(node.files) - 1
      lines.append(f'{prefix}{"└── " if last else "├── "}'
                   f'{_describe_file(file)}')
      if file.collected_by is not None:
        child_prefix = prefix + ('    ' if last else '│   ')
        lines.append(f'{child_prefix}└── collected by '
                     f'{_describe_export(file.collected_by)}')
        add(file.collected_by, child_prefix + '    ')

  add(tree, '')
  return '\n'.join(lines)


def _quote(text: str) -> str:
  return '"' + text.replace('\\', '\\\\').replace('"', '\\"') + '"'


def format_dot(tree: ExportNode) -> str:
  """The lineage as a Graphviz digraph: exports (boxes) and files (notes).

  Edges go from an export to the files it was trained on and from a file
  to the export that collected it; changed and missing files and missing or
  replaced exports are red.

  Example:
    >>> open('/tmp/lineage.dot', 'w').write(format_dot(tree))
    >>> # dot -Tpng /tmp/lineage.dot -o /tmp/lineage.png
  """
  lines = ['digraph t2r_lineage {', '  rankdir=LR;',
           '  node [fontname="Helvetica", fontsize=10];']
  nodes: Dict[str, str] = {}

  def node_id(kind: str, path: str, label: str, bad: bool, shape: str):
    key = f'{kind}:{path}'
    if key not in nodes:
      nodes[key] = f'n{len(nodes)}'
      color = ', color=red, fontcolor=red' if bad else ''
      lines.append(f'  {nodes[key]} [label={_quote(label)}, '
                   f'shape={shape}{color}];')
    return nodes[key]

  def export_id(node: ExportNode) -> str:
    return node_id('export', node.export_dir, _describe_export(node),
                   node.status != OK, 'box')

  def add(node: ExportNode):
    source = export_id(node)
    for file in node.files:
      target = node_id('file', file.path, _describe_file(file),
                       file.status != OK, 'note')
      lines.append(f'  {source} -> {target} [label="trained on"];')
      if file.collected_by is not None:
        collector = export_id(file.collected_by)
        lines.append(f'  {target} -> {collector} [label="collected by"];')
        if not file.collected_by.expanded_above:
          add(file.collected_by)

  add(tree)
  lines.append('}')
  return '\n'.join(lines) + '\n'
