"""Fixtures: real exports of tiny models (see predictor_models)."""

from predictor_models import two_exports  # pylint: disable=unused-import
