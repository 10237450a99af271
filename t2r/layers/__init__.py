"""Reusable tf-keras layers for robot perception and action networks."""

from t2r.layers.film import FiLM
from t2r.layers.film_resnet import FiLMConvTower
from t2r.layers.film_resnet import FiLMResNet
from t2r.layers.glimpse_critic import PlaneGlimpseCritic
from t2r.layers.grasping44 import Grasping44
from t2r.layers.grasping44 import Grasping44Head
from t2r.layers.grasping44 import Grasping44ImageTower
from t2r.layers.grasping44 import Grasping44Small
from t2r.layers.mdn import gaussian_mixture_approximate_mode
from t2r.layers.mdn import gaussian_mixture_log_prob
from t2r.layers.mdn import gaussian_mixture_nll
from t2r.layers.mdn import gaussian_mixture_sample
from t2r.layers.mdn import GaussianMixture
from t2r.layers.mdn import MDNHead
from t2r.layers.plane_glimpse import PlaneGlimpse
from t2r.layers.point_heatmap import ProjectedPointHeatmap
from t2r.layers.spatial_softmax import BuildSpatialSoftmax
from t2r.layers.spatial_softmax import SpatialSoftmax
from t2r.layers.waypoints import waypoint_loss
from t2r.layers.waypoints import WaypointHead
