"""Execution modes shared by models, preprocessors, input generators and exports."""


class ModeKeys:
  """The three modes a T2R model runs in.

  The string values are the ones tf.estimator used, so gin configs and specs
  written for the original Tensor2Robot keep working.

  Example:
    >>> ModeKeys.PREDICT
    'infer'
  """

  TRAIN = 'train'
  EVAL = 'eval'
  PREDICT = 'infer'

  ALL = (TRAIN, EVAL, PREDICT)

  @classmethod
  def validate(cls, mode: str) -> str:
    """Returns `mode` unchanged if it is a known mode, else raises ValueError."""
    if mode not in cls.ALL:
      raise ValueError(
          f'Unknown mode {mode!r}; expected one of {list(cls.ALL)} '
          '(use t2r.ModeKeys.TRAIN, EVAL or PREDICT).')
    return mode
