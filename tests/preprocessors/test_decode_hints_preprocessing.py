"""Preprocessors declare their crop / resize as decode hints, and accept it."""

import numpy as np
import pytest

from preprocessors import ImagePreprocessor
from preprocessors import NoOpPreprocessor
from t2r.data.decode_hints import DecodeHint
from t2r.modes import ModeKeys

_SOURCE = (16, 20)
_PATH = 'state/image'


def _make(model, **kwargs):
  return ImagePreprocessor(model.get_feature_specification,
                           model.get_label_specification,
                           source_image_size=_SOURCE, distortion_kwargs={},
                           **kwargs)


@pytest.fixture
def camera_batch(batch):
  features, labels = batch
  features[_PATH] = np.random.default_rng(2).integers(
      0, 256, (2,) + _SOURCE + (3,)).astype(np.uint8)
  return features, labels


def test_preprocessors_declare_no_hints_by_default(model):
  pre = NoOpPreprocessor(model.get_feature_specification,
                         model.get_label_specification)
  assert pre.decode_hints(ModeKeys.TRAIN) == {}


@pytest.mark.parametrize('mode, random_crop', [(ModeKeys.TRAIN, True),
                                               (ModeKeys.EVAL, False),
                                               (ModeKeys.PREDICT, False)])
def test_image_preprocessor_declares_its_crop_and_resize(model, mode,
                                                         random_crop):
  assert _make(model).decode_hints(mode) == {
      _PATH: DecodeHint((6, 8), random_crop, (6, 8))}
  assert _make(model, crop_size=(12, 16)).decode_hints(mode) == {
      _PATH: DecodeHint((12, 16), random_crop, (6, 8))}


@pytest.mark.parametrize('crop_size', [None, (12, 16)])
def test_a_decoded_window_gives_what_the_full_image_gives(
    model, camera_batch, crop_size):
  pre = _make(model, crop_size=crop_size)
  crop = crop_size or (6, 8)
  features, labels = camera_batch
  expected, _ = pre.preprocess(dict(features), labels, ModeKeys.EVAL)
  top, left = (16 - crop[0]) // 2, (20 - crop[1]) // 2
  window = dict(features)
  window[_PATH] = features[_PATH][:, top:top + crop[0], left:left + crop[1]]
  actual, _ = pre.preprocess(window, labels, ModeKeys.EVAL,
                             decoded_image_sizes={_PATH: crop})
  np.testing.assert_allclose(actual[_PATH], expected[_PATH], atol=1e-6)


def test_a_scaled_image_is_resized_to_the_model_size(model, camera_batch):
  features, labels = camera_batch
  features[_PATH] = features[_PATH][:, ::2, ::2]
  out, _ = _make(model, crop_size=_SOURCE).preprocess(
      features, labels, ModeKeys.TRAIN, decoded_image_sizes={_PATH: (8, 10)})
  assert out[_PATH].shape == (2, 6, 8, 3)


def test_sizes_for_an_image_without_a_hint_are_an_error(model, camera_batch):
  with pytest.raises(ValueError, match=r"decoded_image_sizes for "
                     r"'state/pose'.*name only \['state/image'\]"):
    _make(model).preprocess(*camera_batch, ModeKeys.EVAL,
                            decoded_image_sizes={'state/pose': (2, 2)})


def test_an_image_not_at_the_decoded_size_is_an_error(model, camera_batch):
  with pytest.raises(ValueError, match='input features'):
    _make(model).preprocess(*camera_batch, ModeKeys.EVAL,
                            decoded_image_sizes={_PATH: (6, 8)})
