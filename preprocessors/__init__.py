"""Preprocessors: spec-declared transformations between records and models.

A preprocessor says which tensors it reads (in specs, what the input
generator parses) and which it produces (out specs, what the model consumes);
`preprocess` validates both sides.

Example:
  >>> from preprocessors import ImagePreprocessor
  >>> pre = ImagePreprocessor(model.get_feature_specification,
  ...                         model.get_label_specification,
  ...                         source_image_size=(512, 640))
  >>> features, labels = pre.preprocess(features, labels, t2r.ModeKeys.TRAIN)
"""

from preprocessors.abstract_preprocessor import AbstractPreprocessor
from preprocessors.image_preprocessor import ImagePreprocessor
from preprocessors.image_transformations import ApplyDepthImageDistortions
from preprocessors.image_transformations import ApplyPhotometricImageDistortions
from preprocessors.image_transformations import ApplyPhotometricImageDistortionsParallel
from preprocessors.image_transformations import CenterCropImages
from preprocessors.image_transformations import CustomCropImages
from preprocessors.image_transformations import RandomCropImages
from preprocessors.image_transformations import RandomFlipImages
from preprocessors.noop_preprocessor import NoOpPreprocessor
from preprocessors.spec_transformation_preprocessor import SpecTransformationPreprocessor
from preprocessors.spec_transformation_preprocessor import update_spec
