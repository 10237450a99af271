"""Where collectors put replay files, and how readers find them.

Layout (Tensor2Robot's): `root_dir/policy_<tag>/gs<step>_<tag>_<time>_<pid>
.tfrecord`, one directory per collector tag ('collect', 'eval', ...), the
base name from `t2r.data.replay_input_generator.replay_file_name`: sorting
the names sorts the files by the step of the policy that wrote them (then by
tag, then by time), which is how `GrowingReplayInputGenerator(newest_files=N)` keeps the
newest. Writers complete every file by an atomic rename; readers glob
`replay_pattern(...)`, which never matches the writers' temporary names.

Example:
  >>> replay_file_path('/tmp/run', 'collect', 1200)
  '/tmp/run/policy_collect/gs000000001200_collect_20261202T101500123456Z_4242.tfrecord'
  >>> replay_pattern('/tmp/run')
  '/tmp/run/policy_*/gs*.tfrecord'
"""

import os
import re
from typing import Optional

from t2r.data import replay_input_generator

_TAG = re.compile(r'^[A-Za-z0-9][A-Za-z0-9.-]*$')


def check_tag(tag: str) -> str:
  """Returns `tag` if it is a valid collector tag.

  Raises:
    ValueError: If the tag is empty or holds characters other than letters,
      digits, '.' and '-' (an '_' would make the file names ambiguous).
  """
  if not isinstance(tag, str) or not _TAG.match(tag):
    raise ValueError(
        f'A collector tag must be letters, digits, "." or "-" (no "_", no '
        f'"/"), starting with a letter or digit; got {tag!r}.')
  return tag


def policy_dir(root_dir: str, tag: str) -> str:
  """`root_dir/policy_<tag>`: the replay files of the collectors of `tag`."""
  return os.path.join(root_dir, f'policy_{check_tag(tag)}')


def replay_file_path(root_dir: str, tag: str, global_step: int,
                     pid: Optional[int] = None) -> str:
  """A new replay file name for a collector of `tag` at `global_step`.

  Args:
    root_dir: The flywheel's root directory (any `tf.io.gfile` filesystem).
    tag: The collector tag (see `check_tag`).
    global_step: The step of the policy's weights; below 0 (no trained
      weights: the random bootstrap) counts as 0.
    pid: The writing process (default: this one).

  Returns:
    `root_dir/policy_<tag>/gs<step>_<tag>_<UTC time>_<pid>.tfrecord`.
  """
  name = replay_input_generator.replay_file_name(
      max(int(global_step), 0), check_tag(tag), pid=pid)
  return os.path.join(policy_dir(root_dir, tag), name)


def replay_pattern(root_dir: str, tag: str = '*') -> str:
  """The glob of the complete replay files of `tag` ('*': every tag)."""
  if tag != '*':
    check_tag(tag)
  return os.path.join(root_dir, f'policy_{tag}', 'gs*.tfrecord')
