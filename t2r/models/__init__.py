"""T2R models: the `T2RModel` contract, specialized bases and optimizers.

Example:
  >>> from t2r import models
  >>> class MyModel(models.T2RModel): ...
  >>> model = MyModel(create_optimizer_fn=models.create_sgd_optimizer)
"""

from t2r.models.classification_model import ClassificationModel
from t2r.models.critic_model import CriticModel
from t2r.models.optimizers import create_adam_optimizer
from t2r.models.optimizers import create_momentum_optimizer
from t2r.models.optimizers import create_sgd_optimizer
from t2r.models.optimizers import swapped_moving_average_weights
from t2r.models.regression_model import RegressionModel
from t2r.models.t2r_model import T2RModel
from t2r.models.target_network import TargetNetworkUpdate
from t2r.models.target_network import update_target_variables
from t2r.models.td_critic_model import bellman_targets
from t2r.models.td_critic_model import TDCriticModel
