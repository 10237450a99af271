"""The quickstart's results picture, drawn with Pillow."""

import io

import numpy as np
from PIL import Image
import pytest

from research.pose_env.policy_evaluation import Episodes
from research.pose_env.policy_evaluation import PolicyResult
from research.pose_env.results_figure import draw_results

_REGRESSION_COLOR = (31, 119, 180)
_CEM_CRITIC_COLOR = (255, 127, 14)


def _results(count):
  rng = np.random.default_rng(0)
  targets = rng.uniform([-0.7, -0.4], [0.7, 0.4], (count, 2))
  images = [rng.integers(0, 256, (64, 64, 3), np.uint8) for _ in range(count)]

  def result(name, actions):
    return PolicyResult(name, Episodes(
        actions=actions.astype(np.float32),
        distances=np.linalg.norm(actions - targets, axis=1),
        targets=targets, images=images))

  return targets, images, [
      result('random', rng.uniform([-0.7, -0.4], [0.7, 0.4], (count, 2))),
      result('regression', targets + 0.05)]


def _png_round_trip(picture):
  buffer = io.BytesIO()
  picture.save(buffer, format='PNG')
  buffer.seek(0)
  with Image.open(buffer) as png:
    assert png.format == 'PNG'
    return np.asarray(png.convert('RGB'))


# The table (1.5 x 1 m at 560 px/m) plus 30 px margins, 60 px of title and
# 40 of legend; each camera image adds a 128 px thumbnail 12 px apart and the
# strip adds 158 px of height.
@pytest.mark.parametrize('num_images, width, height', [
    (0, 900, 720), (3, 900, 878), (8, 1180, 878)])
def test_writes_a_png_sized_by_the_table_and_the_image_strip(
    num_images, width, height):
  targets, images, results = _results(8)
  pixels = _png_round_trip(draw_results(targets, results, images[:num_images]))
  assert pixels.shape == (height, width, 3)


def test_draws_only_the_given_learned_policies_in_their_colors():
  targets, images, results = _results(8)
  pixels = _png_round_trip(draw_results(targets, results, images[:3]))
  colors = {tuple(color) for color in pixels.reshape(-1, 3)}
  assert _REGRESSION_COLOR in colors
  assert _CEM_CRITIC_COLOR not in colors
