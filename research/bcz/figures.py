"""The pictures of the BC-Z results: success per task, and demo frames.

`draw_success_per_task` draws one group of bars per task (one bar per
policy, its height the mean success over seeds, a dot per seed), so a task a
policy fails or a seed that misses stands out. `demo_contact_sheet` lays out
frames of demonstrations, one row per task with its text, to see what the
policy sees.

Example:
  >>> draw_success_per_task({'expert': {'reach the duck': [1.0]},
  ...                        'bc': {'reach the duck': [0.9, 0.95, 0.8]}}
  ...                       ).save('/tmp/success.png')
"""

from typing import Dict, Mapping, Sequence

import numpy as np
from PIL import Image
from PIL import ImageDraw

# Colours per policy, in order (tab10).
_COLOURS = ((31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40),
            (148, 103, 189), (140, 86, 75), (227, 119, 194), (127, 127, 127))
_MARGIN = 16
_PLOT_HEIGHT = 220
_BAR_WIDTH = 18
_GROUP_GAP = 26
_LABEL_HEIGHT = 70


def draw_success_per_task(
    results: Mapping[str, Mapping[str, Sequence[float]]],
    title: str = 'closed-loop success per task') -> Image.Image:
  """Grouped bars: per task, each policy's mean success and its seeds.

  Args:
    results: {policy: {task: success rates in [0, 1], one per seed}}; every
      policy over the same tasks.
    title: The line above the plot.

  Returns:
    An RGB PIL image.

  Raises:
    ValueError: If `results` is empty or the policies' tasks differ.
  """
  if not results:
    raise ValueError('draw_success_per_task: results is empty.')
  policies = list(results)
  tasks = list(results[policies[0]])
  for policy in policies:
    if list(results[policy]) != tasks:
      raise ValueError(f'draw_success_per_task: policy {policy!r} has tasks '
                       f'{list(results[policy])}, expected {tasks}.')
  group_width = len(policies) * _BAR_WIDTH + _GROUP_GAP
  legend_height = 18 * len(policies)
  width = 2 * _MARGIN + 40 + group_width * len(tasks)
  top = 2 * _MARGIN + 14 + legend_height
  height = top + _PLOT_HEIGHT + _LABEL_HEIGHT + _MARGIN
  image = Image.new('RGB', (max(width, 360), height), 'white')
  draw = ImageDraw.Draw(image)
  draw.text((_MARGIN, _MARGIN), title, fill='black')
  for index, policy in enumerate(policies):
    y = _MARGIN + 20 + 18 * index
    draw.rectangle([_MARGIN, y, _MARGIN + 12, y + 12],
                   fill=_COLOURS[index % len(_COLOURS)])
    draw.text((_MARGIN + 18, y), policy, fill='black')
  x0, y0 = _MARGIN + 40, top + _PLOT_HEIGHT
  for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
    y = y0 - tick * _PLOT_HEIGHT
    draw.line([(x0 - 4, y), (width - _MARGIN, y)], fill=(225, 225, 225))
    draw.text((_MARGIN, y - 6), f'{100 * tick:.0f}%', fill='black')
  for task_index, task in enumerate(tasks):
    gx = x0 + task_index * group_width + _GROUP_GAP // 2
    for index, policy in enumerate(policies):
      rates = np.asarray(results[policy][task], float)
      colour = _COLOURS[index % len(_COLOURS)]
      bx = gx + index * _BAR_WIDTH
      mean_y = y0 - float(np.mean(rates)) * _PLOT_HEIGHT
      draw.rectangle([bx, mean_y, bx + _BAR_WIDTH - 3, y0], fill=colour)
      for rate in rates:
        cy = y0 - rate * _PLOT_HEIGHT
        cx = bx + (_BAR_WIDTH - 3) / 2
        draw.ellipse([cx - 2.5, cy - 2.5, cx + 2.5, cy + 2.5], fill='black')
    words, lines = task.split(), ['']
    for word in words:  # Wraps the task text under its group.
      if len(lines[-1]) + len(word) + 1 > max(8, group_width // 7):
        lines.append('')
      lines[-1] = f'{lines[-1]} {word}'.strip()
    for line_index, line in enumerate(lines[:5]):
      draw.text((gx, y0 + 6 + 12 * line_index), line, fill='black')
  return image


def demo_contact_sheet(frames_per_task: Mapping[str, Sequence[np.ndarray]],
                       scale: int = 2) -> Image.Image:
  """A grid of demonstration frames: one row per task, with its text.

  Example:
    >>> sheet = demo_contact_sheet({'reach the duck': [first, middle, last]})

  Args:
    frames_per_task: {task text: (H, W, 3) uint8 frames}.
    scale: Each frame's pixels are drawn scale x scale.

  Returns:
    An RGB PIL image.

  Raises:
    ValueError: If there are no frames or their shapes differ.
  """
  frames = [frame for task_frames in frames_per_task.values()
            for frame in task_frames]
  if not frames:
    raise ValueError('demo_contact_sheet: no frames.')
  shapes = {np.shape(frame) for frame in frames}
  if len(shapes) != 1 or len(next(iter(shapes))) != 3:
    raise ValueError(f'demo_contact_sheet: frames must share one (H, W, 3) '
                     f'shape, got {sorted(shapes)}.')
  height, width, _ = next(iter(shapes))
  cell_h, cell_w = height * scale, width * scale
  columns = max(len(task_frames) for task_frames in frames_per_task.values())
  row_height = cell_h + 18
  sheet = Image.new('RGB', (2 * _MARGIN + columns * (cell_w + 4),
                            2 * _MARGIN + row_height * len(frames_per_task)),
                    'white')
  draw = ImageDraw.Draw(sheet)
  for row, (task, task_frames) in enumerate(frames_per_task.items()):
    y = _MARGIN + row * row_height
    draw.text((_MARGIN, y), task, fill='black')
    for column, frame in enumerate(task_frames):
      tile = Image.fromarray(np.asarray(frame, np.uint8)).resize(
          (cell_w, cell_h), Image.NEAREST)
      sheet.paste(tile, (_MARGIN + column * (cell_w + 4), y + 14))
  return sheet


def frames_of_episodes(episodes: Sequence[Mapping[str, np.ndarray]],
                       frames_per_episode: int = 4
                      ) -> Dict[str, np.ndarray]:
  """Evenly spaced frames of the first episode of each task.

  Args:
    episodes: `bcz_specs.read_episodes` dicts ('task', 'image').
    frames_per_episode: Frames taken from each (first and last included).

  Returns:
    {task: (frames_per_episode, H, W, 3) uint8}, tasks in order of first
    appearance.
  """
  chosen = {}
  for episode in episodes:
    task = episode['task']
    if isinstance(task, bytes):
      task = task.decode()
    if task in chosen:
      continue
    images = np.asarray(episode['image'])
    steps = np.linspace(0, len(images) - 1, frames_per_episode).round()
    chosen[task] = images[steps.astype(int)]
  return chosen
