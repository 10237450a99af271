"""The `t2r` command: data tools `t2r inspect` and `t2r lineage`.

  t2r inspect PATTERN --export_dir DIR         # specs of an export
  t2r inspect PATTERN --gin_configs CONFIG     # specs of the configured model
      [--output_dir DIR] [--max_records N] [--episode_key KEY]
      [--action_key KEY] [--reset_seed_key KEY] [--env_fn MODULE:CALLABLE]
  t2r lineage EXPORT_DIR [--dot] [--check]

`inspect` writes `inspect_report.json` and `contact_sheet.png` (when the
specs have images) into `--output_dir`, prints a summary and exits 1 when a
required feature is missing or misshaped in some record (see
`t2r.data.inspection`), so it can gate a training job or CI. `lineage`
prints the tree of exports and data (`t2r.lineage`); `--dot` prints
Graphviz instead, and `--check` exits 1 on any problem the tree shows (a
file changed or missing, an export missing, replaced or without recorded
training data).

Example:
  t2r inspect '/data/demos-*.tfrecord' --export_dir /run/export/1200 \\
      --output_dir /tmp/inspect
  t2r lineage /run_b/export/1200 --dot | dot -Tpng -o lineage.png
"""

import argparse
import importlib
import os
import sys
from typing import Any, Callable, List, Optional, Sequence, Tuple

from t2r import lineage
from t2r import specs
from t2r.data import contact_sheet
from t2r.data import inspection
from t2r.modes import ModeKeys

REPORT_FILENAME = 'inspect_report.json'
CONTACT_SHEET_FILENAME = 'contact_sheet.png'


def specs_from_export(export_dir: str) -> Tuple[Any, Any]:
  """The (feature, label) specs an export recorded in its assets.

  Raises:
    FileNotFoundError: If `export_dir` holds no t2r assets.
  """
  assets = specs.read_t2r_assets(export_dir)
  labels = (specs.spec_structure_from_proto(assets.label_spec)
            if assets.HasField('label_spec') else None)
  return specs.spec_structure_from_proto(assets.feature_spec), labels


def specs_from_gin(gin_configs: Sequence[str], gin_bindings: Sequence[str],
                   mode: str = ModeKeys.TRAIN) -> Tuple[Any, Any]:
  """The preprocessor's in-specs of `train_eval_model.t2r_model` in `mode`.

  Raises:
    ValueError: If the config binds no `train_eval_model.t2r_model`.
    run_t2r_trainer.ConfigError: If the config does not parse.
  """
  import gin  # pylint: disable=g-import-not-at-top
  from t2r.bin import run_t2r_trainer  # pylint: disable=g-import-not-at-top
  run_t2r_trainer.parse_gin_config(gin_configs, gin_bindings)
  try:
    reference = gin.query_parameter('train_eval_model.t2r_model')
  except ValueError as e:
    raise ValueError('t2r inspect --gin_configs: the config binds no '
                     'train_eval_model.t2r_model to take the specs from.'
                     ) from e
  model = (reference.scoped_configurable_fn() if isinstance(
      reference, gin.config.ConfigurableReference) else reference())
  preprocessor = model.preprocessor
  return (preprocessor.get_in_feature_specification(mode),
          preprocessor.get_in_label_specification(mode))


def load_callable(name: str) -> Callable[[], Any]:
  """'package.module:attribute' -> the attribute (e.g. an env class).

  Raises:
    ValueError: If `name` is not 'module:attribute' or does not resolve.
  """
  module_name, _, attribute = name.partition(':')
  if not module_name or not attribute:
    raise ValueError(f'--env_fn must be MODULE:CALLABLE (e.g. '
                     f'research.pose_env.pose_env:PoseEnv), got {name!r}.')
  try:
    value = getattr(importlib.import_module(module_name), attribute)
  except (ImportError, AttributeError) as e:
    raise ValueError(f'--env_fn {name!r} does not resolve: {e}') from e
  if not callable(value):
    raise ValueError(f'--env_fn {name!r} is not callable.')
  return value


def _parser() -> argparse.ArgumentParser:
  parser = argparse.ArgumentParser(
      prog='t2r', description='t2r data tools: inspect records, trace '
      'the lineage of exports.')
  commands = parser.add_subparsers(dest='command', required=True)
  inspect = commands.add_parser(
      'inspect', help='Check records against specs; report and contact '
      'sheet. Exits 1 when a required feature is missing or misshaped.')
  inspect.add_argument('file_patterns',
                       help='Comma-separated globs of TFRecord files.')
  source = inspect.add_mutually_exclusive_group(required=True)
  source.add_argument('--export_dir', help='Take the specs from this export.')
  source.add_argument('--gin_configs', action='append',
                      help='Take the specs from the configured model.')
  inspect.add_argument('--gin_bindings', action='append', default=[])
  inspect.add_argument('--mode', default=ModeKeys.TRAIN,
                       choices=[ModeKeys.TRAIN, ModeKeys.EVAL,
                                ModeKeys.PREDICT],
                       help='The mode of the model specs (--gin_configs).')
  inspect.add_argument('--output_dir', default='.',
                       help=f'Where {REPORT_FILENAME} and '
                       f'{CONTACT_SHEET_FILENAME} go.')
  inspect.add_argument('--dataset_key', default=None)
  inspect.add_argument('--batch_size', type=int, default=256)
  inspect.add_argument('--max_records', type=int, default=None)
  inspect.add_argument('--num_samples', type=int, default=16)
  inspect.add_argument('--episode_key', default=None,
                       help='Spec identifying the episode of transitions.')
  inspect.add_argument('--action_key', default='action')
  inspect.add_argument('--proprioception_key', default=None)
  inspect.add_argument('--reset_seed_key', default=None)
  inspect.add_argument('--idle_min_steps', type=int, default=10)
  inspect.add_argument('--idle_tolerance', type=float, default=1e-3)
  inspect.add_argument('--action_kind', default='absolute',
                       choices=['absolute', 'delta'])
  inspect.add_argument('--env_fn', default=None,
                       help='MODULE:CALLABLE creating an env for label '
                       'replay (needs --reset_seed_key).')
  trace = commands.add_parser(
      'lineage', help='Print the tree export -> training files -> the '
      'exports that collected them -> ...')
  trace.add_argument('export_dir')
  trace.add_argument('--dot', action='store_true',
                     help='Print Graphviz dot instead of text.')
  trace.add_argument('--check', action='store_true',
                     help='Exit 1 when a file changed or is missing, or an '
                     'export is missing, replaced or recorded no training '
                     'data.')
  trace.add_argument('--max_depth', type=int, default=50)
  return parser


def run_inspect(args: argparse.Namespace) -> int:
  """`t2r inspect`; returns the exit status."""
  if args.export_dir:
    feature_spec, label_spec = specs_from_export(args.export_dir)
  else:
    feature_spec, label_spec = specs_from_gin(args.gin_configs,
                                              args.gin_bindings, args.mode)
  report = inspection.inspect_records(
      args.file_patterns, feature_spec, label_spec,
      dataset_key=args.dataset_key, batch_size=args.batch_size,
      max_records=args.max_records, num_samples=args.num_samples,
      episode_key=args.episode_key, action_key=args.action_key,
      proprioception_key=args.proprioception_key,
      reset_seed_key=args.reset_seed_key,
      idle_min_steps=args.idle_min_steps,
      idle_tolerance=args.idle_tolerance, action_kind=args.action_kind,
      env_fn=load_callable(args.env_fn) if args.env_fn else None)
  report_path = report.write_json(
      os.path.join(args.output_dir, REPORT_FILENAME))
  print(report.summary())
  print(f'report: {report_path}')
  if any(isinstance(v, bytes) for s in report.samples
         for v in s['values'].values()):
    sheet = contact_sheet.write_contact_sheet(
        report.samples, os.path.join(args.output_dir,
                                     CONTACT_SHEET_FILENAME))
    print(f'contact sheet: {sheet}')
  return 0 if report.ok else 1


def run_lineage(args: argparse.Namespace) -> int:
  """`t2r lineage`; returns the exit status."""
  tree = lineage.build_lineage(args.export_dir, max_depth=args.max_depth)
  print(lineage.format_dot(tree) if args.dot else lineage.format_text(tree))
  problems = tree.problems()
  if problems and not args.dot:
    print(f'{len(problems)} problem(s):')
    for problem in problems:
      print(f'  {problem}')
  return 1 if args.check and problems else 0


def main(argv: Optional[List[str]] = None) -> int:
  """Runs `t2r <command>`; returns the exit status (2: bad arguments).

  Example:
    >>> main(['lineage', '/run/export/1200', '--check'])
    0
  """
  args = _parser().parse_args(argv)
  try:
    if args.command == 'inspect':
      return run_inspect(args)
    return run_lineage(args)
  except (ValueError, FileNotFoundError) as e:
    print(f't2r {args.command}: {e}', file=sys.stderr)
    return 2
