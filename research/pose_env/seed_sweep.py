r"""The quickstart over several seeds: the numbers research/pose_env reports.

  python -m research.pose_env.seed_sweep --seeds 0,1,2,3,4 \
      [--root_dir ./t2r_runs/pose_env_seeds] [quickstart flags ...]

Runs `python -m research.pose_env.quickstart --seed <s> --root_dir
<root_dir>/seed<s>` once per seed, each in a fresh process (so that no
state carries over between seeds), then prints per policy the mean distance
over seeds as mean ± sd and worst, and how many seeds reach the targets of
issue 9 (regression < 0.04 m, CEM critic < 0.06 m). Writes
`<root_dir>/seed_sweep.json`, `<root_dir>/seed_sweep.md` (the README
table) and `<root_dir>/seed_sweep.png` (one dot per seed). A seed directory that already holds results.json is reused. Exits
non-zero if a seed's run fails or a policy misses its target on any seed.
"""

if __name__ == '__main__':
  # Before TensorFlow is imported: its C++ logs print at import.
  from t2r import quiet_logs  # pylint: disable=g-import-not-at-top
  quiet_logs.quiet_tensorflow_logs()

import io
import json
import os
import subprocess
import sys
from typing import Dict, List, Sequence

from research import seed_summary
from research.pose_env import policy_evaluation
from t2r import atomic_files

TARGETS = {policy_evaluation.REGRESSION: 0.04,
           policy_evaluation.CEM_CRITIC: 0.06}
DEFAULT_ROOT_DIR = os.path.join('.', 't2r_runs', 'pose_env_seeds')


def _seed_command(seed: int, root_dir: str,
                  quickstart_args: Sequence[str]) -> List[str]:
  return [sys.executable, '-m', 'research.pose_env.quickstart',
          f'--seed={seed}', f'--root_dir={os.path.join(root_dir, f"seed{seed}")}'
         ] + list(quickstart_args)


def run_seed(seed: int, root_dir: str,
             quickstart_args: Sequence[str] = ()) -> Dict[str, object]:
  """Runs (or reuses) one seed's quickstart; returns its results.json.

  Args:
    seed: The quickstart's --seed.
    root_dir: The sweep's root; the seed runs in root_dir/seed<seed>.
    quickstart_args: More quickstart flags.

  Returns:
    The seed's results.json contents.

  Raises:
    RuntimeError: If the quickstart exits non-zero.
  """
  results_path = os.path.join(root_dir, f'seed{seed}', 'results.json')
  if not os.path.exists(results_path):
    command = _seed_command(seed, root_dir, quickstart_args)
    print(f'[seed_sweep] seed {seed}: {" ".join(command[1:])}', flush=True)
    if subprocess.run(command, check=False).returncode:
      raise RuntimeError(f'The quickstart for seed {seed} failed; see its '
                         'output above.')
  with open(results_path) as f:
    return json.load(f)


def summarize_results(seeds: Sequence[int],
                      results: Sequence[Dict[str, object]]
                      ) -> List[seed_summary.SeedSummary]:
  """One `SeedSummary` of the mean distance per policy.

  Args:
    seeds: The seeds, in the order of `results`.
    results: Each seed's results.json.

  Returns:
    The summaries, in the order of the first seed's policies.
  """
  names = list(results[0]['policies'])
  return [
      seed_summary.summarize(
          name, [r['policies'][name]['mean_distance'] for r in results],
          seeds, lower_is_better=True, target=TARGETS.get(name))
      for name in names
  ]


def main(argv: Sequence[str]) -> int:
  """Parses --seeds and --root_dir; the other flags go to the quickstart."""
  seeds, root_dir, quickstart_args = [0, 1, 2, 3, 4], DEFAULT_ROOT_DIR, []
  for arg in argv[1:]:
    if arg.startswith('--seeds='):
      seeds = [int(s) for s in arg.split('=', 1)[1].split(',') if s]
    elif arg.startswith('--root_dir='):
      root_dir = arg.split('=', 1)[1]
    else:
      quickstart_args.append(arg)
  if len(seeds) < 3:
    print('seed_sweep: pass at least 3 seeds (--seeds=0,1,2); a result is '
          f'reported over seeds, got {seeds}.', file=sys.stderr)
    return 2
  results = [run_seed(seed, root_dir, quickstart_args) for seed in seeds]
  summaries = summarize_results(seeds, results)
  command = ('python -m research.pose_env.seed_sweep --seeds=' +
             ','.join(map(str, seeds)) +
             ''.join(f' {arg}' for arg in quickstart_args))
  table = seed_summary.markdown_table(summaries, 'mean distance (m)')
  atomic_files.write_atomically(os.path.join(root_dir, 'seed_sweep.md'),
                                f'`{command}`\n\n{table}\n')
  atomic_files.write_atomically(
      os.path.join(root_dir, 'seed_sweep.json'),
      json.dumps({'command': command,
                  'summaries': [s.to_json() for s in summaries],
                  'total_seconds': [r['total_seconds'] for r in results]},
                 indent=2))
  buffer = io.BytesIO()
  seed_summary.draw_summaries(summaries, 'mean distance to the duck (m)').save(
      buffer, format='PNG')
  atomic_files.write_atomically(os.path.join(root_dir, 'seed_sweep.png'),
                                buffer.getvalue())
  print(f'\nPose env over seeds {seeds} (mean distance to the duck, 100 '
        'held-out episodes per seed):')
  for summary in summaries:
    print(f'  {summary.name:<12} {summary.format()}')
  print(f'Table: {os.path.join(root_dir, "seed_sweep.md")}; picture: '
        f'{os.path.join(root_dir, "seed_sweep.png")}.', flush=True)
  missed = [s.name for s in summaries if s.every_seed_meets_target is False]
  if missed:
    print(f'seed_sweep: {missed} missed the target on some seeds.',
          file=sys.stderr)
    return 1
  return 0


if __name__ == '__main__':
  sys.exit(main(sys.argv))
