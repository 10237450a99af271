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
"""

from typing import Any

import tensorflow as tf

# Images decoded concurrently by one loop (graph mode). tf.data runs several
# batches in parallel as well, so a moderate value saturates the cores.
PARALLEL_DECODES = 16


def _decode_fn(spec: Any, may_be_empty: bool):
  """Returns a function decoding one encoded string to (H, W, C) pixels."""
  image_shape = spec.shape[-3:]
  channels = image_shape[-1]

  def decode(encoded: tf.Tensor) -> tf.Tensor:
    if spec.data_format == 'png':
      return tf.io.decode_png(encoded, channels=channels, dtype=spec.dtype)
    return tf.io.decode_jpeg(encoded, channels=channels)

  if not may_be_empty:
    return decode

  def decode_or_zeros(encoded: tf.Tensor) -> tf.Tensor:
    return tf.cond(
        tf.strings.length(encoded) > 0, lambda: decode(encoded),
        lambda: tf.zeros(image_shape, spec.dtype))

  return decode_or_zeros


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


def decode_images(encoded: tf.Tensor, spec: Any, label: str,
                  may_be_empty: bool) -> tf.Tensor:
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

  Returns:
    The decoded images, shape `encoded.shape + spec.shape[-3:]`.
  """
  image_shape = spec.shape[-3:]
  flat = tf.reshape(encoded, [-1])
  count = tf.shape(flat)[0]
  decode = _decode_fn(spec, may_be_empty)

  def body(index, pixels, shapes):
    image = decode(tf.gather(flat, index))  # Fewer ops than flat[index].
    # Flat pixels of any length concatenate even if a size is wrong, so the
    # batch check below reports it. (The int64 cast keeps TensorFlow's type
    # inference from warning about a shape tensor in a tensor list.)
    return (index + 1, pixels.write(index, tf.reshape(image, [-1])),
            shapes.write(index, tf.cast(tf.shape(image), tf.int64)))

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
