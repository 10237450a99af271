"""Fixtures: real critic and regression exports (see policy_models)."""

from policy_models import critic_predictors  # pylint: disable=unused-import
from policy_models import regression_predictor  # pylint: disable=unused-import
