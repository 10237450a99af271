"""The flywheel's end: a table per evaluated export and a PNG curve."""

import io
import os

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
