"""The cross-entropy method (CEM) for policies; the algorithm is `t2r.cem`.

QT-Opt chooses actions by CEM over its critic. The algorithm (argument
checks, `cross_entropy_method` in numpy and `in_graph_cross_entropy_method`
in TensorFlow) lives in `t2r.cem`, below both the models (whose Bellman
targets maximize over actions with it) and the policies; its names are
importable from here as before. This module adds what only the acting side
needs: the seed input of the exported in-graph CEM.

Example:
  >>> from t2r.policies import cem
  >>> action, score = cem.cross_entropy_method(score_fn, [-1, -1], [1, 1])
"""

# pylint: disable=unused-import
from t2r.cem import batch_noise
from t2r.cem import Bounds
from t2r.cem import check_action_bounds
from t2r.cem import check_cem_sizes
from t2r.cem import check_optional_action_bounds
from t2r.cem import critic_action_bounds
from t2r.cem import cross_entropy_method
from t2r.cem import in_graph_cross_entropy_method
from t2r.cem import initial_distribution
from t2r.cem import NoiseFn
from t2r.cem import per_state_noise
from t2r.cem import ScoreFn
# pylint: enable=unused-import

# The input of the exported in-graph CEM (`CEMExportGenerator`) holding one
# int64 seed per state: its sampling is a function of the state and the seed.
CEM_SEED_INPUT = 'cem_seed'
