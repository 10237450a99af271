r"""Success rates of the scripted grasping baselines, as a markdown table.

  python -m research.qtopt.measure_baselines --episodes=100 \
      [--variants=multi_step,grasp_point] [--baselines=random,privileged] \
      [--object_split=test] [--randomization=none] [--workers=2] \
      [--seed=0] [--gin_bindings='KukaGraspEnv.lift_substeps=250'] \
      [--record_dir=/tmp/grasp_data] [--export_dir=ROOT_DIR/model/export]

Runs every baseline of `research.qtopt.baselines.BASELINES` for
`--episodes` episodes on each variant through `t2r.collect.run_env`
(`--num_envs` envs stepped side by side per worker) and prints one row per
(variant, baseline): success rate, its Wilson 95% interval, and speed in
episodes per hour, both per worker process (wall clock) and per CPU hour
(process time, which a loaded machine distorts less).

Episodes run in shards of `--shard_size`; shard k of a baseline resets
its envs with seeds `episode_seed + k * shard_size + i` and seeds the
policy with `seed + k`, so the numbers depend on the flags only, not on
`--workers` or `--num_envs`.
"""

if __name__ == '__main__':
  # Before TensorFlow is imported: its C++ logs print at import.
  from t2r import quiet_logs  # pylint: disable=g-import-not-at-top
  quiet_logs.quiet_tensorflow_logs()

import argparse
import dataclasses
import math
import multiprocessing
import os
import sys
import time
from typing import Dict, List, Optional, Sequence, Tuple

VARIANTS = ('multi_step', 'grasp_point')
# The learned policy's row: greedy CEM over --export_dir.
CRITIC = 'critic'
# Held-out episode seeds, far from the seeds collectors start from.
DEFAULT_EPISODE_SEED = 1_000_000


def wilson_interval(successes: int, trials: int,
                    z: float = 1.96) -> Tuple[float, float]:
  """Wilson score interval of a binomial proportion (95% for z = 1.96).

  Example:
    >>> wilson_interval(87, 100)
    (0.7901..., 0.9224...)

  Args:
    successes: Successful trials, 0 <= successes <= trials.
    trials: Trials, > 0.
    z: The normal quantile.

  Returns:
    (low, high).

  Raises:
    ValueError: For counts out of range.
  """
  if trials <= 0 or not 0 <= successes <= trials:
    raise ValueError(f'wilson_interval needs 0 <= successes <= trials and '
                     f'trials > 0, got {successes} of {trials}.')
  p = successes / trials
  denominator = 1 + z * z / trials
  center = (p + z * z / (2 * trials)) / denominator
  half = z * math.sqrt(p * (1 - p) / trials + z * z /
                       (4 * trials * trials)) / denominator
  return max(0.0, center - half), min(1.0, center + half)


@dataclasses.dataclass(frozen=True)
class Job:
  """One shard of one baseline's episodes."""
  variant: str
  baseline: str
  shard: int
  first_episode: int
  num_episodes: int
  env_kwargs: Tuple[Tuple[str, object], ...]
  num_envs: int
  seed: int
  episode_seed: int
  gin_bindings: Tuple[str, ...]
  record_dir: str = ''
  export_dir: str = ''


@dataclasses.dataclass(frozen=True)
class JobResult:
  job: Job
  successes: int
  wall_seconds: float
  cpu_seconds: float


@dataclasses.dataclass(frozen=True)
class Row:
  """One (variant, baseline) line of the table."""
  variant: str
  baseline: str
  episodes: int
  successes: int
  wall_seconds: float
  cpu_seconds: float

  @property
  def success_rate(self) -> float:
    return self.successes / self.episodes

  @property
  def interval(self) -> Tuple[float, float]:
    return wilson_interval(self.successes, self.episodes)

  @property
  def episodes_per_hour(self) -> float:
    return 3600.0 * self.episodes / max(self.wall_seconds, 1e-9)

  @property
  def episodes_per_cpu_hour(self) -> float:
    return 3600.0 * self.episodes / max(self.cpu_seconds, 1e-9)


def _env_class(variant: str):
  from research.qtopt import grasping_env  # pylint: disable=g-import-not-at-top
  return {'multi_step': grasping_env.KukaGraspMultiStepEnv,
          'grasp_point': grasping_env.KukaGraspPointEnv}[variant]


def _record_args(job: Job, env) -> Dict[str, object]:
  """run_env's arguments that write the shard's transitions as records.

  Files go to `record_dir/policy_<variant>-<baseline>/`, one per shard,
  laid out as `qtopt_specs.specs_for_env(env)`.
  """
  # pylint: disable=g-import-not-at-top
  from research.qtopt import qtopt_specs
  from t2r.data import replay_writer
  # pylint: enable=g-import-not-at-top
  record_spec = qtopt_specs.specs_for_env(env)
  return dict(
      episode_to_transitions_fn=qtopt_specs.episode_to_transitions,
      replay_writer=replay_writer.TFRecordReplayWriter(
          feature_spec=record_spec.features, label_spec=record_spec.labels),
      root_dir=job.record_dir,
      tag=f'{job.variant}-{job.baseline}'.replace('_', '-'),
      global_step=job.shard)


def _critic_policy(export_dir: str, env, seed: int):
  """Greedy CEM over a critic export (its 'cem_action' signature)."""
  # pylint: disable=g-import-not-at-top
  from t2r import policies
  from t2r.predictors import exported_savedmodel_predictor
  # pylint: enable=g-import-not-at-top
  predictor = exported_savedmodel_predictor.ExportedSavedModelPredictor(
      export_dir, timeout=0)
  if not predictor.restore():
    raise ValueError(f'--export_dir {export_dir!r} holds no loadable export; '
                     "pass a flywheel's ROOT_DIR/model/export directory.")
  return policies.CEMPolicy(predictor, env.action_space.low,
                            env.action_space.high,
                            exported_cem_signature='cem_action', seed=seed)


def run_job(job: Job) -> JobResult:
  """Runs one shard in this process; returns its success count and times."""
  import gin  # pylint: disable=g-import-not-at-top
  from research.qtopt import baselines  # pylint: disable=g-import-not-at-top
  from t2r.collect import env_runner  # pylint: disable=g-import-not-at-top
  if job.gin_bindings:
    gin.parse_config(list(job.gin_bindings))
  wall, cpu = time.perf_counter(), time.process_time()
  env_class = _env_class(job.variant)
  envs = [env_class(**dict(job.env_kwargs)) for _ in range(job.num_envs)]
  try:
    policy = (_critic_policy(job.export_dir, envs[0], job.seed + job.shard)
              if job.baseline == CRITIC else
              baselines.make_baseline(job.baseline, envs,
                                      seed=job.seed + job.shard))
    records = _record_args(job, envs[0]) if job.record_dir else {}
    stats = env_runner.run_env(
        envs, policy, num_episodes=job.num_episodes,
        seed=job.episode_seed + job.first_episode, write_summaries=False,
        show_progress=False, **records)
  finally:
    for env in envs:
      env.close()
  return JobResult(job, int(round(stats.success_rate * job.num_episodes)),
                   time.perf_counter() - wall, time.process_time() - cpu)


def make_jobs(variants: Sequence[str], baseline_names: Optional[Sequence[str]],
              episodes: int, shard_size: int, env_kwargs: Dict[str, object],
              num_envs: int, seed: int, episode_seed: int,
              gin_bindings: Sequence[str], record_dir: str = '',
              export_dir: str = '') -> List[Job]:
  """The shards of every (variant, baseline).

  Raises:
    ValueError: For an unknown variant or baseline, or bad counts.
  """
  from research.qtopt import baselines  # pylint: disable=g-import-not-at-top
  if episodes < 1 or shard_size < 1 or num_envs < 1:
    raise ValueError(f'episodes, shard_size and num_envs must be >= 1, got '
                     f'{episodes}, {shard_size} and {num_envs}.')
  jobs = []
  for variant in variants:
    if variant not in VARIANTS:
      raise ValueError(f'Unknown variant {variant!r}; expected some of '
                       f'{VARIANTS}.')
    names = baselines.BASELINES[variant] + ((CRITIC,) if export_dir else ())
    if baseline_names:
      known = sorted(set().union(*baselines.BASELINES.values(), [CRITIC]))
      unknown = sorted(set(baseline_names) - set(known))
      if unknown:
        raise ValueError(f'Unknown baselines {unknown}; expected some of '
                         f'{known}.')
      names = [n for n in names if n in baseline_names]
    for name in names:
      for shard, first in enumerate(range(0, episodes, shard_size)):
        jobs.append(Job(variant, name, shard, first,
                        min(shard_size, episodes - first),
                        tuple(sorted(env_kwargs.items())), num_envs, seed,
                        episode_seed, tuple(gin_bindings), record_dir,
                        export_dir))
  return jobs


def collect_rows(results: Sequence[JobResult]) -> List[Row]:
  """Sums shard results into one row per (variant, baseline), in order."""
  rows: Dict[Tuple[str, str], List[JobResult]] = {}
  for result in results:
    rows.setdefault((result.job.variant, result.job.baseline),
                    []).append(result)
  return [Row(variant, name, sum(r.job.num_episodes for r in parts),
              sum(r.successes for r in parts),
              sum(r.wall_seconds for r in parts),
              sum(r.cpu_seconds for r in parts))
          for (variant, name), parts in rows.items()]


def markdown_table(rows: Sequence[Row]) -> str:
  """The README table of the rows."""
  lines = ['| variant | baseline | success | 95% CI (Wilson) | episodes | '
           'episodes/h per worker | episodes/CPU-h |',
           '| --- | --- | --- | --- | --- | --- | --- |']
  for row in rows:
    low, high = row.interval
    lines.append(
        f'| {row.variant} | {row.baseline} | {100 * row.success_rate:.0f}% '
        f'({row.successes}/{row.episodes}) | {100 * low:.0f}-'
        f'{100 * high:.0f}% | {row.episodes} | {row.episodes_per_hour:,.0f} '
        f'| {row.episodes_per_cpu_hour:,.0f} |')
  return '\n'.join(lines)


def _parse_image_size(text: str) -> Tuple[int, int]:
  parts = [int(p) for p in text.lower().replace('x', ',').split(',') if p]
  if len(parts) == 1:
    parts *= 2
  if len(parts) != 2:
    raise argparse.ArgumentTypeError(
        f'--image_size takes N or HxW, got {text!r}.')
  return parts[0], parts[1]


def main(argv: Optional[Sequence[str]] = None) -> int:
  parser = argparse.ArgumentParser(
      description=__doc__.split('\n\n')[0],
      formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--episodes', type=int, default=100,
                      help='Episodes per (variant, baseline).')
  parser.add_argument('--variants', default=','.join(VARIANTS))
  parser.add_argument('--baselines', default='',
                      help='Comma-separated subset (default: all).')
  parser.add_argument('--object_split', default='test',
                      choices=('train', 'test'))
  parser.add_argument('--randomization', default='none',
                      help="'none', 'randomized' or 'shifted'.")
  parser.add_argument('--image_size', type=_parse_image_size,
                      default=(64, 64), help='N or HxW.')
  parser.add_argument('--workers', type=int, default=1,
                      help='Processes running shards in parallel.')
  parser.add_argument('--num_envs', type=int, default=1,
                      help='Envs stepped side by side per run_env call.')
  parser.add_argument('--shard_size', type=int, default=10)
  parser.add_argument('--seed', type=int, default=0,
                      help='Policy seed (shard k uses seed + k).')
  parser.add_argument('--episode_seed', type=int,
                      default=DEFAULT_EPISODE_SEED)
  parser.add_argument('--gin_bindings', action='append', default=[],
                      help='Gin bindings for the envs, e.g. '
                      "'KukaGraspEnv.lift_substeps=250' (they stay bound in "
                      'the processes that run the shards).')
  parser.add_argument('--record_dir', default='',
                      help='Also write every transition as TFRecords '
                      '(qtopt_specs layout) under '
                      'RECORD_DIR/policy_<variant>-<baseline>/: offline '
                      'data for the critic.')
  parser.add_argument('--export_dir', default='',
                      help="A critic's export directory (a flywheel's "
                      "ROOT_DIR/model/export): its newest export is scored "
                      "as the row 'critic', greedy CEM over its cem_action "
                      'signature on the same scenes.')
  parser.add_argument('--output', default='',
                      help='Also write the table to this file.')
  args = parser.parse_args(argv)
  env_kwargs = {'object_split': args.object_split,
                'randomization': args.randomization,
                'image_size': args.image_size}
  jobs = make_jobs([v for v in args.variants.split(',') if v],
                   [b for b in args.baselines.split(',') if b],
                   args.episodes, args.shard_size, env_kwargs, args.num_envs,
                   args.seed, args.episode_seed, args.gin_bindings,
                   args.record_dir, args.export_dir)
  load_before = os.getloadavg()[0]
  start = time.perf_counter()
  if args.workers > 1:
    context = multiprocessing.get_context('spawn')
    with context.Pool(args.workers) as pool:
      results = pool.map(run_job, jobs, chunksize=1)
  else:
    results = [run_job(job) for job in jobs]
  table = markdown_table(collect_rows(results))
  print(table)
  print(f'\n{len(jobs)} shards, {args.workers} worker(s), '
        f'{time.perf_counter() - start:.0f} s wall; load average '
        f'{load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the '
        f'end on {os.cpu_count()} CPUs.')
  if args.output:
    with open(args.output, 'w') as f:
      f.write(table + '\n')
  return 0


if __name__ == '__main__':
  sys.exit(main())
