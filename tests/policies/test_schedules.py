"""Schedules: a value per global step (exploration, noise)."""

import pytest

from t2r.policies import schedules


def test_constant_schedule_ignores_the_step():
  assert schedules.ConstantSchedule(0.2)(10 ** 9) == 0.2


@pytest.mark.parametrize('step,expected', [(-5, 0.5), (0, 0.5), (50, 0.3),
                                           (100, 0.1), (10 ** 6, 0.1)])
def test_linear_schedule_interpolates_then_stays_at_final(step, expected):
  assert schedules.LinearSchedule(0.5, 0.1, 100)(step) == pytest.approx(
      expected)


@pytest.mark.parametrize('step,expected', [(-1, 1.0), (0, 1.0), (999, 1.0),
                                           (1000, 0.3), (4999, 0.3),
                                           (5000, 0.1), (10 ** 6, 0.1)])
def test_piecewise_schedule_switches_at_each_boundary(step, expected):
  schedule = schedules.PiecewiseSchedule([1000, 5000], [1.0, 0.3, 0.1])
  assert schedule(step) == expected


@pytest.mark.parametrize('boundaries,values,match', [
    ([10], [1.0], 'one more value than boundaries'),
    ([10, 10], [1.0, 0.5, 0.1], 'increase strictly'),
    ([20, 10], [1.0, 0.5, 0.1], 'increase strictly'),
])
def test_piecewise_schedule_rejects_bad_boundaries(boundaries, values, match):
  with pytest.raises(ValueError, match=match):
    schedules.PiecewiseSchedule(boundaries, values)


def test_linear_schedule_needs_positive_decay_steps():
  with pytest.raises(ValueError, match='decay_steps must be a positive int'):
    schedules.LinearSchedule(0.5, 0.1, 0)


def test_a_schedule_value_must_be_a_number():
  with pytest.raises(TypeError, match="got '0.5'"):
    schedules.ConstantSchedule('0.5')
