"""`CEMExportGenerator`: a SavedModel that runs a critic's whole CEM loop.

Choosing a QT-Opt action with a Python loop costs `iterations` predictor
calls, each feeding the state again. The `cem_action` signature takes the
state and one int64 seed per example (input `cem_seed`) and returns the best
action and its Q in one call. Its sampling uses stateless random ops keyed by
the seed, so the same state and seed always give the same action;
`CEMPolicy` feeds seeds drawn from its own generator (random unless it is
seeded). The loop is `t2r.cem.in_graph_cross_entropy_method`, the one the
Bellman targets of `t2r.models.TDCriticModel` maximize with.

If the critic splits its network into a state tower and a Q head, by
defining

  state_embedding_fn(features, mode) -> tensor (batch, ...)
  q_from_state_embedding_fn(embedding, features, mode) -> q (rows,)

(`features` as in `q_func`; the embedding is repeated once per candidate
action), the tower (e.g. the image CNN) runs once per call instead of once
per candidate and iteration. Otherwise every iteration runs the full network.

It lives with the policies (it is the export side of `CEMPolicy`), above
`t2r.export` in the layering; robots need not import it.
"""

from typing import Any, Dict, Optional, Sequence

import gin
import tensorflow as tf

from t2r import specs
from t2r.export import default_export_generator
from t2r.modes import ModeKeys
from t2r.policies import cem

CEM_SIGNATURE = 'cem_action'
_WHO = 'CEMExportGenerator'


@gin.configurable
class CEMExportGenerator(default_export_generator.DefaultExportGenerator):
  """Adds the in-graph CEM signature `cem_action` to the default signatures.

  The critic's action is found as by `CEMPolicy` (`t2r.specs.critic_layout`):
  the top-level feature 'action', the only 'action/...' feature, or
  `action_path`. Without bounds, CEM searches [-1, 1] in every dimension of
  the model's action spec (read at export).

  Example:
    >>> generator = CEMExportGenerator()             # bounds [-1, 1] each
    >>> path = generator.export(critic, model_dir + '/export')
    >>> policy = CEMPolicy(ExportedSavedModelPredictor(path),
    ...                    exported_cem_signature='cem_action')

  Args:
    action_low: Lower bound per action dimension; None (with `action_high`
      None) for -1 in every dimension of the critic action.
    action_high: Upper bound per action dimension; None for 1 in every
      dimension.
    cem_iterations: CEM rounds.
    num_samples: Candidate actions per round; must equal the critic's
      `action_batch_size` when it has one.
    num_elites: Candidates each round's Gaussian is refitted to.
    q_key: The critic output holding Q.
    export_tf_example_signature: See `DefaultExportGenerator`.
    warmup_batch_sizes: See `DefaultExportGenerator`.
    action_path: The critic's action feature path; None for the top-level
      'action' feature or the only 'action/...' one.

  Raises:
    ValueError: For invalid bounds or CEM sizes. A critic whose action
      cannot be found, or does not fit the bounds, raises at export.
  """

  def __init__(self,
               action_low: Optional[Any] = None,
               action_high: Optional[Any] = None,
               cem_iterations: int = 3,
               num_samples: int = 64,
               num_elites: int = 10,
               q_key: str = 'q_predicted',
               export_tf_example_signature: bool = True,
               warmup_batch_sizes: Sequence[int] = (),
               action_path: Optional[str] = None):
    super().__init__(export_tf_example_signature, warmup_batch_sizes)
    self._bounds = cem.check_optional_action_bounds(action_low, action_high)
    cem.check_cem_sizes(cem_iterations, num_samples, num_elites)
    self._iterations = cem_iterations
    self._num_samples = num_samples
    self._num_elites = num_elites
    self._q_key = q_key
    self._action_path = action_path

  def create_cem_fn(self, t2r_model: Any):
    """Returns the `cem_action` concrete function.

    Its inputs are the required state features (keyed by spec name) and
    `cem_seed`, an int64 vector with one seed per example.

    Raises:
      ValueError: If the critic's features do not suit CEM (no action or
        several, bounds that do not fit it, a state repeat count other than
        `num_samples`), or a state feature is named like the seed input.
    """
    layout = specs.split_state_action(self.required_feature_spec,
                                      self._action_path, _WHO)
    action_path, action_dtype = layout.action_path, layout.action_spec.dtype
    low, high = cem.critic_action_bounds(self._bounds, layout.action_spec,
                                         action_path, _WHO)
    repeats = specs.caller_state_repeats(
        getattr(t2r_model, 'action_batch_size', None), self._num_samples, _WHO)
    split = (hasattr(t2r_model, 'state_embedding_fn') and
             hasattr(t2r_model, 'q_from_state_embedding_fn'))
    signature = dict(specs.make_input_signature(layout.state_spec).items())
    if cem.CEM_SEED_INPUT in signature or any(
        spec.name == cem.CEM_SEED_INPUT for spec in signature.values()):
      raise ValueError(
          f'The critic has a state feature named {cem.CEM_SEED_INPUT!r}, the '
          f'name of the seed input of {CEM_SIGNATURE!r}. Rename the feature.')
    signature[cem.CEM_SEED_INPUT] = tf.TensorSpec([None], tf.int64,
                                                  name=cem.CEM_SEED_INPUT)

    def preprocessed(state, actions, state_repeats):
      features = specs.TensorSpecStruct(
          specs.tile_state(state, state_repeats))
      features[action_path] = tf.cast(actions, action_dtype)
      return t2r_model.preprocessor.preprocess(features, None,
                                               ModeKeys.PREDICT)[0]

    @tf.function(input_signature=[signature])
    def cem_action(state):
      state = dict(state)
      seeds = state.pop(cem.CEM_SEED_INPUT)
      batch = tf.shape(next(iter(state.values())))[0]
      tf.debugging.assert_equal(
          tf.shape(seeds)[0], batch,
          message=f'{CEM_SIGNATURE} takes one {cem.CEM_SEED_INPUT} per state '
          'example; the batch sizes differ.')
      embedding = []  # The state tower's output, computed in the first round.

      def score_fn(flat_actions):
        if split:
          # One state row per example: the tower runs once per state.
          features = preprocessed(state, flat_actions, state_repeats=1)
          if not embedding:
            embedding.append(specs.repeat_rows(
                t2r_model.state_embedding_fn(features, ModeKeys.PREDICT),
                self._num_samples))
          return t2r_model.q_from_state_embedding_fn(
              embedding[0], features, ModeKeys.PREDICT)
        features = preprocessed(state, flat_actions, state_repeats=repeats)
        return t2r_model.call(features)[self._q_key]

      best_action, best_q = cem.in_graph_cross_entropy_method(
          score_fn, cem.per_state_noise(seeds), low, high, self._iterations,
          self._num_samples, self._num_elites)
      return {'action': best_action, 'q': best_q}

    return cem_action.get_concrete_function()

  def create_signatures(self, t2r_model: Any) -> Dict[str, Any]:
    signatures = super().create_signatures(t2r_model)
    signatures[CEM_SIGNATURE] = self.create_cem_fn(t2r_model)
    return signatures
