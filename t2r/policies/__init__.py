"""Policies over predictors: regression, CEM over a critic, exploration.

`CEMExportGenerator` (the in-graph CEM export) is in
`t2r.policies.cem_export_generator`; it is not imported here so that a robot
importing policies needs no training or data code.

Example:
  >>> from t2r import policies
  >>> policy = policies.CEMPolicy(predictor, seed=0)  # [-1, 1] per dimension
  >>> action, debug = policy.sample_action(obs, explore_prob=0.0)
  >>> explorer = policies.EpsilonRandomPolicy(policy, [-1, -1], [1, 1], seed=1)
"""

from t2r.policies.cem import cross_entropy_method
from t2r.policies.exploration import EpsilonRandomPolicy
from t2r.policies.exploration import OrnsteinUhlenbeckNoisePolicy
from t2r.policies.exploration import PerEpisodeSwitchPolicy
from t2r.policies.exploration import ScheduledGaussianNoisePolicy
from t2r.policies.policies import BatchedPolicy
from t2r.policies.policies import CEMPolicy
from t2r.policies.policies import Policy
from t2r.policies.policies import RegressionPolicy
from t2r.policies.schedules import ConstantSchedule
from t2r.policies.schedules import LinearSchedule
from t2r.policies.schedules import PiecewiseSchedule
