"""The end of a flywheel run: a summary table and the evaluation curve.

Reads what the processes reported (`status_files`): the evaluator's history
(success rate and return per export), the collectors' totals and the
trainer's last step. Writes `root_dir/flywheel.png`, the success rate of
each evaluated export against the episodes collected by then (or, for
histories without them, its global step).
"""

import os
from typing import Any, Dict, List, Sequence, TextIO

from PIL import Image
from PIL import ImageDraw
import tensorflow as tf

from t2r.collect import status_files

_WIDTH, _HEIGHT, _MARGIN = 640, 360, 48


def _has_episodes(history: Sequence[Dict[str, float]]) -> bool:
  return bool(history) and all('collected_episodes' in row for row in history)


def summary_table(history: Sequence[Dict[str, float]]) -> str:
  """A markdown table: one row per evaluated export.

  With the collectors' episode count at each evaluation (the evaluator
  records it), a 'collected episodes' column comes first.
  """
  episodes = _has_episodes(history)
  lines = [('| collected episodes ' if episodes else '') +
           '| export step | eval success | mean return | mean length |',
           ('|---:' if episodes else '') + '|---:|---:|---:|---:|']
  for row in history:
    lines.append((f"| {row['collected_episodes']} " if episodes else '') +
                 f"| {row['global_step']} | {row['success_rate']:.3f} | "
                 f"{row['mean_return']:.4g} | {row['mean_length']:.1f} |")
  return '\n'.join(lines)


def draw_curve(history: Sequence[Dict[str, float]], path: str,
               title: str = 'flywheel: greedy success rate per export'):
  """Draws success rate (0..1) into a PNG at `path`.

  Against the collected episodes when every row has them (the learning
  curve of an off-policy run), else against the export's global step.
  """
  image = Image.new('RGB', (_WIDTH, _HEIGHT), 'white')
  draw = ImageDraw.Draw(image)
  left, top = _MARGIN, _MARGIN // 2 + 12
  right, bottom = _WIDTH - _MARGIN // 2, _HEIGHT - _MARGIN
  draw.text((left, 6), title, fill='black')
  draw.rectangle([left, top, right, bottom], outline='black')
  for fraction in (0.0, 0.5, 1.0):
    y = bottom - fraction * (bottom - top)
    draw.line([left - 4, y, left, y], fill='black')
    draw.text((4, y - 6), f'{fraction:.1f}', fill='black')
  key, unit = (('collected_episodes', 'episodes') if _has_episodes(history)
               else ('global_step', 'step'))
  steps = [row[key] for row in history]
  if steps:
    low, high = min(steps), max(max(steps), min(steps) + 1)
    points = [(left + (row[key] - low) / (high - low) * (right - left),
               bottom - row['success_rate'] * (bottom - top))
              for row in history]
    if len(points) > 1:
      draw.line(points, fill='royalblue', width=3)
    for x, y in points:
      draw.ellipse([x - 4, y - 4, x + 4, y + 4], fill='royalblue')
    draw.text((left, bottom + 6), f'{unit} {low}', fill='black')
    draw.text((right - 100, bottom + 6), f'{unit} {max(steps)}',
              fill='black')
  with tf.io.gfile.GFile(path, "wb") as f:
    image.save(f, format="PNG")


def report(root_dir: str, stream: TextIO) -> Dict[str, Any]:
  """Prints the summary and writes the picture; returns both.

  Args:
    root_dir: The flywheel's root directory.
    stream: Where the table goes.

  Returns:
    {'history': [...], 'table': str, 'figure': PNG path or None,
     'episodes': collected episodes, 'trainer_step': int}.
  """
  statuses = status_files.read_statuses(root_dir)
  history: List[Dict[str, float]] = statuses.get('evaluator', {}).get(
      'history', [])
  episodes = sum(s.get('episodes', 0) for name, s in statuses.items()
                 if name.startswith('collector-'))
  trainer_step = statuses.get('trainer', {}).get('global_step', 0)
  table = summary_table(history)
  stream.write(f'\nflywheel done: trainer step {trainer_step}, '
               f'{episodes} episodes collected\n{table}\n')
  figure = None
  if history:
    figure = os.path.join(root_dir, 'flywheel.png')
    draw_curve(history, figure)
    stream.write(f'evaluation curve: {figure}\n')
  stream.flush()
  return {'history': history, 'table': table, 'figure': figure,
          'episodes': episodes, 'trainer_step': trainer_step}
