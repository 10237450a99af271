"""QT-Opt's CEM action latency: the export's `cem_action` vs two references.

All three pick one action for one 512x640 camera image with the full-size
Grasping44 critic (`research.qtopt.grasping_critic`, 472x472 centre crop,
untrained: speed does not depend on the weights), 3 CEM rounds of 64
candidates:

  ours      `CEMPolicy(exported_cem_signature='cem_action')`: one call of
            the export's in-graph CEM through `ExportedSavedModelPredictor`
            (the image tower once per state, the Q head per candidate);
  T2R's way `CEMPolicy` with CEM in Python: three predict calls of the
            export's default signature, each scoring 64 candidates with the
            whole network (the image repeated per candidate, as T2R's CEM
            policy fed its critic);
  floor     the hand-written minimum: the tower once and three head calls
            of 64 candidates, as bare `tf.function`s of the same layers
            (no crop, no CEM bookkeeping, no signature).

Each is timed over `--rounds` calls after a warm-up; medians are compared.
`--samples` adds rows for smaller CEM populations (the head's share of the
cost shrinks with them, the tower's does not).

  python benchmarks/qtopt_cem.py [--rounds=5 --t2r_rounds=2 --samples=32,16]

The last line is
  qtopt_cem: ratio <ours/floor> (ours <ms> ms, floor <ms> ms, T2R's way
  <ms> ms = <x>x ours)
"""

if __name__ == '__main__':
  from t2r import quiet_logs  # pylint: disable=g-import-not-at-top
  quiet_logs.quiet_tensorflow_logs()

import statistics
import tempfile
import time
from typing import Callable, List

from absl import app
from absl import flags
import numpy as np
import tensorflow as tf

from research.qtopt import grasping_critic
from t2r import policies
from t2r.policies import cem_export_generator
from t2r.predictors.exported_savedmodel_predictor import ExportedSavedModelPredictor

_ROUNDS = flags.DEFINE_integer('rounds', 5, 'Timed calls of ours and floor.')
_T2R_ROUNDS = flags.DEFINE_integer('t2r_rounds', 2,
                                   "Timed calls of T2R's way (slow).")
_SAMPLES = flags.DEFINE_list('samples', ['32'],
                             'Smaller CEM populations to time as well.')

_ITERATIONS, _ELITES, _ACTION_SIZE = 3, 6, 4
_SOURCE, _CROP = (512, 640), 472


def _critic(num_samples: int) -> grasping_critic.GraspingCriticModel:
  return grasping_critic.GraspingCriticModel(
      network='full', image_size=_CROP, source_image_size=_SOURCE,
      action_size=_ACTION_SIZE, gamma=0.0, action_batch_size=num_samples)


def _median_ms(call: Callable[[], object], rounds: int) -> float:
  call()  # Warm-up.
  times = []
  for _ in range(rounds):
    start = time.perf_counter()
    call()
    times.append(time.perf_counter() - start)
  return 1000.0 * statistics.median(times)


def _observation(rng: np.random.Generator) -> dict:
  return {'image': rng.integers(0, 256, (*_SOURCE, 3), np.uint8),
          'gripper_pose': rng.normal(size=4).astype(np.float32),
          'time_to_go': np.ones(1, np.float32)}


def _policy_call(policy, obs) -> Callable[[], object]:
  return lambda: policy.sample_action(obs, explore_prob=0.0)


def _floor(critic, num_samples: int) -> Callable[[], object]:
  """The same layers' minimum work: tower once, head per candidate."""
  network = critic.q_network.network
  image = tf.random.uniform((1, _CROP, _CROP, 3))
  proprio_action = tf.random.uniform((num_samples, _ACTION_SIZE + 5))
  tower = tf.function(lambda x: network.state_embedding(x, training=False))
  head = tf.function(lambda e, a: network.q_from_state_embedding(
      tf.repeat(e, num_samples, axis=0), a, training=False))

  def call():
    embedding = tower(image)
    return [head(embedding, proprio_action).numpy()
            for _ in range(_ITERATIONS)]

  return call


def _export(directory: str, num_samples: int):
  critic = _critic(num_samples)
  cem_export_generator.CEMExportGenerator(
      num_samples=num_samples, num_elites=_ELITES, cem_iterations=_ITERATIONS,
      export_tf_example_signature=False).export(critic, directory, 1)
  predictor = ExportedSavedModelPredictor(directory)
  if not predictor.restore():
    raise RuntimeError(f'No export to load in {directory}.')
  return critic, predictor


def main(argv: List[str]):
  del argv
  obs = _observation(np.random.default_rng(0))
  rows = []
  for num_samples in [64] + [int(n) for n in _SAMPLES.value if int(n) != 64]:
    with tempfile.TemporaryDirectory() as directory:
      critic, predictor = _export(directory, num_samples)
      cem = dict(cem_iterations=_ITERATIONS, num_samples=num_samples,
                 num_elites=_ELITES, seed=0)
      ours = _median_ms(_policy_call(policies.CEMPolicy(
          predictor, exported_cem_signature='cem_action', **cem), obs),
                        _ROUNDS.value)
      floor = _median_ms(_floor(critic, num_samples), _ROUNDS.value)
      t2r = (_median_ms(_policy_call(policies.CEMPolicy(predictor, **cem),
                                     obs), _T2R_ROUNDS.value)
             if num_samples == 64 else None)
    rows.append((num_samples, ours, floor, t2r))
    print(f'{num_samples:3d} samples x {_ITERATIONS} rounds: ours '
          f'{ours:8.0f} ms  floor {floor:8.0f} ms  ours/floor '
          f'{ours / floor:5.2f}' + (
              f"  T2R's way {t2r:8.0f} ms = {t2r / ours:5.1f}x ours"
              if t2r else ''), flush=True)
  _, ours, floor, t2r = rows[0]
  print(f"qtopt_cem: ratio {ours / floor:.2f} (ours {ours:.0f} ms, floor "
        f"{floor:.0f} ms, T2R's way {t2r:.0f} ms = {t2r / ours:.1f}x ours)")


if __name__ == '__main__':
  app.run(main)
