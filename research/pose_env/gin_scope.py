"""Runs a block of code under exactly one gin configuration.

A job that runs several stages, each with its own config file (collection,
training of one model, training of another), owns gin's global configuration:
each stage clears it and parses its own files, so no binding leaks from one
stage into the next.
"""

import contextlib
from typing import Iterator, Sequence

import gin


@contextlib.contextmanager
def gin_config(config_files: Sequence[str],
               bindings: Sequence[str] = ()) -> Iterator[None]:
  """Within the block gin holds exactly these files and bindings.

  Example:
    >>> with gin_config(['research/pose_env/configs/collect.gin'],
    ...                 ['PoseEnv.hidden_drift = True']):
    ...   env = pose_env.PoseEnv()

  Args:
    config_files: Gin files parsed in order.
    bindings: Gin bindings applied after the files.

  Yields:
    Nothing; gin's configuration is cleared again when the block exits.
  """
  gin.clear_config()
  try:
    gin.parse_config_files_and_bindings(list(config_files), list(bindings))
    yield
  finally:
    gin.clear_config()
