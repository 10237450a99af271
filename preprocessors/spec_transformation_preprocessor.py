"""`SpecTransformationPreprocessor`: in specs derived from the model's specs.

Most preprocessors change only a few tensors (decode-size images to the crop
the model wants, uint8 to float32) and pass the rest through. Instead of
writing the whole in spec again, a subclass edits a copy of the model's spec
with `update_spec` in `_transform_in_feature_specification`.
"""

from typing import Any

import gin

from preprocessors.abstract_preprocessor import AbstractPreprocessor
from t2r import specs


def update_spec(spec_struct: specs.TensorSpecStruct, path: str,
                **overrides: Any) -> specs.TensorSpecStruct:
  """Replaces the spec at `path` by a copy with some fields overridden.

  Example (records hold JPEGs larger than the model's float images):
    >>> update_spec(spec_struct, 'state/image', shape=(512, 640, 3),
    ...             dtype=tf.uint8, data_format='jpeg')

  Args:
    spec_struct: A flat `TensorSpecStruct`, changed in place.
    path: The path of the spec to replace, e.g. 'state/image'.
    **overrides: Fields for `ExtendedTensorSpec.from_spec` (shape, dtype,
      name, is_optional, is_sequence, data_format, ...).

  Returns:
    `spec_struct`, for chaining.

  Raises:
    ValueError: If `path` is not in `spec_struct`.
    TypeError: If an override is not a field of `ExtendedTensorSpec`.
  """
  if path not in spec_struct.keys():
    raise ValueError(
        f'update_spec: no spec at path {path!r}. Available paths: '
        f'{list(spec_struct.keys())}.')
  spec_struct[path] = specs.ExtendedTensorSpec.from_spec(
      spec_struct[path], **overrides)
  return spec_struct


@gin.configurable
class SpecTransformationPreprocessor(AbstractPreprocessor):
  """A preprocessor whose in specs are edited copies of the model's specs.

  The out specs are the model's specs. The in specs are a flat copy of them
  passed through `_transform_in_feature_specification` and
  `_transform_in_label_specification` (identity by default); subclasses
  override those hooks and `_preprocess_fn`.

  Example (the model wants 472x472 float32, records hold 512x640 JPEGs):
    >>> class CropPreprocessor(SpecTransformationPreprocessor):
    ...   def _transform_in_feature_specification(self, spec_struct, mode):
    ...     return update_spec(spec_struct, 'image', shape=(512, 640, 3),
    ...                        dtype=tf.uint8, data_format='jpeg')
    ...   def _preprocess_fn(self, features, labels, mode):
    ...     image = tf.image.convert_image_dtype(features.image, tf.float32)
    ...     features.image = CenterCropImages(
    ...         [image], (512, 640, 3), (472, 472))[0]
    ...     return features, labels
  """

  def get_in_feature_specification(self, mode: str) -> specs.TensorSpecStruct:
    # Flattening copies the struct, so the hook may edit it freely without
    # touching the model's spec.
    return self._transform_in_feature_specification(
        specs.flatten_spec_structure(self._model_feature_specification(mode)),
        mode)

  def get_in_label_specification(self, mode: str) -> specs.TensorSpecStruct:
    return self._transform_in_label_specification(
        specs.flatten_spec_structure(self._model_label_specification(mode)),
        mode)

  def get_out_feature_specification(self, mode: str) -> Any:
    return self._model_feature_specification(mode)

  def get_out_label_specification(self, mode: str) -> Any:
    return self._model_label_specification(mode)

  def _transform_in_feature_specification(
      self, tensor_spec_struct: specs.TensorSpecStruct,
      mode: str) -> specs.TensorSpecStruct:
    """Edits a flat copy of the model's feature spec into the in spec.

    Args:
      tensor_spec_struct: A flat copy of the model's feature spec for `mode`;
        safe to modify (e.g. with `update_spec`).
      mode: A `ModeKeys` value.

    Returns:
      The in feature spec.
    """
    del mode  # The identity transformation is the same in every mode.
    return tensor_spec_struct

  def _transform_in_label_specification(
      self, tensor_spec_struct: specs.TensorSpecStruct,
      mode: str) -> specs.TensorSpecStruct:
    """Edits a flat copy of the model's label spec into the in spec.

    Args:
      tensor_spec_struct: A flat copy of the model's label spec for `mode`.
      mode: A `ModeKeys` value.

    Returns:
      The in label spec.
    """
    del mode  # The identity transformation is the same in every mode.
    return tensor_spec_struct

  # T2R subclasses call self.update_spec(spec_struct, key, **overrides).
  update_spec = staticmethod(update_spec)
