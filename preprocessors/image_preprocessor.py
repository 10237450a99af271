"""`ImagePreprocessor`: JPEG records in, cropped float images out.

The common case of robot learning pipelines: cameras record large JPEGs, the
model wants smaller float images, and training benefits from random crops and
photometric domain randomization while evaluation and serving must be
deterministic.
"""

from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

import gin
import tensorflow as tf

from preprocessors import image_transformations
from preprocessors.spec_transformation_preprocessor import SpecTransformationPreprocessor
from preprocessors.spec_transformation_preprocessor import update_spec
from t2r import specs
from t2r.data import decode_hints as decode_hints_lib
from t2r.modes import ModeKeys

_DEFAULT_DISTORTIONS = {'random_brightness': True, 'random_contrast': True}


def _size(value: Any, argument: str) -> Tuple[int, int]:
  """Checks a (height, width) argument and returns it as a tuple of ints."""
  if (not isinstance(value, (list, tuple)) or len(value) != 2 or
      not all(isinstance(v, int) and v > 0 for v in value)):
    raise ValueError(
        f'ImagePreprocessor: {argument} must be (height, width) with positive '
        f'ints, got {value!r}.')
  return tuple(value)


def _is_model_image(spec: Any) -> bool:
  """A float32 (height, width, channels) spec with 1 or 3 channels."""
  return (spec.dtype == tf.float32 and spec.shape.rank == 3 and
          spec.shape.is_fully_defined() and spec.shape[-1] in (1, 3))


@gin.configurable
class ImagePreprocessor(SpecTransformationPreprocessor):
  """Decoded uint8 camera images -> the model's float32 images in [0, 1].

  For every image in the model's feature spec (by default each float32 spec
  of shape (height, width, 1 or 3); sequence specs too) the in spec is a
  uint8 image of `source_image_size` stored as `data_format`, under the same
  name, so the input generator parses and decodes the records. `preprocess`
  then

  1. crops `crop_size` (random per example in TRAIN, central otherwise),
  2. converts to float32 in [0, 1] and resizes to the model's (height, width)
     if the crop size differs,
  3. in TRAIN only, applies `ApplyPhotometricImageDistortions` with
     `distortion_kwargs`, one draw per example shared by all images.

  EVAL and PREDICT are deterministic. Other features and all labels pass
  through unchanged.

  `decode_hints(mode)` declares steps 1 and 2 to the input generator, which
  then decodes only the crop window, or decodes JPEGs at a DCT-scaled size
  when the model's images are at most half the stored size (accuracy in
  `t2r.data.decode_hints`); `preprocess` then takes those images, already
  cropped, at their decoded size and only resizes them. The distortions of
  step 3 are unchanged.

  Example (QT-Opt: 512x640 JPEGs, model wants 472x472):
    >>> pre = ImagePreprocessor(model.get_feature_specification,
    ...                         model.get_label_specification,
    ...                         source_image_size=(512, 640))
    >>> pre.get_in_feature_specification(ModeKeys.TRAIN).state.image
    ExtendedTensorSpec(shape=(512, 640, 3), dtype=tf.uint8, name='image',
                       ..., data_format='jpeg', ...)

  Or in gin:
    ImagePreprocessor.source_image_size = (512, 640)
    ImagePreprocessor.distortion_kwargs = {
        'random_brightness': True, 'random_hue': True}

  Args:
    model_feature_specification_fn: See `AbstractPreprocessor`.
    model_label_specification_fn: See `AbstractPreprocessor`.
    is_model_device_tpu: See `AbstractPreprocessor`.
    source_image_size: (height, width) of the recorded images.
    crop_size: (height, width) of the crop, at most `source_image_size`;
      None crops to each model image's own (height, width), so no resize.
    data_format: How the records store the images: 'jpeg' or 'png'.
    image_paths: Paths of the model's feature spec to treat as images; None
      selects every float32 (height, width, 1 or 3) spec.
    distortion_kwargs: Keyword arguments for
      `image_transformations.ApplyPhotometricImageDistortions` in TRAIN.
      None means random brightness and contrast with their default ranges;
      {} disables the distortions. Arguments given here take precedence over
      gin bindings of that function.

  Raises:
    ValueError: On malformed sizes (at construction) or, when the specs are
      derived, if a crop does not fit the source image or an `image_paths`
      entry is not a float32 image spec of the model.
  """

  def __init__(self,
               model_feature_specification_fn=None,
               model_label_specification_fn=None,
               is_model_device_tpu: bool = False,
               source_image_size: Sequence[int] = (512, 640),
               crop_size: Optional[Sequence[int]] = None,
               data_format: str = 'jpeg',
               image_paths: Optional[Sequence[str]] = None,
               distortion_kwargs: Optional[Mapping[str, Any]] = None):
    super().__init__(model_feature_specification_fn,
                     model_label_specification_fn, is_model_device_tpu)
    self._source_image_size = _size(source_image_size, 'source_image_size')
    self._crop_size = (None if crop_size is None else
                       _size(crop_size, 'crop_size'))
    self._data_format = data_format
    self._image_paths = None if image_paths is None else list(image_paths)
    self._distortion_kwargs = dict(_DEFAULT_DISTORTIONS if distortion_kwargs
                                   is None else distortion_kwargs)

  def _images(self, model_spec: Any) -> specs.TensorSpecStruct:
    """The model's image specs, by path, that this preprocessor produces."""
    flat = specs.flatten_spec_structure(model_spec)
    if self._image_paths is None:
      return specs.TensorSpecStruct([(path, spec)
                                     for path, spec in flat.items()
                                     if _is_model_image(spec)])
    images = specs.TensorSpecStruct()
    for path in self._image_paths:
      if path not in flat.keys():
        raise ValueError(
            f'ImagePreprocessor: image_paths names {path!r}, which the model '
            f'feature spec lacks. Its paths: {list(flat.keys())}.')
      if not _is_model_image(flat[path]):
        raise ValueError(
            f'ImagePreprocessor: the model spec at {path!r} is '
            f'{flat[path]!r}; an image must be float32 (height, width, 1 or '
            '3). Remove it from image_paths.')
      images[path] = flat[path]
    return images

  def _crop_for(self, path: str, spec: Any) -> Tuple[int, int]:
    """The crop size for one image, checked against the source size."""
    crop = self._crop_size or tuple(spec.shape.as_list()[:2])
    if crop[0] > self._source_image_size[0] or (
        crop[1] > self._source_image_size[1]):
      raise ValueError(
          f'ImagePreprocessor: image {path!r} (name {spec.name!r}) is cropped '
          f'to {crop} but the recorded images are only '
          f'{self._source_image_size}. Set crop_size to at most '
          'source_image_size.')
    return crop

  def _transform_in_feature_specification(
      self, tensor_spec_struct: specs.TensorSpecStruct,
      mode: str) -> specs.TensorSpecStruct:
    for path, spec in self._images(tensor_spec_struct).items():
      self._crop_for(path, spec)
      update_spec(
          tensor_spec_struct,
          path,
          shape=self._source_image_size + (spec.shape[-1],),
          dtype=tf.uint8,
          data_format=self._data_format)
    return tensor_spec_struct

  def decode_hints(self,
                   mode: str) -> Dict[str, decode_hints_lib.DecodeHint]:
    """The crop (random in TRAIN) and resize of each image; see the class.

    Example:
      >>> ImagePreprocessor(model.get_feature_specification,
      ...                   model.get_label_specification,
      ...                   source_image_size=(512, 640)).decode_hints('eval')
      {'state/image': DecodeHint(crop_size=(472, 472), random_crop=False,
                                 resize_to=(472, 472))}

    Args:
      mode: A `ModeKeys` value.

    Returns:
      `{image path: DecodeHint}`.

    Raises:
      ValueError: As the spec derivation, for a crop that does not fit.
    """
    ModeKeys.validate(mode)
    return {
        path: decode_hints_lib.DecodeHint(
            crop_size=self._crop_for(path, spec),
            random_crop=mode == ModeKeys.TRAIN,
            resize_to=tuple(spec.shape.as_list()[:2]))
        for path, spec in self._images(
            self._model_feature_specification(mode)).items()
    }

  def _preprocess_fn(self, features: specs.TensorSpecStruct,
                     labels: Optional[specs.TensorSpecStruct],
                     mode: str) -> Tuple[Any, Any]:
    images = self._images(self._model_feature_specification(mode))
    processed = []
    for path, spec in images.items():
      input_shape = self._source_image_size + (spec.shape[-1],)
      crop = self._crop_for(path, spec)
      image = features[path]
      # Images decoded by a hint come cropped (a window, or scaled whole).
      if list(image.shape[-3:-1]) == list(self._source_image_size):
        crop_fn = (image_transformations.RandomCropImages
                   if mode == ModeKeys.TRAIN else
                   image_transformations.CenterCropImages)
        image = crop_fn([image], input_shape, crop)[0]
      image = tf.image.convert_image_dtype(image, tf.float32)
      processed.append(_resize(image, spec.shape.as_list()[:2]))
    if mode == ModeKeys.TRAIN and processed:
      processed = image_transformations.ApplyPhotometricImageDistortions(
          processed, **self._distortion_kwargs)
    for path, image in zip(images.keys(), processed):
      features[path] = image
    return features, labels


def _resize(images: tf.Tensor, size: Sequence[int]) -> tf.Tensor:
  """Resizes (..., h, w, c) images to `size` (antialiased bilinear)."""
  if images.shape[-3:-1].as_list() == list(size):
    return images
  flat = tf.reshape(images, tf.concat([[-1], tf.shape(images)[-3:]], axis=0))
  resized = tf.image.resize(flat, size, antialias=True)
  resized = tf.reshape(
      resized,
      tf.concat([tf.shape(images)[:-3], tf.shape(resized)[-3:]], axis=0))
  return tf.ensure_shape(resized, images.shape[:-3].concatenate(
      list(size) + [images.shape[-1]]))
