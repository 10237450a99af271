"""The scripted experts and DART-noised recording."""

import numpy as np
import pytest

from research.bcz import bcz_env
from research.bcz import experts


@pytest.fixture(scope='module')
def env():
  made = bcz_env.BCZEnv()
  yield made
  made.close()


@pytest.mark.parametrize('task', bcz_env.TASKS)
def test_expert_solves_each_task(env, task):
  expert = experts.ScriptedExpert(env)
  for seed in (0, 1):
    demo = experts.record_demonstration(env, expert, seed, task)
    assert demo.success, (task, seed, expert.phase)
    assert demo.num_steps < env.max_steps
    np.testing.assert_array_equal(demo.actions, demo.executed_actions)


@pytest.mark.parametrize('straight_line', [True, False])
def test_the_approach_moves_straight_or_per_axis(env, straight_line):
  env.reset(seed=0, options={'task': 'pick up the red block'})
  state = env.privileged_state()
  hover = state['object_positions']['red block'] + [
      0.0, 0.0, bcz_env.FINGERTIP_OFFSET + experts.HOVER_HEIGHT]
  offset = hover - state['target'][:3]
  expert = experts.ScriptedExpert(env, straight_line=straight_line)
  step = 0.8 * env.max_translation
  assert np.abs(offset).max() > step  # A long approach: the step binds.
  expected = (offset * step / np.abs(offset).max() if straight_line else
              np.clip(offset, -step, step))
  np.testing.assert_allclose(expert.action()[:3], expected, atol=1e-6)


def test_dart_labels_are_the_clean_expert_in_the_states_reached(env):
  task = 'pick up the duck'
  demo = experts.record_demonstration(
      env, experts.ScriptedExpert(env), 5, task,
      noise=experts.DartNoise(0.01, 0.05, seed=0))
  assert demo.success
  differs = np.any(np.abs(demo.actions - demo.executed_actions) > 1e-4,
                   axis=1)
  assert 2 <= differs.sum() < demo.num_steps
  np.testing.assert_array_equal(demo.actions[:, 6],
                                demo.executed_actions[:, 6])
  # A second, noise-free expert watching the same executed run commands
  # exactly the recorded labels.
  observer = experts.ScriptedExpert(env)
  env.reset(seed=5, options={'task': task})
  for label, executed in zip(demo.actions, demo.executed_actions):
    np.testing.assert_allclose(observer.action(), label, atol=1e-6)
    env.step(executed)


def test_demonstrations_record_where_the_named_object_is(env):
  task = 'pick up the duck'
  demo = experts.record_demonstration(env, experts.ScriptedExpert(env), 0,
                                      task)
  assert demo.target_positions.shape == (demo.num_steps, 3)
  env.reset(seed=0, options={'task': task})
  np.testing.assert_allclose(demo.target_positions[0],
                             env.privileged_state()['object_positions']['duck'],
                             atol=1e-6)
  # The pick lifts it: the last steps see it above where it lay.
  assert demo.target_positions[-1, 2] > demo.target_positions[0, 2] + 0.02


def test_dart_offsets_do_not_add_up():
  noise = experts.DartNoise(0.02, 0.1, seed=1)
  clean = np.zeros(7, np.float32)
  low, high = np.full(7, -0.03), np.full(7, 0.03)
  executed = [noise.perturb(clean, noisy=True, low=low, high=high)
              for _ in range(20)]
  executed += [noise.perturb(clean, noisy=False, low=low, high=high)
               for _ in range(5)]
  executed = np.stack(executed)
  assert executed[:20, :3].std() > 0.01
  assert np.all(np.abs(executed) <= 0.03 + 1e-7)
  # The perturbations telescope: back at no offset, they sum to zero.
  np.testing.assert_allclose(executed.sum(axis=0), 0.0, atol=1e-5)
  np.testing.assert_array_equal(noise.offset, np.zeros(4))


def test_same_noise_seed_same_demonstration(env):
  demos = [experts.record_demonstration(
      env, experts.ScriptedExpert(env), 2, 'reach the blue block',
      noise=experts.DartNoise(seed=3)) for _ in range(2)]
  np.testing.assert_array_equal(demos[0].executed_actions,
                                demos[1].executed_actions)
  np.testing.assert_array_equal(demos[0].images, demos[1].images)


def test_bad_expert_and_noise_arguments_are_explained(env):
  with pytest.raises(TypeError, match='BCZEnv'):
    experts.ScriptedExpert(object())
  with pytest.raises(ValueError, match='speed'):
    experts.ScriptedExpert(env, speed=1.5)
  with pytest.raises(ValueError, match='translation_std'):
    experts.DartNoise(translation_std=-0.1)
  with pytest.raises(ValueError, match='seed'):
    experts.record_demonstration(env, experts.ScriptedExpert(env), -1,
                                 'reach the duck')
