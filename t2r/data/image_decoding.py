"""Decodes batches of encoded JPEG / PNG strings to the pixels a spec declares.

One in-graph loop decodes the flattened batch with parallel iterations (no
per-image Python); the decoded shapes are checked once per batch afterwards,
so an image of another size fails at run time with a
`tf.errors.InvalidArgumentError` naming the feature, e.g.

  assertion failed: [Feature `state/image` (name `image`) expects images of
  shape (64, 64, 3) uint8 but a record decoded to shape] [48 64 3] [Adjust
  the spec or add a crop/resize preprocessor.]

Why not `tf.map_fn` with a `tf.debugging.Assert` per image: an assert is a
stateful op, and stateful ops in a loop body run one iteration at a time,
which made decoding ~30% slower; `tf.map_fn` without a check cannot stack
images of different sizes with a readable error.

A `decode_hints.DecodePlan` may ask for less than the whole image: only a
crop window of each JPEG, or a DCT-scaled decode (see `t2r.data.
decode_hints` for when and how accurate); the stored size is then read from
the JPEG header and checked the same way.
"""

from typing import Any, Optional

import tensorflow as tf

from t2r.data import decode_hints

# Images decoded concurrently by one loop (graph mode). tf.data runs several
# batches in parallel as well, so a moderate value saturates the cores.
PARALLEL_DECODES = 16


def _decode_fn(spec: Any, may_be_empty: bool,
               plan: decode_hints.DecodePlan):
  """Returns `decode(encoded, window) -> (pixels, stored (H, W, C) int64)`.

  `window` is the crop's [top, left] (int32) for a 'crop' plan, else None.
  """
  image_shape = spec.shape[-3:]
  channels = image_shape[-1]
  decoded_shape = tf.TensorShape(list(plan.decoded_size) + [channels])

  def decode(encoded: tf.Tensor, window: tf.Tensor):
    if plan.kind == 'full':
      if spec.data_format == 'png':
        image = tf.io.decode_png(encoded, channels=channels, dtype=spec.dtype)
      else:
        image = tf.io.decode_jpeg(encoded, channels=channels)
      return image, tf.cast(tf.shape(image), tf.int64)
    # The header gives the stored size to check (the decode does not).
    stored = tf.concat([
        tf.cast(tf.image.extract_jpeg_shape(encoded)[:2], tf.int64),
        [channels]], 0)
    if plan.kind == 'crop':
      image = tf.io.decode_and_crop_jpeg(
          encoded, tf.concat([window, plan.decoded_size], 0),
          channels=channels)
    else:
      image = tf.io.decode_jpeg(encoded, channels=channels, ratio=plan.ratio)
    return image, stored

  if not may_be_empty:
    return decode

  def decode_or_zeros(encoded: tf.Tensor, window: tf.Tensor):
    return tf.cond(
        tf.strings.length(encoded) > 0, lambda: decode(encoded, window),
        lambda: (tf.zeros(decoded_shape, spec.dtype),
                 tf.constant(image_shape.as_list(), tf.int64)))

  return decode_or_zeros


def _windows(encoded: tf.Tensor, spec: Any,
             plan: decode_hints.DecodePlan) -> Optional[tf.Tensor]:
  """The [top, left] of each flat image's crop window, (N, 2) int32.

  None unless the plan crops.

  Random windows are drawn once per example (the leading dimension) and
  shared by its timesteps / list entries, as `RandomCropImages` does, from
  a seed drawn from TensorFlow's global random state like its `seed=None`.
  """
  if plan.kind != 'crop':
    return None
  count = tf.size(encoded)
  stored = tuple(spec.shape[-3:-1].as_list())
  if not plan.random_crop:
    centre = [(s - c) // 2 for s, c in zip(stored, plan.decoded_size)]
    return tf.tile(tf.constant([centre], tf.int32), [count, 1])
  if encoded.shape.rank == 0:
    raise ValueError('A random crop window needs a batch of images; got a '
                     'scalar string.')
  batch_size = tf.shape(encoded)[0]
  seed = tf.random.uniform([2], maxval=2**31 - 1, dtype=tf.int64)
  top, left = decode_hints.random_crop_offsets(batch_size, stored,
                                               plan.decoded_size, seed)
  per_example = tf.reduce_prod(tf.shape(encoded)[1:])
  return tf.repeat(tf.stack([top, left], 1), per_example, axis=0)


def _check_shapes(shapes: tf.Tensor, spec: Any, label: str) -> tf.Operation:
  """Asserts that every decoded (H, W, C) in `shapes` is the spec's."""
  expected = spec.shape[-3:].as_list()
  matches = tf.reduce_all(tf.equal(shapes, expected), axis=1)
  first_mismatch = tf.reshape(
      tf.boolean_mask(shapes, tf.logical_not(matches))[:1], [-1])
  # tf.Assert prints its strings C-escaped (' becomes \'): quote with `.
  message = (f'Feature {label.replace(chr(39), "`")} expects images of shape '
             f'{tuple(expected)} {spec.dtype.name} but a record decoded to '
             'shape')
  return tf.debugging.Assert(
      tf.reduce_all(matches),
      [message, first_mismatch, 'Adjust the spec or add a crop/resize '
       'preprocessor.'])


def decode_images(
    encoded: tf.Tensor,
    spec: Any,
    label: str,
    may_be_empty: bool,
    plan: Optional[decode_hints.DecodePlan] = None) -> tf.Tensor:
  """Decodes a tensor of encoded images to `encoded.shape + (H, W, C)`.

  Example:
    >>> images = decode_images(parsed['image'], spec, "'image'", False)
    >>> images.shape        # (batch,) strings -> (batch, 64, 64, 3) uint8

  Args:
    encoded: A string tensor of any rank (batch, time, list dims, ...).
    spec: The image spec: data_format 'jpeg' or 'png', dtype uint8 (uint16
      for PNG), shape ending in a fully defined (height, width, channels).
    label: How error messages name the feature, e.g. "'state/image' (name
      'image')".
    may_be_empty: Some strings may be empty (optional, padded or missing
      images); those decode to zeros. False skips that check.
    plan: How to decode (see `t2r.data.decode_hints`): None or 'full'
      decodes whole images; 'crop' only a window of each (random windows
      need a leading batch dimension); 'scale' at a DCT-scaled size. The
      stored size is checked against the spec in every case.

  Returns:
    The decoded images, shape `encoded.shape + (height, width, channels)`:
    the spec's image shape, or the plan's decoded size.
  """
  plan = plan or decode_hints.DecodePlan('full',
                                         tuple(spec.shape[-3:-1].as_list()))
  image_shape = tf.TensorShape(list(plan.decoded_size) +
                               [spec.shape[-1]])
  flat = tf.reshape(encoded, [-1])
  count = tf.shape(flat)[0]
  windows = _windows(encoded, spec, plan)
  decode = _decode_fn(spec, may_be_empty, plan)

  def body(index, pixels, shapes):
    # tf.gather: fewer ops than flat[index].
    window = None if windows is None else tf.gather(windows, index)
    image, stored = decode(tf.gather(flat, index), window)
    # Flat pixels of any length concatenate even if a size is wrong, so the
    # batch check below reports it. (The int64 shapes keep TensorFlow's type
    # inference from warning about a shape tensor in a tensor list.)
    return (index + 1, pixels.write(index, tf.reshape(image, [-1])),
            shapes.write(index, stored))

  _, pixels, shapes = tf.while_loop(
      lambda index, *_: index < count,
      body, (0, tf.TensorArray(spec.dtype, size=count, infer_shape=False,
                               element_shape=tf.TensorShape([None])),
             tf.TensorArray(tf.int64, size=count,
                            element_shape=tf.TensorShape([3]))),
      parallel_iterations=PARALLEL_DECODES)
  with tf.control_dependencies([_check_shapes(shapes.stack(), spec, label)]):
    # TensorArray.concat fails on an empty array (eager), hence the cond.
    all_pixels = tf.cond(count > 0, pixels.concat,
                         lambda: tf.zeros([0], spec.dtype))
    images = tf.reshape(all_pixels,
                        tf.concat([tf.shape(encoded), image_shape], 0))
  images.set_shape(encoded.shape.concatenate(image_shape))
  return images
