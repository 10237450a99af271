"""The quickstart's results picture: the table seen from above.

True duck positions and the learned policies' guesses on the table, joined by
lines in each policy's color, over a strip of the camera images the guesses
were made from. Drawn with Pillow, so the job needs no plotting library.
"""

from typing import Sequence

import numpy as np
from PIL import Image
from PIL import ImageDraw
from PIL import ImageFont

from research.pose_env.policy_evaluation import ACTION_HIGH
from research.pose_env.policy_evaluation import ACTION_LOW
from research.pose_env.policy_evaluation import CEM_CRITIC
from research.pose_env.policy_evaluation import PolicyResult
from research.pose_env.policy_evaluation import RANDOM
from research.pose_env.policy_evaluation import REGRESSION

_COLORS = {RANDOM: (150, 150, 150), REGRESSION: (31, 119, 180),
           CEM_CRITIC: (255, 127, 14)}
_TRUE_COLOR = (20, 20, 20)
_TABLE_HALF_SIZE = (0.75, 0.5)  # The table top is 1.5 x 1 m.
_PIXELS_PER_METER = 560
_MARGIN = 30
_THUMBNAIL = 128


def _font(size: int):
  """Pillow's default font at `size` pixels where FreeType is available."""
  try:
    return ImageFont.load_default(size=size)
  except (TypeError, OSError):  # Pillow without FreeType: the bitmap font.
    return ImageFont.load_default()


def draw_results(targets: np.ndarray, results: Sequence[PolicyResult],
                 images: Sequence[np.ndarray],
                 max_points: int = 40) -> Image.Image:
  """Draws the table from above with true and predicted duck positions.

  Each learned policy's guess is joined to the true position by a line of
  the policy's color; the first `len(images)` true positions are numbered
  like the camera images in the strip below the table.

  Example:
    >>> draw_results(episodes.targets, results, episodes.images[:6]).save(
    ...     '/tmp/pose/results.png')

  Args:
    targets: (episodes, 2) true positions.
    results: The policies' results (random ones are summarized in the title
      only: their guesses would hide the others).
    images: Camera images of the first episodes.
    max_points: Episodes drawn on the table.

  Returns:
    The picture.
  """
  table_w = int(2 * _TABLE_HALF_SIZE[0] * _PIXELS_PER_METER)
  table_h = int(2 * _TABLE_HALF_SIZE[1] * _PIXELS_PER_METER)
  header, legend = 60, 40
  strip_h = (_THUMBNAIL + 30) if len(images) else 0
  width = max(table_w, len(images) * (_THUMBNAIL + 12)) + 2 * _MARGIN
  height = header + table_h + 2 * _MARGIN + legend + strip_h
  picture = Image.new('RGB', (width, height), 'white')
  draw = ImageDraw.Draw(picture)
  font, small = _font(16), _font(13)
  left = (width - table_w) // 2
  top = header + _MARGIN

  def to_pixel(xy):
    return (left + (xy[0] + _TABLE_HALF_SIZE[0]) * _PIXELS_PER_METER,
            top + (_TABLE_HALF_SIZE[1] - xy[1]) * _PIXELS_PER_METER)

  summary = ', '.join(f'{r.name} {100 * r.mean_distance:.1f} cm'
                      for r in results)
  draw.text((_MARGIN, 10), 'Pose env: duck positions seen from above (table '
            '1.5 x 1 m)', fill='black', font=font)
  draw.text((_MARGIN, 34), f'mean distance over {len(targets)} held-out '
            f'episodes: {summary}', fill='black', font=small)
  draw.rectangle([to_pixel((-_TABLE_HALF_SIZE[0], _TABLE_HALF_SIZE[1])),
                  to_pixel((_TABLE_HALF_SIZE[0], -_TABLE_HALF_SIZE[1]))],
                 fill=(222, 205, 180), outline=(120, 90, 60), width=3)
  draw.rectangle([to_pixel((ACTION_LOW[0], ACTION_HIGH[1])),
                  to_pixel((ACTION_HIGH[0], ACTION_LOW[1]))],
                 outline=(170, 150, 120), width=1)
  shown = min(max_points, len(targets))
  learned = [r for r in results if r.name != RANDOM]
  for result in learned:
    for target, action in zip(targets[:shown], result.episodes.actions[:shown]):
      draw.line([to_pixel(target), to_pixel(action)],
                fill=_COLORS[result.name], width=2)
      x, y = to_pixel(action)
      draw.ellipse([x - 4, y - 4, x + 4, y + 4], fill=_COLORS[result.name])
  for index, target in enumerate(targets[:shown]):
    x, y = to_pixel(target)
    draw.ellipse([x - 5, y - 5, x + 5, y + 5], outline=_TRUE_COLOR, width=2)
    if index < len(images):
      draw.text((x + 7, y - 18), str(index + 1), fill=_TRUE_COLOR, font=font)
  legend_y = top + table_h + _MARGIN // 2
  entries = [('true position', _TRUE_COLOR)] + [
      (f'{r.name} guess', _COLORS[r.name]) for r in learned]
  x = left
  for label, color in entries:
    box = [x, legend_y + 4, x + 10, legend_y + 14]
    if color == _TRUE_COLOR:  # Drawn hollow, as on the table.
      draw.ellipse(box, outline=color, width=2)
    else:
      draw.ellipse(box, fill=color)
    draw.text((x + 16, legend_y), label, fill='black', font=small)
    x += 40 + int(draw.textlength(label, font=small))
  strip_y = legend_y + legend
  for index, image in enumerate(images):
    x = _MARGIN + index * (_THUMBNAIL + 12)
    thumbnail = Image.fromarray(np.asarray(image, np.uint8)).resize(
        (_THUMBNAIL, _THUMBNAIL), Image.NEAREST)
    picture.paste(thumbnail, (x, strip_y))
    draw.text((x + 4, strip_y + _THUMBNAIL + 4), f'camera {index + 1}',
              fill='black', font=small)
  return picture
