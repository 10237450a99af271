"""Results over seeds: mean ± sd, worst, and whether every seed meets the target."""

import math

import numpy as np

import pytest

from research import seed_summary


def test_docstring_example():
  summary = seed_summary.summarize('cem critic', [0.039, 0.042, 0.039],
                                   lower_is_better=True, target=0.06)
  assert summary.format() == ('0.0400 ± 0.0017 (worst 0.0420, 3/3 seeds '
                              'meet 0.06)')


@pytest.mark.parametrize('lower_is_better,worst,worst_seed',
                         [(True, 0.9, 12), (False, 0.1, 10)])
def test_worst_follows_the_direction(lower_is_better, worst, worst_seed):
  summary = seed_summary.summarize('x', [0.1, 0.5, 0.9], seeds=[10, 11, 12],
                                   lower_is_better=lower_is_better)
  assert summary.worst == worst
  assert summary.worst_seed == worst_seed


def test_a_seed_missing_the_target_is_reported():
  summary = seed_summary.summarize('critic', [0.04, 0.47, 0.05], target=0.06)
  assert summary.num_meeting_target == 2
  assert summary.every_seed_meets_target is False


def test_sd_is_the_sample_standard_deviation():
  summary = seed_summary.summarize('x', [1.0, 3.0])
  assert math.isclose(summary.sd, math.sqrt(2.0))
  assert seed_summary.summarize('x', [1.0]).sd == 0.0


def test_markdown_table_has_one_row_per_summary():
  table = seed_summary.markdown_table(
      [seed_summary.summarize('regression', [0.03, 0.02], target=0.04),
       seed_summary.summarize('random', [0.64, 0.64])], 'mean distance (m)')
  lines = table.splitlines()
  assert len(lines) == 4
  assert lines[2] == ('| regression | 0.0250 ± 0.0071 | 0.0300 (0) | '
                      '0.0300, 0.0200 | < 0.04: 2/2 |')
  assert lines[3].endswith('| - |')


@pytest.mark.parametrize('values,seeds,match', [
    ([], None, 'at least one value'),
    ([0.1, float('nan')], None, 'non-finite'),
    ([0.1, 0.2], [0], '2 values but 1 seeds'),
])
def test_invalid_values_raise(values, seeds, match):
  with pytest.raises(ValueError, match=match):
    seed_summary.summarize('x', values, seeds=seeds)


def test_draw_summaries_draws_one_row_per_summary():
  image = seed_summary.draw_summaries(
      [seed_summary.summarize('regression', [0.02, 0.03], target=0.04),
       seed_summary.summarize('random', [0.6, 0.64])], 'distance (m)')
  pixels = np.asarray(image)
  assert image.mode == 'RGB' and image.size[1] > 2 * 44
  red_target = np.all(pixels == (214, 39, 40), axis=-1)
  assert red_target.any()
