"""`MultiEvalRecordInputGenerator`: several named evaluation sets.

E.g. held-out scenes, novel objects and the training distribution, each
reported on its own. Given as `input_generator_eval` to `train_eval_model`,
every set is evaluated at each evaluation, and its metrics are written under
model_dir/eval_<name>/ (Tensor2Robot's directory for a named evaluation) and
returned under 'eval_<name>'.

Tensor2Robot ran one evaluation job per set instead, choosing the set by the
`multi_eval_name` entry of the TF_CONFIG environment variable; that still
works: with `multi_eval_name` set, the generator holds only that set.
"""

import copy
import json
import os
from typing import Any, List, Mapping, Optional

import gin

from t2r.data import record_input_generator

_TF_CONFIG = 'TF_CONFIG'
_MULTI_EVAL_NAME = 'multi_eval_name'


def get_multi_eval_name(
    tf_config_env: Optional[Mapping[str, Any]] = None) -> Optional[str]:
  """Returns the eval set named by TF_CONFIG's 'multi_eval_name', or None.

  Example:
    >>> os.environ['TF_CONFIG'] = json.dumps({'multi_eval_name': 'novel'})
    >>> get_multi_eval_name()
    'novel'

  Args:
    tf_config_env: The parsed TF_CONFIG; None reads the TF_CONFIG
      environment variable (JSON).

  Returns:
    The name, or None if TF_CONFIG is unset or has no 'multi_eval_name'.

  Raises:
    ValueError: If the TF_CONFIG environment variable is not a JSON object.
  """
  if tf_config_env is None:
    text = os.environ.get(_TF_CONFIG, '{}')
    try:
      tf_config_env = json.loads(text)
    except json.JSONDecodeError as e:
      raise ValueError(
          f'The {_TF_CONFIG} environment variable is not JSON ({e}): '
          f'{text!r}.') from e
    if not isinstance(tf_config_env, dict):
      raise ValueError(f'The {_TF_CONFIG} environment variable must hold a '
                       f'JSON object, got {text!r}.')
  return tf_config_env.get(_MULTI_EVAL_NAME)


def _check_eval_map(eval_map: Any):
  if not isinstance(eval_map, Mapping) or not eval_map:
    raise ValueError(
        'MultiEvalRecordInputGenerator: eval_map must be a non-empty dict '
        "{name: file_patterns}, e.g. {'novel': 'tfrecord:/data/novel-*'}, "
        f'got {eval_map!r}.')
  for name, patterns in eval_map.items():
    if not isinstance(name, str) or not name or name in (
        '.', '..') or '/' in name or os.sep in name:
      raise ValueError(
          f'MultiEvalRecordInputGenerator: eval set name {name!r} must be a '
          'non-empty string usable as a directory name (no path separator); '
          "its summaries go to model_dir/eval_<name>.")
    if not isinstance(patterns, str) or not patterns:
      raise ValueError(
          f'MultiEvalRecordInputGenerator: eval_map[{name!r}] must be a file '
          f'pattern string such as \'tfrecord:/data/{name}-*\', got '
          f'{patterns!r}.')


@gin.configurable
class MultiEvalRecordInputGenerator(
    record_input_generator.DefaultRecordInputGenerator):
  """Evaluation records from several named file pattern strings.

  Example (gin):
    train_eval_model.input_generator_eval = @MultiEvalRecordInputGenerator()
    MultiEvalRecordInputGenerator.eval_map = {
        'seen': 'tfrecord:/data/seen-*', 'novel': 'tfrecord:/data/novel-*'}
    MultiEvalRecordInputGenerator.batch_size = 32

  `train_eval_model` evaluates every set; elsewhere, `eval_generator(name)`
  returns a generator reading one set (a generator that holds one set, e.g.
  chosen by TF_CONFIG, also creates its dataset directly). All sets share
  the other arguments, the specs and the skipped-records count.

  Args:
    eval_map: `{name: file_patterns}`: one eval set per entry, each a
      comma-separated glob string as for `DefaultRecordInputGenerator`.
    **kwargs: Other `DefaultRecordInputGenerator` arguments (batch_size,
      num_epochs, seed, ...); not file_patterns or dataset_map.

  Raises:
    ValueError: If `eval_map` is empty, a name is not a valid directory name,
      a value is not a pattern string, file_patterns or dataset_map is
      given, or TF_CONFIG's multi_eval_name is not in `eval_map`.
  """

  def __init__(self, eval_map: Mapping[str, str], **kwargs):
    _check_eval_map(eval_map)
    if 'file_patterns' in kwargs or 'dataset_map' in kwargs:
      raise ValueError(
          'MultiEvalRecordInputGenerator reads the file patterns of eval_map '
          '({name: file_patterns}); do not pass file_patterns or '
          'dataset_map.')
    selected = get_multi_eval_name()
    if selected is not None:
      if selected not in eval_map:
        raise ValueError(
            f"TF_CONFIG's {_MULTI_EVAL_NAME} is {selected!r}, which is not an "
            f'eval set of eval_map {sorted(eval_map)}. Add it to eval_map or '
            'fix TF_CONFIG.')
      eval_map = {selected: eval_map[selected]}
    self._eval_map = dict(eval_map)
    super().__init__(file_patterns=next(iter(self._eval_map.values())),
                     **kwargs)

  @property
  def eval_names(self) -> List[str]:
    """The names of the eval sets, in `eval_map` order."""
    return list(self._eval_map)

  def eval_generator(self, name: str) -> 'MultiEvalRecordInputGenerator':
    """Returns a generator that reads only the eval set `name`.

    Example:
      >>> novel = generator.eval_generator('novel')
      >>> novel.set_specification_from_model(model, ModeKeys.EVAL)
      >>> dataset = novel.create_dataset(ModeKeys.EVAL)

    Args:
      name: One of `eval_names`.

    Returns:
      A copy of this generator (same arguments, specs and seed) holding only
      that set.

    Raises:
      ValueError: If `name` is not an eval set.
    """
    if name not in self._eval_map:
      raise ValueError(
          f'MultiEvalRecordInputGenerator has no eval set {name!r}; its sets '
          f'are {self.eval_names}.')
    # pylint: disable=protected-access
    single = copy.copy(self)
    single._eval_map = {name: self._eval_map[name]}
    single._file_patterns = self._eval_map[name]
    return single

  def _create_dataset(self, mode, batch_size, input_context):
    if len(self._eval_map) > 1:
      raise ValueError(
          f'MultiEvalRecordInputGenerator holds the eval sets '
          f'{self.eval_names}; create one dataset per set with '
          'eval_generator(name).create_dataset(...), or pass the generator '
          'as train_eval_model(input_generator_eval=...), which evaluates '
          'every set.')
    return super()._create_dataset(mode, batch_size, input_context)
