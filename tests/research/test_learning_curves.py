"""Learning curves over seeds: one coloured curve per run, baselines dashed."""

import numpy as np
import pytest

from research import learning_curves


def _pixels(image):
  return np.asarray(image.convert('RGB'))


def test_each_curve_gets_its_own_colour():
  image = learning_curves.draw_learning_curves(
      {'seed 0': [(0, 0.2), (1000, 0.8)], 'seed 1': [(0, 0.3), (900, 0.7)]})
  colours = {tuple(p) for p in _pixels(image).reshape(-1, 3)}
  for colour in learning_curves._COLOURS[:2]:  # pylint: disable=protected-access
    assert colour in colours


def test_a_baseline_is_a_grey_line_at_its_success_rate():
  without = _pixels(learning_curves.draw_learning_curves(
      {'seed 0': [(0, 0.2), (1000, 0.8)]}))
  with_baseline = _pixels(learning_curves.draw_learning_curves(
      {'seed 0': [(0, 0.2), (1000, 0.8)]}, baselines={'random': 0.5}))
  changed_rows = np.where(np.any(without != with_baseline, axis=(1, 2)))[0]
  top, bottom = learning_curves._TOP, (  # pylint: disable=protected-access
      learning_curves._HEIGHT - learning_curves._BOTTOM)  # pylint: disable=protected-access
  middle = (top + bottom) / 2
  assert np.any(np.abs(changed_rows - middle) <= 2)


def test_no_points_is_a_clear_error():
  with pytest.raises(ValueError, match='no points'):
    learning_curves.draw_learning_curves({'seed 0': []})
