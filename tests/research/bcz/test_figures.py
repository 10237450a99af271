"""The BC-Z result pictures: success per task and the demo contact sheet."""

import numpy as np
import pytest

from research.bcz import figures


def test_success_plot_has_a_bar_per_policy_and_task():
  results = {'expert': {'reach the duck': [1.0], 'pick up the duck': [0.9]},
             'bc': {'reach the duck': [0.8, 0.9, 1.0],
                    'pick up the duck': [0.0, 0.1, 0.2]}}
  image = np.asarray(figures.draw_success_per_task(results))
  # The first group's two bars: the expert's reaches higher than the bc's.
  blue, orange = (31, 119, 180), (255, 127, 14)
  rows_blue = np.where((image == blue).all(-1).any(1))[0]
  rows_orange = np.where((image == orange).all(-1).any(1))[0]
  legend_end = 16 + 20 + 18 * 2
  assert rows_blue[rows_blue > legend_end].min() < rows_orange[
      rows_orange > legend_end].min()


def test_success_plot_rejects_policies_over_different_tasks():
  with pytest.raises(ValueError, match="policy 'bc' has tasks"):
    figures.draw_success_per_task({'expert': {'a': [1.0]},
                                   'bc': {'b': [1.0]}})


def test_contact_sheet_shows_every_task_row_and_frame():
  red = np.zeros((8, 8, 3), np.uint8)
  red[..., 0] = 255
  sheet = figures.demo_contact_sheet({'a': [red, red], 'b': [red]}, scale=2)
  pixels = np.asarray(sheet)
  assert ((pixels == (255, 0, 0)).all(-1)).sum() == 3 * 16 * 16


def test_contact_sheet_rejects_mixed_frame_shapes():
  with pytest.raises(ValueError, match='share one'):
    figures.demo_contact_sheet({'a': [np.zeros((8, 8, 3), np.uint8),
                                      np.zeros((4, 4, 3), np.uint8)]})


def test_frames_of_episodes_takes_the_first_episode_per_task():
  episodes = [{'task': b'a', 'image': np.arange(5)[:, None, None, None] *
               np.ones((5, 2, 2, 3), np.uint8)},
              {'task': 'a', 'image': np.zeros((3, 2, 2, 3), np.uint8)},
              {'task': 'b', 'image': np.ones((2, 2, 2, 3), np.uint8)}]
  frames = figures.frames_of_episodes(episodes, frames_per_episode=3)
  assert list(frames) == ['a', 'b']
  assert frames['a'][:, 0, 0, 0].tolist() == [0, 2, 4]
