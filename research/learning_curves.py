"""Learning curves over seeds: success against collected episodes, with
the baselines as horizontal lines (what a research README shows).

Example:
  >>> image = draw_learning_curves(
  ...     {'seed 0': [(250, 0.22), (900, 0.51)], 'seed 1': [...]},
  ...     baselines={'random': 0.25, 'privileged expert': 0.96},
  ...     title='grasp point: success on the test objects')
  >>> image.save('/tmp/learning_curve.png')
"""

from typing import Dict, Mapping, Sequence, Tuple

from PIL import Image
from PIL import ImageDraw

_WIDTH, _HEIGHT = 720, 420
_LEFT, _RIGHT, _TOP, _BOTTOM = 56, 170, 36, 44
_COLOURS = ((31, 119, 180), (255, 127, 14), (44, 160, 44), (148, 103, 189),
            (140, 86, 75), (227, 119, 194))
_BASELINE_COLOUR = (120, 120, 120)

Curve = Sequence[Tuple[float, float]]


def draw_learning_curves(curves: Mapping[str, Curve],
                         baselines: Mapping[str, float] = None,
                         title: str = 'success against collected episodes',
                         x_label: str = 'collected episodes'
                        ) -> Image.Image:
  """Draws (x, success in [0, 1]) curves, one colour each, and baselines.

  Args:
    curves: label -> points (x, success), in x order.
    baselines: label -> success rate, drawn as dashed horizontal lines.
    title: The title line.
    x_label: The x axis' name.

  Returns:
    An RGB PIL image.

  Raises:
    ValueError: If there is no point to draw.
  """
  baselines: Dict[str, float] = dict(baselines or {})
  xs = [x for points in curves.values() for x, _ in points]
  if not xs:
    raise ValueError('draw_learning_curves got no points; pass at least one '
                     'curve with one (x, success) point.')
  image = Image.new('RGB', (_WIDTH, _HEIGHT), 'white')
  draw = ImageDraw.Draw(image)
  left, right = _LEFT, _WIDTH - _RIGHT
  top, bottom = _TOP, _HEIGHT - _BOTTOM
  low, high = min(0.0, min(xs)), max(max(xs), 1.0)

  def point(x: float, y: float) -> Tuple[float, float]:
    return (left + (x - low) / (high - low) * (right - left),
            bottom - y * (bottom - top))

  draw.text((left, 8), title, fill='black')
  draw.rectangle([left, top, right, bottom], outline='black')
  for fraction in (0.0, 0.25, 0.5, 0.75, 1.0):
    _, y = point(low, fraction)
    draw.line([left, y, right, y], fill=(230, 230, 230))
    draw.text((8, y - 6), f'{fraction:.2f}', fill='black')
  for fraction in (0.0, 0.5, 1.0):
    x, _ = point(low + fraction * (high - low), 0.0)
    draw.text((x - 16, bottom + 6), f'{low + fraction * (high - low):.0f}',
              fill='black')
  draw.text(((left + right) // 2 - 50, bottom + 24), x_label, fill='black')
  for name, value in sorted(baselines.items(), key=lambda item: -item[1]):
    _, y = point(low, value)
    for start in range(left, right, 12):
      draw.line([start, y, min(start + 6, right), y], fill=_BASELINE_COLOUR,
                width=2)
    draw.text((right + 8, y - 6), f'{name} {value:.2f}',
              fill=_BASELINE_COLOUR)
  for index, (name, points) in enumerate(curves.items()):
    colour = _COLOURS[index % len(_COLOURS)]
    pixels = [point(x, y) for x, y in points]
    if len(pixels) > 1:
      draw.line(pixels, fill=colour, width=3)
    for x, y in pixels:
      draw.ellipse([x - 3, y - 3, x + 3, y + 3], fill=colour)
    draw.text((left + 8, bottom - 20 - 14 * index), name, fill=colour)
  return image
