"""The export-hook protocol: hooks with `at_train_end` are called at the end."""

from t2r.train import hooks


class _EndHook:
  """An export hook that records its `at_train_end` calls in `calls`."""

  def __init__(self, name, calls):
    self._name = name
    self._calls = calls

  def __call__(self, model, directory, step):
    self._calls.append((self._name, 'after save', step))

  def at_train_end(self, model, directory, step):
    self._calls.append((self._name, model, directory, step))


def test_run_train_end_hooks_calls_at_train_end_with_its_arguments():
  calls = []
  hooks.run_train_end_hooks([_EndHook('a', calls)], 'model', '/dir', 7)
  assert calls == [('a', 'model', '/dir', 7)]


def test_run_train_end_hooks_skips_plain_callables():
  calls = []
  hooks.run_train_end_hooks(
      [lambda *args: calls.append('plain'), _EndHook('a', calls)], None, '', 3)
  assert calls == [('a', None, '', 3)]


def test_run_train_end_hooks_keeps_the_order_of_the_hooks():
  calls = []
  hooks.run_train_end_hooks([_EndHook('a', calls), _EndHook('b', calls)],
                            None, '', 1)
  assert [call[0] for call in calls] == ['a', 'b']


def test_the_method_name_is_at_train_end():
  assert hooks.TRAIN_END_METHOD == 'at_train_end'
