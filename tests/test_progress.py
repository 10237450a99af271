"""ProgressBar: a live bar on terminals, plain lines with rate and ETA elsewhere."""

import io

import pytest

from t2r import progress


def test_plain_mode_writes_one_line_per_interval_and_a_final_line():
  stream = io.StringIO()
  with progress.ProgressBar('collect', total=4, unit='episodes',
                            log_every_secs=0.0, stream=stream) as bar:
    for done in range(1, 5):
      bar.update(done, reward=-0.5)
  lines = stream.getvalue().splitlines()
  assert len(lines) == 4
  assert lines[0].startswith('[collect] 1/4 episodes (25%), ')
  assert 'episodes/s' in lines[0] and 'ETA' in lines[0]
  assert lines[-1].startswith('[collect] 4/4 episodes (100%)')
  assert lines[-1].endswith('reward -0.5')


def test_plain_mode_without_interval_lines_writes_only_the_final_line():
  stream = io.StringIO()
  with progress.ProgressBar('train', total=10, log_every_secs=3600,
                            stream=stream) as bar:
    bar.update(10, loss=0.25)
  lines = stream.getvalue().splitlines()
  assert len(lines) == 1
  assert lines[0].startswith('[train] 10/10 steps (100%)')


def test_rate_counts_only_units_after_initial():
  bar = progress.ProgressBar('train', total=100, initial=50,
                             stream=io.StringIO())
  assert bar.rate == 0.0
  bar.update(60)
  assert bar.rate > 0.0
  bar.close()


def test_live_mode_renders_a_bar_with_rate():
  stream = io.StringIO()
  with progress.ProgressBar('train', total=3, stream=stream,
                            live=True) as bar:
    for done in range(1, 4):
      bar.update(done, loss=1.5)
  text = stream.getvalue()
  assert '3/3' in text and '/s' in text and 'loss 1.5' in text


@pytest.mark.parametrize('total,initial', [(0, 0), (-1, 0), (True, 0),
                                           (2.5, 0), (10, 11), (10, -1)])
def test_invalid_total_or_initial_raises(total, initial):
  with pytest.raises(ValueError, match='ProgressBar'):
    progress.ProgressBar('x', total=total, initial=initial,
                         stream=io.StringIO())
