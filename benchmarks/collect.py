"""Collection throughput: `run_env` vs a bare hand-written episode loop.

Both act in the pose environment (pybullet rendering, 64x64 images) with the
same critic export's in-graph CEM (`cem_action`, an untrained
`PoseEnvContinuousMCModel`: speed does not depend on the weights). Ours is
`t2r.collect.run_env` with a `CEMPolicy` over an
`ExportedSavedModelPredictor` (spec-checked features, exploration wrapper,
episode bookkeeping, summaries off, no records written). The baseline steps
the same environments and calls the SavedModel signature directly with
hand-stacked tensors. With N envs both make one model call per step for all
N (N = 1 and 8 below).

Rounds alternate between the two; the median episodes/s of each is
compared.

  python benchmarks/collect.py [--episodes=64 --rounds=5]

The last line is
  collect: ratio <ours/baseline> (<ours> vs <baseline> episodes/s, 8 envs)
"""

if __name__ == '__main__':
  from t2r import quiet_logs  # pylint: disable=g-import-not-at-top
  quiet_logs.quiet_tensorflow_logs()

import statistics
import tempfile
import time

from absl import app
from absl import flags
import numpy as np
import tensorflow as tf

from research.pose_env import pose_env
from research.pose_env import pose_env_models
from t2r import collect
from t2r import policies
from t2r.policies import cem_export_generator
from t2r.predictors.exported_savedmodel_predictor import ExportedSavedModelPredictor

_EPISODES = flags.DEFINE_integer('episodes', 64, 'Episodes per round.')
_ROUNDS = flags.DEFINE_integer('rounds', 5, 'Rounds per side.')

_LOW, _HIGH = (-0.7, -0.4), (0.7, 0.4)
_NUM_SAMPLES = 64


def _export(directory: str) -> str:
  model = pose_env_models.PoseEnvContinuousMCModel(
      image_size=64, action_batch_size=_NUM_SAMPLES)
  return cem_export_generator.CEMExportGenerator(
      action_low=_LOW, action_high=_HIGH, num_samples=_NUM_SAMPLES,
      export_tf_example_signature=False).export(model, directory, 1)


def _ours(envs, policy, episodes: int) -> float:
  start = time.perf_counter()
  collect.run_env(envs, policy, num_episodes=episodes, seed=0,
                  write_summaries=False, show_progress=False)
  return episodes / (time.perf_counter() - start)


def _baseline(envs, signature, episodes: int) -> float:
  """Resets, one signature call per step for all envs, steps; no checks."""
  rng = np.random.default_rng(0)
  start, done_episodes = time.perf_counter(), 0
  while done_episodes < episodes:
    count = min(len(envs), episodes - done_episodes)
    images = [envs[i].reset(seed=done_episodes + i)[0] for i in range(count)]
    active = list(range(count))
    while active:
      outputs = signature(
          state_image=tf.constant(np.stack([images[i] for i in active])),
          cem_seed=tf.constant(rng.integers(2**62, size=len(active)),
                               tf.int64))
      actions = outputs['action'].numpy()
      still = []
      for row, i in enumerate(active):
        images[i], _, terminated, truncated, _ = envs[i].step(actions[row])
        if not (terminated or truncated):
          still.append(i)
      active = still
    done_episodes += count
  return episodes / (time.perf_counter() - start)


def main(argv):
  del argv
  with tempfile.TemporaryDirectory() as directory:
    path = _export(directory)
    predictor = ExportedSavedModelPredictor(path, timeout=0)
    predictor.restore()
    policy = policies.EpsilonRandomPolicy(
        policies.CEMPolicy(predictor, exported_cem_signature='cem_action',
                           seed=0), _LOW, _HIGH, seed=1)
    signature = tf.saved_model.load(path).signatures['cem_action']
    results = {}
    for num_envs in (1, 8):
      envs = [pose_env.PoseEnv(image_size=64) for _ in range(num_envs)]
      _ours(envs, policy, num_envs)  # Warm up both paths.
      _baseline(envs, signature, num_envs)
      ours, baseline = [], []
      for _ in range(_ROUNDS.value):
        ours.append(_ours(envs, policy, _EPISODES.value))
        baseline.append(_baseline(envs, signature, _EPISODES.value))
      results[num_envs] = (statistics.median(ours),
                           statistics.median(baseline))
      print(f'{num_envs} env(s): run_env {results[num_envs][0]:.1f}, bare '
            f'loop {results[num_envs][1]:.1f} episodes/s')
      for env in envs:
        env.close()
    ours_8, baseline_8 = results[8]
    print(f'batching: run_env 8 envs / 1 env = '
          f'{ours_8 / results[1][0]:.2f}x')
    print(f'collect: ratio {ours_8 / baseline_8:.3f} ({ours_8:.1f} vs '
          f'{baseline_8:.1f} episodes/s, 8 envs)')


if __name__ == '__main__':
  app.run(main)
