"""Reusable tf-keras layers for robot perception networks."""

from t2r.layers.film import FiLM
from t2r.layers.spatial_softmax import BuildSpatialSoftmax
from t2r.layers.spatial_softmax import SpatialSoftmax
