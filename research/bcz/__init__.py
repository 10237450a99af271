"""BC-Z: multi-task imitation learning from demonstrations (Jang et al. 2021).

  bcz_specs  the episode record (one SequenceExample per demonstration),
             task embeddings, writing and reading episodes
  bcz_model  BCZModel (FiLM image tower + waypoint or MDN head) and
             BCZPreprocessor (cuts per-step examples from episodes)
  bcz_env    BCZEnv: the tasks in the KUKA scene (gymnasium, pybullet)
  experts    ScriptedExpert (privileged waypoints), DartNoise, recording
  collect_demos  the script that records, writes and checks demos
  evaluate   evaluate_policy: closed-loop success per task on held-out
             initial states; expert, random and exported-model policies
  configs/   bcz_cpu.gin (small tower, 64x64), bcz_resnet18.gin (BC-Z's full
             config), bcz_mdn.gin (the MDN head)

The data checks run before training (label replay, idle detection) are
generic and live in `t2r.data.episode_checks`.

Example:
  >>> from research import bcz
  >>> table = bcz.TaskTable(['pick the red block', 'reach the bowl'])
  >>> model = bcz.BCZModel(image_size=64)

The names below load on first use (PEP 562), so that importing the package
does not import TensorFlow.
"""

import importlib

_EXPORTS = {
    'BCZEnv': 'bcz_env',
    'TASKS': 'bcz_env',
    'initial_state_seeds': 'bcz_env',
    'DartNoise': 'experts',
    'ScriptedExpert': 'experts',
    'record_demonstration': 'experts',
    'ExpertPolicy': 'evaluate',
    'ExportedPolicy': 'evaluate',
    'RandomPolicy': 'evaluate',
    'evaluate_policy': 'evaluate',
    'BCZModel': 'bcz_model',
    'BCZPreprocessor': 'bcz_model',
    'get_bcz_episode_specs': 'bcz_specs',
    'make_episode': 'bcz_specs',
    'read_episodes': 'bcz_specs',
    'task_embedding': 'bcz_specs',
    'TaskTable': 'bcz_specs',
    'write_episodes': 'bcz_specs',
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
  if name not in _EXPORTS:
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
  module = importlib.import_module(f'{__name__}.{_EXPORTS[name]}')
  value = getattr(module, name)
  globals()[name] = value
  return value


def __dir__():
  return sorted(set(globals()) | set(__all__))
