"""The flywheel's end: a table per evaluated export and a PNG curve."""

import io
import os

import numpy as np
from PIL import Image

from t2r.collect import flywheel_report
from t2r.collect import status_files

HISTORY = [
    {'global_step': 100, 'success_rate': 0.25, 'mean_return': -0.3,
     'mean_length': 1.0},
    {'global_step': 200, 'success_rate': 0.5, 'mean_return': -0.1,
     'mean_length': 1.0},
]


def test_the_table_has_a_row_per_export():
  table = flywheel_report.summary_table(HISTORY).splitlines()
  assert table[0].startswith('| export step | eval success |')
  assert table[2:] == ['| 100 | 0.250 | -0.3 | 1.0 |',
                       '| 200 | 0.500 | -0.1 | 1.0 |']


def test_the_table_leads_with_collected_episodes_when_recorded():
  history = [dict(row, collected_episodes=episodes)
             for row, episodes in zip(HISTORY, (250, 600))]
  table = flywheel_report.summary_table(history).splitlines()
  assert table[0].startswith('| collected episodes | export step |')
  assert table[2:] == ['| 250 | 100 | 0.250 | -0.3 | 1.0 |',
                       '| 600 | 200 | 0.500 | -0.1 | 1.0 |']


def _curve_pixels(tmp_path, history):
  path = str(tmp_path / 'curve.png')
  flywheel_report.draw_curve(history, path)
  with Image.open(path) as image:
    return np.asarray(image.convert('RGB')).tobytes()


def test_the_curve_runs_along_the_collected_episodes_when_recorded(tmp_path):
  # Episodes 0 and 900 versus steps 100 and 200: the same two points span
  # the axis either way, but an episode axis puts a middle point elsewhere.
  rows = [dict(HISTORY[0], global_step=100, collected_episodes=0),
          dict(HISTORY[1], global_step=110, collected_episodes=100),
          dict(HISTORY[1], global_step=200, collected_episodes=900)]
  by_episodes = _curve_pixels(tmp_path, rows)
  by_steps = _curve_pixels(tmp_path, [
      {k: v for k, v in row.items() if k != 'collected_episodes'}
      for row in rows])
  assert by_episodes != by_steps


def test_the_report_prints_totals_and_draws_the_curve(tmp_path):
  root = str(tmp_path)
  status_files.write_status(root, 'evaluator', {'history': HISTORY})
  status_files.write_status(root, 'collector-0', {'episodes': 30})
  status_files.write_status(root, 'collector-1', {'episodes': 12})
  status_files.write_status(root, 'trainer', {'global_step': 200})
  stream = io.StringIO()
  report = flywheel_report.report(root, stream)
  assert 'trainer step 200, 42 episodes collected' in stream.getvalue()
  assert report['figure'] == os.path.join(root, 'flywheel.png')
  with Image.open(report['figure']) as image:
    assert image.size == (640, 360)


def test_without_evaluations_there_is_no_picture(tmp_path):
  report = flywheel_report.report(str(tmp_path), io.StringIO())
  assert report['figure'] is None and report['history'] == []
