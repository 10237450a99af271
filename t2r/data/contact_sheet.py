"""A PNG contact sheet of sampled record images, labelled with their values.

`t2r inspect` writes one so that a person can see at a glance what the data
holds: each tile is one image of one sampled record, scaled to a fixed
width, with the record ('a.tfrecord #7'), the image's spec name and the
first values of the record's other specs beneath it. An image that does not
decode is a red tile saying so.

Example:
  >>> report = inspect_records('/data/*.tfrecord', feature_spec)
  >>> write_contact_sheet(report.samples, '/tmp/contact_sheet.png')
  '/tmp/contact_sheet.png'
"""

import io
import os
from typing import Any, Dict, List, Sequence

from PIL import Image
from PIL import ImageDraw
from PIL import ImageFont

from t2r import atomic_files

_LINE_HEIGHT = 12
_TEXT_LINES = 5
_PADDING = 4


def _value_text(value: Any) -> str:
  if isinstance(value, list):
    shown = ', '.join(f'{v:.3g}' for v in value[:4])
    return f'[{shown}{", ..." if len(value) > 4 else ""}]'
  return str(value)


def _tile(image_bytes: bytes, lines: List[str], tile_size: int) -> Image.Image:
  text_height = _LINE_HEIGHT * _TEXT_LINES + _PADDING
  tile = Image.new('RGB', (tile_size, tile_size + text_height), 'white')
  try:
    image = Image.open(io.BytesIO(image_bytes))
    image.load()
    image = image.convert('RGB')
    scale = tile_size / max(image.size)
    size = (max(1, round(image.width * scale)),
            max(1, round(image.height * scale)))
    tile.paste(image.resize(size, Image.NEAREST), (0, 0))
  except (OSError, ValueError):
    ImageDraw.Draw(tile).rectangle([0, 0, tile_size, tile_size], fill='red')
    lines = ['(does not decode)'] + lines
  draw = ImageDraw.Draw(tile)
  font = ImageFont.load_default()
  max_chars = max(8, tile_size // 6)
  for index, line in enumerate(lines[:_TEXT_LINES]):
    draw.text((2, tile_size + 2 + index * _LINE_HEIGHT), line[:max_chars],
              fill='black', font=font)
  return tile


def write_contact_sheet(samples: Sequence[Dict[str, Any]],
                        path: str,
                        tile_size: int = 160,
                        columns: int = 4) -> str:
  """Draws every sampled image (with names and values) into one PNG.

  Example:
    >>> write_contact_sheet(report.samples, '/tmp/sheet.png', tile_size=128)

  Args:
    samples: `InspectionReport.samples`: {'record': where, 'values': {name:
      value}}, images as encoded bytes.
    path: The PNG to write (atomically; any `tf.io.gfile` path).
    tile_size: Width and image height of a tile in pixels.
    columns: Tiles per row.

  Returns:
    The path written.

  Raises:
    ValueError: If no sample holds an image, or the sizes are not positive.
  """
  for name, value in (('tile_size', tile_size), ('columns', columns)):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
      raise ValueError(f'write_contact_sheet: {name} must be a positive int, '
                       f'got {value!r}.')
  tiles = []
  for sample in samples:
    values = sample['values']
    others = [f'{name}: {_value_text(value)}' for name, value in values.items()
              if not isinstance(value, bytes)]
    where = sample['record']
    if ' of ' in where:
      index, filename = where[len('record '):].split(' of ', 1)
      where = f'{os.path.basename(filename)} #{index}'
    for name, value in values.items():
      if isinstance(value, bytes):
        tiles.append(_tile(value, [where, name] + others, tile_size))
  if not tiles:
    raise ValueError('write_contact_sheet: the samples hold no image (the '
                     'specs have no encoded image spec, or no record was '
                     'read).')
  columns = min(columns, len(tiles))
  rows = -(-len(tiles) // columns)
  width, height = tiles[0].size
  sheet = Image.new('RGB', (columns * (width + _PADDING),
                            rows * (height + _PADDING)), 'gray')
  for index, tile in enumerate(tiles):
    sheet.paste(tile, ((index % columns) * (width + _PADDING),
                       (index // columns) * (height + _PADDING)))
  buffer = io.BytesIO()
  sheet.save(buffer, format='PNG')
  atomic_files.write_atomically(path, buffer.getvalue())
  return path
