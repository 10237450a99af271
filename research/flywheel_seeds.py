"""Running one research flywheel config once per seed, reusing finished runs.

The seed sweeps of the research pipelines (`research/pose_env`,
`research/qtopt`) run `t2r-flywheel` on their config with `SEED=<s>` and
`ROOT_DIR=<root>/seed<s>`, each in fresh processes, and skip a seed whose
evaluator already scored an export at the run's last train step.

Example:
  >>> seconds = run_seed('research/qtopt/configs/grasp_point_flywheel.gin',
  ...                    seed=0, root_dir='/tmp/sweep/seed0', max_steps=10000)
"""

import os
import subprocess
import sys
import time
from typing import Callable, Dict, List, Sequence

from t2r.collect import status_files


def evaluator_history(root_dir: str) -> List[Dict[str, float]]:
  """The evaluator's rows (global step, success rate, ...) of a run."""
  return status_files.read_statuses(root_dir).get('evaluator', {}).get(
      'history', [])


def finished(root_dir: str, max_steps: int) -> bool:
  """Whether the run's evaluator scored an export at `max_steps` or later."""
  history = evaluator_history(root_dir)
  return bool(history) and history[-1]['global_step'] >= max_steps


def collected_episodes(root_dir: str) -> int:
  """Episodes the run's collectors wrote, from their status files."""
  return int(sum(s.get('episodes', 0) for name, s in
                 status_files.read_statuses(root_dir).items()
                 if name.startswith('collector-')))


def run_seed(config: str, seed: int, root_dir: str, max_steps: int,
             bindings: Sequence[str] = ()) -> float:
  """Runs (or reuses) one seed's flywheel; returns its wall seconds.

  Args:
    config: The flywheel's gin config (it defines the macros SEED, ROOT_DIR
      and MAX_TRAIN_STEPS).
    seed: The run's SEED.
    root_dir: Its ROOT_DIR.
    max_steps: Its MAX_TRAIN_STEPS.
    bindings: More gin bindings.

  Returns:
    The wall time of the run, or NaN for a reused one.

  Raises:
    subprocess.CalledProcessError: If the flywheel exits non-zero.
  """
  if finished(root_dir, max_steps):
    print(f'seed {seed}: reusing {root_dir}', flush=True)
    return float('nan')
  command = [sys.executable, '-m', 't2r.bin.run_flywheel',
             f'--gin_configs={config}',
             f"--gin_bindings=ROOT_DIR='{root_dir}'",
             f'--gin_bindings=SEED={seed}',
             f'--gin_bindings=MAX_TRAIN_STEPS={max_steps}',
             *[f'--gin_bindings={binding}' for binding in bindings]]
  start = time.monotonic()
  subprocess.run(command, check=True)
  return time.monotonic() - start


def run_seeds(config: str, seeds: Sequence[int], root_dir: str,
              max_steps: int, bindings: Sequence[str],
              seed_result_fn: Callable[[int, str, float], Dict]
             ) -> List[Dict]:
  """`run_seed` for each seed in `root_dir/seed<s>`, then its result.

  Args:
    config: See `run_seed`.
    seeds: The seeds, run one after the other.
    root_dir: The sweep's directory.
    max_steps: See `run_seed`.
    bindings: See `run_seed`.
    seed_result_fn: (seed, the seed's root_dir, wall seconds) -> its result,
      called right after the seed's run.

  Returns:
    The results, in seed order.
  """
  results = []
  for seed in seeds:
    seed_dir = os.path.join(root_dir, f'seed{seed}')
    seconds = run_seed(config, seed, seed_dir, max_steps, bindings)
    results.append(seed_result_fn(seed, seed_dir, seconds))
  return results
