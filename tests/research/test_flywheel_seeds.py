"""Seed sweeps of flywheel configs: which runs are finished, what they did."""

from research import flywheel_seeds
from t2r.collect import status_files


def _history(*steps):
  return [{'global_step': s, 'success_rate': 0.5} for s in steps]


def test_a_run_is_finished_once_its_evaluator_scored_the_last_step(tmp_path):
  root = str(tmp_path)
  assert not flywheel_seeds.finished(root, 100)
  status_files.write_status(root, 'evaluator', {'history': _history(50)})
  assert not flywheel_seeds.finished(root, 100)
  status_files.write_status(root, 'evaluator', {'history': _history(50, 100)})
  assert flywheel_seeds.finished(root, 100)


def test_collected_episodes_add_up_every_collector(tmp_path):
  root = str(tmp_path)
  status_files.write_status(root, 'collector-0', {'episodes': 30})
  status_files.write_status(root, 'collector-1', {'episodes': 12})
  status_files.write_status(root, 'evaluator', {'episodes': 99})
  assert flywheel_seeds.collected_episodes(root) == 42


def test_a_finished_run_is_reused_without_running(tmp_path):
  root = str(tmp_path)
  status_files.write_status(root, 'evaluator', {'history': _history(100)})
  seconds = flywheel_seeds.run_seed('no/such/config.gin', 0, root, 100)
  assert seconds != seconds  # NaN: nothing ran (the config does not exist).


def test_run_seeds_gives_each_seed_its_directory_and_result(tmp_path):
  for seed in (3, 5):
    status_files.write_status(str(tmp_path / f'seed{seed}'), 'evaluator',
                              {'history': _history(100)})
  results = flywheel_seeds.run_seeds(
      'no/such/config.gin', [3, 5], str(tmp_path), 100, [],
      lambda seed, root_dir, seconds: (seed, root_dir))
  assert results == [(3, str(tmp_path / 'seed3')),
                     (5, str(tmp_path / 'seed5'))]
