r"""Records BC-Z demonstrations of the scripted experts, then checks them.

Usage:
  python -m research.bcz.collect_demos --output_dir=/tmp/bcz_data \
      --demos_per_task=50 --eval_demos_per_task=10 --seed=0 \
      [--tasks='pick up the duck,reach the duck'] [--translation_noise=0.01] \
      [--gin_bindings="BCZEnv.randomization = 'randomized'"]

For every task of `bcz_env.TASKS` (or --tasks), the scripted expert
(`experts.ScriptedExpert`) runs from the initial states of the 'train'
split (`bcz_env.initial_state_seeds`) until --demos_per_task episodes
succeeded, and from the 'eval' split for --eval_demos_per_task; the
executed actions carry DART noise (`experts.DartNoise`, seeded by --seed;
--translation_noise=0 --rotation_noise=0 records the clean expert), the
labels are the clean expert's. Failed episodes are not written. The
episodes go through `bcz_specs.write_episodes` (the spec-driven writer,
atomic files) to OUTPUT_DIR/train-<task>-NNNNN.tfrecord and
eval-<task>-NNNNN.tfrecord (`task_file_name`: 'train-*.tfrecord', the
pattern of `configs/bcz_cpu.gin`, reads all tasks; 'train-reach_the_duck-*'
one). Before writing, each split's
demos are checked (`t2r.data.episode_checks`: idle detection, and label
replay: the recorded clean actions executed open loop from the recorded
initial state must solve the task again); the checks' summary is printed,
flagged demos are dropped (--nodrop_flagged keeps them) and listed in
OUTPUT_DIR/<split>-checks.json. After writing, the records are read back
(`bcz_specs.read_episodes`) and counted.
"""

if __name__ == '__main__':
  # Before TensorFlow is imported: its C++ logs print at import.
  from t2r import quiet_logs  # pylint: disable=g-import-not-at-top
  quiet_logs.quiet_tensorflow_logs()

import dataclasses
import functools
import json
import os
import re
import sys
import time
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence

from absl import app
from absl import flags
import gin
import tensorflow as tf

from research.bcz import bcz_env
from research.bcz import bcz_specs
from research.bcz import experts
from t2r import atomic_files
from t2r import progress
from t2r.data import episode_checks

SPLITS = ('train', 'eval')
RESET_OPTIONS = 'reset_options'
# An episode counts as idle if nothing moves by 1 mm for 10 steps or more.
IDLE_KWARGS = {'tolerance': 1e-3, 'min_steps': 10}


@dataclasses.dataclass(frozen=True)
class CollectionStats:
  """What `collect_demonstrations` ran.

  Attributes:
    attempts: {task: episodes run}.
    successes: {task: successful episodes (those kept)}.
    seconds: Wall-clock seconds.
    steps: Environment steps run.
  """
  attempts: Dict[str, int]
  successes: Dict[str, int]
  seconds: float
  steps: int

  @property
  def seconds_per_episode(self) -> float:
    return self.seconds / max(1, sum(self.attempts.values()))


@gin.configurable
def collect_demonstrations(env: Any,
                           split: str,
                           demos_per_task: int,
                           tasks: Optional[Sequence[str]] = None,
                           translation_noise: float = 0.01,
                           rotation_noise: float = 0.05,
                           seed: int = 0,
                           max_attempts_factor: float = 2.0,
                           description: Optional[str] = None):
  """Runs the expert until each task has `demos_per_task` successful demos.

  Example:
    >>> demos, stats = collect_demonstrations(bcz_env.BCZEnv(), 'train', 5)
    >>> len(demos), stats.successes

  Args:
    env: The `BCZEnv`.
    split: 'train' or 'eval': which initial states (`initial_state_seeds`).
    demos_per_task: Successful demos to keep per task.
    tasks: The tasks; default all of `env.tasks`.
    translation_noise: DART offset std per axis, metres (0: none).
    rotation_noise: DART offset std of the rotation, radians.
    seed: Seeds the noise (each split gets its own stream).
    max_attempts_factor: Give up on a task after this many times
      `demos_per_task` episodes.
    description: If set, a progress bar with this description.

  Returns:
    (the successful `experts.Demonstration`s, a `CollectionStats`).

  Raises:
    ValueError: For an unknown split or task, or a bad count.
  """
  if split not in SPLITS:
    raise ValueError(f'split must be one of {SPLITS}, got {split!r}.')
  if isinstance(demos_per_task, bool) or not isinstance(
      demos_per_task, int) or demos_per_task < 1:
    raise ValueError(f'demos_per_task must be an int >= 1, got '
                     f'{demos_per_task!r}.')
  if not max_attempts_factor >= 1:
    raise ValueError(f'max_attempts_factor must be >= 1, got '
                     f'{max_attempts_factor!r}.')
  tasks = list(env.tasks if tasks is None else tasks)
  expert = experts.ScriptedExpert(env)
  noise = None
  if translation_noise or rotation_noise:
    noise = experts.DartNoise(translation_noise, rotation_noise,
                              seed=[int(seed), SPLITS.index(split)])
  max_attempts = int(max_attempts_factor * demos_per_task)
  bar = (progress.ProgressBar(description, total=len(tasks) * demos_per_task,
                              unit='demos') if description else None)
  start, demos, steps = time.perf_counter(), [], 0
  attempts, successes = {}, {}
  for task in tasks:
    seeds = bcz_env.initial_state_seeds(split, env.task_table.task_id(task),
                                        max_attempts)
    attempts[task] = successes[task] = 0
    for reset_seed in seeds:
      if successes[task] == demos_per_task:
        break
      demo = experts.record_demonstration(env, expert, reset_seed, task,
                                          noise)
      attempts[task] += 1
      steps += demo.num_steps
      if demo.success:
        successes[task] += 1
        demos.append(demo)
        if bar is not None:
          bar.update(len(demos), task=task)
  if bar is not None:
    bar.close()
  return demos, CollectionStats(attempts, successes,
                                time.perf_counter() - start, steps)


def with_reset_options(episodes: Iterator[Dict[str, Any]]
                      ) -> Iterator[Dict[str, Any]]:
  """Adds each episode's `env.reset` options ({'task': its task text})."""
  for episode in episodes:
    yield dict(episode, **{RESET_OPTIONS: {'task': episode['task']}})


def check_records(file_patterns: Sequence[str],
                  env_fn: Callable[[], Any],
                  image_size: int = bcz_specs.DEFAULT_IMAGE_SIZE,
                  task_embedding_size: int = bcz_specs.DEFAULT_EMBEDDING_SIZE
                 ) -> episode_checks.EpisodeCheckReport:
  """Reads BC-Z records back and runs idle detection and label replay.

  Example:
    >>> report = check_records(['/tmp/bcz_data/train-*.tfrecord'],
    ...                        bcz_env.BCZEnv)
    >>> print(report.summary())

  Args:
    file_patterns: Globs of the records.
    env_fn: Creates the env to replay in (its tasks must include the
      records' tasks).
    image_size: The records' image size.
    task_embedding_size: The records' embedding size.

  Returns:
    The `EpisodeCheckReport`.
  """
  episodes = bcz_specs.read_episodes(list(file_patterns), image_size,
                                     task_embedding_size)
  return episode_checks.check_episodes(
      with_reset_options(episodes), env_fn=env_fn,
      reset_options_key=RESET_OPTIONS, idle_kwargs=IDLE_KWARGS)


def task_file_name(task: str) -> str:
  """The part of a record file's name that names its task.

  Example:
    >>> task_file_name('push the blue block to the left')
    'push_the_blue_block_to_the_left'
  """
  return re.sub(r'[^a-z0-9]+', '_', task.lower()).strip('_')


def check_demonstrations(demos: Sequence[experts.Demonstration],
                         env_fn: Callable[[], Any],
                         description: Optional[str] = None
                        ) -> episode_checks.EpisodeCheckReport:
  """Idle detection and label replay of recorded demos, before writing them.

  Example:
    >>> report = check_demonstrations(demos, bcz_env.BCZEnv)
    >>> kept = [demos[i] for i in report.kept_indices]

  Args:
    demos: The demonstrations.
    env_fn: Creates the env to replay in (its tasks must include the demos').
    description: If set, a progress bar with this description.

  Returns:
    The `EpisodeCheckReport`, indexed like `demos`.
  """
  episodes = ({'action': demo.actions,
               'proprioception': demo.proprioception,
               'reset_seed': demo.reset_seed,
               RESET_OPTIONS: {'task': demo.task}} for demo in demos)
  return episode_checks.check_episodes(
      episodes, env_fn=env_fn, reset_options_key=RESET_OPTIONS,
      idle_kwargs=IDLE_KWARGS, description=description, total=len(demos))


def flagged_demos(demos: Sequence[experts.Demonstration],
                  report: episode_checks.EpisodeCheckReport
                 ) -> List[Dict[str, Any]]:
  """[{'task', 'reset_seed', 'reason'}] of the demos the checks dropped."""
  flagged = []
  for demo, check in zip(demos, report.episodes):
    if check.kept:
      continue
    reason = ('idle' if check.idle.is_idle_episode else
              f'label replay: {check.replay.reason}')
    flagged.append({'task': demo.task, 'reset_seed': int(demo.reset_seed),
                    'reason': reason})
  return flagged


def write_demonstrations(path: str, demos: Sequence[experts.Demonstration],
                         table: bcz_specs.TaskTable,
                         records_per_file: Optional[int] = None,
                         overwrite: bool = False) -> List[str]:
  """Writes demos as BC-Z SequenceExamples (atomic files); returns paths."""
  return bcz_specs.write_episodes(
      path, [demo.to_episode(table) for demo in demos],
      max_records_per_file=records_per_file, overwrite=overwrite)


def existing_record_files(output_dir: str, splits: Sequence[str],
                          tasks: Sequence[str]) -> List[str]:
  """The record files of these splits and tasks already in `output_dir`.

  The script checks this before collecting, so that a directory that holds
  demos fails at once rather than after the collection (the writer refuses
  to replace files unless asked to).
  """
  return sorted(
      path for split in splits for task in tasks
      for path in tf.io.gfile.glob(os.path.join(
          output_dir, f'{split}-{task_file_name(task)}*.tfrecord')))


def _define_flags():
  """Defines the flags (only when run as a program)."""
  flags.DEFINE_string('output_dir', None, 'Where to write the records.',
                      required=True)
  flags.DEFINE_integer('demos_per_task', 50,
                       'Successful training demos per task.')
  flags.DEFINE_integer('eval_demos_per_task', 10,
                       'Successful eval demos per task (0: none).')
  flags.DEFINE_list('tasks', [], 'Task texts; default all of bcz_env.TASKS.')
  flags.DEFINE_float('translation_noise', 0.01,
                     'DART offset std per axis, metres (0: clean expert).')
  flags.DEFINE_float('rotation_noise', 0.05,
                     'DART offset std of the rotation, radians.')
  flags.DEFINE_integer('seed', 0, 'Seeds the DART noise.')
  flags.DEFINE_integer('records_per_file', 50, 'Episodes per record file.')
  flags.DEFINE_bool('check', True,
                    'Check the demos (idle detection, label replay).')
  flags.DEFINE_bool('drop_flagged', True,
                    'Drop the demos the checks flag before writing.')
  flags.DEFINE_bool('overwrite', False, 'Replace existing record files.')
  flags.DEFINE_multi_string('gin_configs', [], 'Gin config files.')
  flags.DEFINE_multi_string(
      'gin_bindings', [], "Gin bindings, e.g. \"BCZEnv.randomization = "
      "'randomized'\".")


def main(argv: Sequence[str]):
  del argv  # Everything comes from flags.
  values = flags.FLAGS
  gin.parse_config_files_and_bindings(values.gin_configs, values.gin_bindings)
  tasks = list(values.tasks) or list(bcz_env.TASKS)
  env_fn = functools.partial(
      bcz_env.BCZEnv, tasks=bcz_env.tasks_with_standard_ids(tasks))
  splits = [(split, count) for split, count in (
      ('train', values.demos_per_task), ('eval', values.eval_demos_per_task))
            if count > 0]
  existing = existing_record_files(values.output_dir,
                                   [split for split, _ in splits], tasks)
  if existing and not values.overwrite:
    sys.exit(f'collect_demos: {values.output_dir} already holds demos of '
             f'these tasks ({len(existing)} files, e.g. {existing[0]}); '
             'choose another --output_dir or pass --overwrite.')
  env = env_fn()
  os.makedirs(values.output_dir, exist_ok=True)
  try:
    for split, count in splits:
      demos, stats = collect_demonstrations(
          env, split, count, tasks=tasks,
          translation_noise=values.translation_noise,
          rotation_noise=values.rotation_noise, seed=values.seed,
          description=f'collect {split}')
      rates = ', '.join(f'{task}: {stats.successes[task]}/'
                        f'{stats.attempts[task]}' for task in tasks)
      print(f'{split}: {len(demos)} demos ({stats.steps} steps), '
            f'{stats.seconds_per_episode:.2f} s per episode; expert '
            f'successes {rates}', flush=True)
      if values.check:
        report = check_demonstrations(demos, env_fn, f'check {split}')
        print(f'{split}: {report.summary()}', flush=True)
        flagged = flagged_demos(demos, report)
        atomic_files.write_atomically(
            os.path.join(values.output_dir, f'{split}-checks.json'),
            json.dumps({'counts': report.counts, 'flagged': flagged,
                        'dropped': bool(values.drop_flagged)}, indent=1))
        if values.drop_flagged:
          demos = [demos[i] for i in report.kept_indices]
      paths = []
      for task in tasks:
        paths += write_demonstrations(
            os.path.join(values.output_dir,
                         f'{split}-{task_file_name(task)}.tfrecord'),
            [demo for demo in demos if demo.task == task], env.task_table,
            values.records_per_file, values.overwrite)
      read_back = sum(1 for _ in bcz_specs.read_episodes(paths))
      if read_back != len(demos):
        raise RuntimeError(f'collect_demos: wrote {len(demos)} {split} demos '
                           f'but read back {read_back} from {paths}.')
      print(f'{split}: wrote {len(demos)} demos to {len(paths)} files '
            f"{os.path.join(values.output_dir, split + '-*.tfrecord')}",
            flush=True)
  finally:
    env.close()


if __name__ == '__main__':
  _define_flags()
  app.run(main)
