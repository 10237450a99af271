"""`TensorSpecStruct`: a flat, ordered dict of paths with hierarchical views.

The same structure carries specs, tensors and numpy arrays: a model reads
`features.train.state` whether `features` holds `ExtendedTensorSpec`s, a batch
of tensors in a tf.data pipeline or numpy arrays on a robot.

Storage is flat: keys are '/'-joined paths ('train/state'). Attribute and item
access with a path prefix ('train') return a *view*: a `TensorSpecStruct` whose
keys are relative to the prefix and that writes through to the struct it came
from, both ways.

It is a real `dict` subclass because tf-keras `fit` and TensorFlow's structure
hashing accept only real dicts. tf.nest reads a dict subclass through the C
dict storage, so every struct (views included) keeps its own dict storage
exactly in sync with the root struct that owns the data.
"""

import collections
import weakref
from typing import Any, Iterable, Iterator, List, Tuple

_SEPARATOR = '/'


class SpecStructKeyError(KeyError, AttributeError):
  """A path that is not in a `TensorSpecStruct`.

  Both a KeyError (what `struct['x']` raises for Python code) and an
  AttributeError (what `struct.x` raises; T2R code catches AttributeError, and
  `hasattr` relies on it).
  """

  def __str__(self):
    return str(self.args[0]) if self.args else ''


def _is_namedtuple(value: Any) -> bool:
  return isinstance(value, tuple) and hasattr(value, '_fields')


def _is_expandable(value: Any) -> bool:
  """True for values that assignment expands into several paths."""
  return isinstance(value, (dict, collections.abc.Mapping)) or _is_namedtuple(
      value)


def _expandable_items(value: Any) -> Iterable[Tuple[str, Any]]:
  if _is_namedtuple(value):
    return zip(value._fields, value)
  return value.items()


def _check_key(key: Any) -> str:
  if not isinstance(key, str):
    raise TypeError(f'TensorSpecStruct keys are str paths like "train/state", '
                    f'got {key!r} ({type(key).__name__}).')
  if not key or key.startswith(_SEPARATOR) or key.endswith(
      _SEPARATOR) or (_SEPARATOR * 2) in key:
    raise ValueError(
        f'Invalid TensorSpecStruct path {key!r}: a path is one or more '
        f'non-empty names joined by "{_SEPARATOR}", e.g. "train/state".')
  return key


def _join(prefix: str, key: str) -> str:
  return f'{prefix}{_SEPARATOR}{key}' if prefix else key


class TensorSpecStruct(dict):
  """An ordered, mutable mapping from '/'-joined paths to specs or tensors.

  Example:
    >>> spec = TensorSpecStruct()
    >>> spec.train = {'state': ExtendedTensorSpec((8,), tf.float32, name='s')}
    >>> list(spec.keys())
    ['train/state']
    >>> spec.train.state is spec['train/state']
    True
    >>> del spec.train['state']          # removes 'train/state' from `spec`

  Args:
    mapping: Optional initial content: a dict (nested dicts expand into
      paths), a namedtuple, a `TensorSpecStruct`, or an iterable of
      (path, value) pairs.
    **kwargs: More initial (path, value) pairs.

  Raises:
    ValueError: On an empty dict assigned to a path, or a path that clashes
      with an existing leaf or group.
  """

  __slots__ = ('_root', '_prefix', '_views', '__weakref__')

  def __init__(self, mapping: Any = None, **kwargs):
    super().__init__()
    object.__setattr__(self, '_root', None)
    object.__setattr__(self, '_prefix', '')
    object.__setattr__(self, '_views', weakref.WeakValueDictionary())
    if mapping is not None:
      if _is_expandable(mapping):
        items = _expandable_items(mapping)
      else:
        items = mapping
      for key, value in items:
        self[key] = value
    for key, value in kwargs.items():
      self[key] = value

  # -- Views ----------------------------------------------------------------

  @classmethod
  def _make_view(cls, root: 'TensorSpecStruct',
                 prefix: str) -> 'TensorSpecStruct':
    view = cls.__new__(cls)
    dict.__init__(view)
    object.__setattr__(view, '_root', root)
    object.__setattr__(view, '_prefix', prefix)
    object.__setattr__(view, '_views', None)
    start = prefix + _SEPARATOR
    for path, value in dict.items(root):
      if path.startswith(start):
        dict.__setitem__(view, path[len(start):], value)
    root._views[id(view)] = view
    return view

  def _owner(self) -> 'TensorSpecStruct':
    return self if self._root is None else self._root

  def _full_path(self, key: str) -> str:
    return _join(self._prefix, key)

  def _notify_set(self, path: str, value: Any):
    """Mirrors a write of the root at `path` into every live view."""
    for view in list(self._views.values()):
      start = view._prefix + _SEPARATOR
      if path.startswith(start):
        dict.__setitem__(view, path[len(start):], value)

  def _notify_delete(self, path: str):
    for view in list(self._views.values()):
      start = view._prefix + _SEPARATOR
      if path.startswith(start):
        dict.__delitem__(view, path[len(start):])

  # -- Writing --------------------------------------------------------------

  def _set_leaf(self, path: str, value: Any):
    root = self._owner()
    if not dict.__contains__(root, path):
      parts = path.split(_SEPARATOR)
      for i in range(1, len(parts)):
        parent = _SEPARATOR.join(parts[:i])
        if dict.__contains__(root, parent):
          raise ValueError(
              f'Cannot set {path!r}: {parent!r} already holds a leaf '
              f'({_describe(dict.__getitem__(root, parent))}). Delete '
              f'{parent!r} first or choose another path.')
      if self._group_paths_of(root, path):
        raise ValueError(
            f'Cannot set {path!r} to a single value: it is a group holding '
            f'{self._group_paths_of(root, path)}. Delete the group first or '
            'assign a dict to replace it.')
    dict.__setitem__(root, path, value)
    root._notify_set(path, value)

  @staticmethod
  def _group_paths_of(root: 'TensorSpecStruct', path: str) -> List[str]:
    start = path + _SEPARATOR
    return [p for p in dict.keys(root) if p.startswith(start)]

  def __setitem__(self, key: str, value: Any):
    path = self._full_path(_check_key(key))
    if _is_expandable(value):
      items = [(k, v) for k, v in _flat_items(value)]
      if not items:
        raise ValueError(
            f'Cannot assign an empty {type(value).__name__} to {path!r}: a '
            'TensorSpecStruct stores leaves, so an empty group would vanish. '
            'Fill the structure first and then assign it, or assign leaves '
            f'directly, e.g. struct["{path}/name"] = spec.')
      root = self._owner()
      for old in self._group_paths_of(root, path):
        dict.__delitem__(root, old)
        root._notify_delete(old)
      if dict.__contains__(root, path):
        dict.__delitem__(root, path)
        root._notify_delete(path)
      for sub_key, sub_value in items:
        self._set_leaf(_join(path, sub_key), sub_value)
    else:
      self._set_leaf(path, value)

  def __setattr__(self, name: str, value: Any):
    if name.startswith('__'):
      object.__setattr__(self, name, value)
    else:
      self[name] = value

  def __delitem__(self, key: str):
    path = self._full_path(_check_key(key))
    root = self._owner()
    if dict.__contains__(root, path):
      doomed = [path]
    else:
      doomed = self._group_paths_of(root, path)
    if not doomed:
      raise self._missing(key)
    for old in doomed:
      dict.__delitem__(root, old)
      root._notify_delete(old)

  def __delattr__(self, name: str):
    del self[name]

  def update(self, other: Any = (), **kwargs):  # pytype: disable=signature-mismatch
    items = _expandable_items(other) if _is_expandable(other) else other
    for key, value in items:
      self[key] = value
    for key, value in kwargs.items():
      self[key] = value

  def setdefault(self, key: str, default: Any = None) -> Any:
    if key not in self:
      self[key] = default
    return self[key]

  def pop(self, key: str, *default: Any) -> Any:
    try:
      value = self[key]
    except KeyError:
      if default:
        return default[0]
      raise
    del self[key]
    return value

  def popitem(self) -> Tuple[str, Any]:
    if not len(self):
      raise SpecStructKeyError('popitem(): TensorSpecStruct is empty')
    key = next(reversed(list(dict.keys(self))))
    return key, self.pop(key)

  def clear(self):
    for key in list(dict.keys(self)):
      del self[key]

  # -- Reading --------------------------------------------------------------

  def __getitem__(self, key: str) -> Any:
    if dict.__contains__(self, key):
      return dict.__getitem__(self, key)
    path = self._full_path(_check_key(key))
    root = self._owner()
    if self._group_paths_of(root, path):
      return self._make_view(root, path)
    raise self._missing(key)

  def __getattr__(self, name: str) -> Any:
    if name.startswith('__'):
      raise AttributeError(name)
    return self[name]

  def __contains__(self, key: Any) -> bool:
    if dict.__contains__(self, key):
      return True
    if not isinstance(key, str) or not key:
      return False
    return bool(self._group_paths_of(self._owner(), self._full_path(key)))

  def get(self, key: str, default: Any = None) -> Any:
    try:
      return self[key]
    except KeyError:
      return default

  def keys(self) -> List[str]:  # pytype: disable=signature-mismatch
    """Returns the flat paths in insertion order (a list, as in T2R)."""
    return list(dict.keys(self))

  def values(self) -> List[Any]:  # pytype: disable=signature-mismatch
    return list(dict.values(self))

  def items(self) -> List[Tuple[str, Any]]:  # pytype: disable=signature-mismatch
    return list(dict.items(self))

  def __iter__(self) -> Iterator[str]:
    return iter(list(dict.keys(self)))

  def _missing(self, key: str) -> SpecStructKeyError:
    where = f' under {self._prefix!r}' if self._prefix else ''
    known = sorted({k.split(_SEPARATOR)[0] for k in dict.keys(self)})
    return SpecStructKeyError(
        f'TensorSpecStruct has no path {key!r}{where}. Known top-level '
        f'names: {known}. Check the spelling, or whether the spec declares it '
        'as optional and the data lacks it.')

  # -- Copying and display ----------------------------------------------------

  def copy(self) -> 'TensorSpecStruct':
    """Returns a new independent struct with the same (path, value) pairs."""
    return TensorSpecStruct(self.items())

  def __copy__(self) -> 'TensorSpecStruct':
    return self.copy()

  def __reduce__(self):
    return (TensorSpecStruct, (self.items(),))

  def __repr__(self) -> str:
    lines = [f'  {key!r}: {value!r},' for key, value in dict.items(self)]
    return 'TensorSpecStruct({\n' + '\n'.join(lines) + '\n})' if lines else (
        'TensorSpecStruct({})')

  def __dir__(self) -> List[str]:
    names = {k.split(_SEPARATOR)[0] for k in dict.keys(self)}
    return sorted(set(super().__dir__()) | names)

  def to_dict(self) -> dict:
    """Returns a plain nested dict (groups become dicts)."""
    nested = {}
    for path, value in dict.items(self):
      node = nested
      parts = path.split(_SEPARATOR)
      for part in parts[:-1]:
        node = node.setdefault(part, {})
      node[parts[-1]] = value
    return nested


def _flat_items(value: Any, prefix: str = '') -> Iterator[Tuple[str, Any]]:
  """Yields (relative path, leaf) for a dict, namedtuple or struct."""
  for key, sub_value in _expandable_items(value):
    key = _check_key(str(key)) if not isinstance(key, str) else key
    path = _join(prefix, key)
    if _is_expandable(sub_value):
      if not len(sub_value):
        raise ValueError(
            f'Cannot store an empty {type(sub_value).__name__} at {path!r}: '
            'a TensorSpecStruct stores leaves, so an empty group would vanish.')
      yield from _flat_items(sub_value, path)
    else:
      yield path, sub_value


def _describe(value: Any) -> str:
  shape = getattr(value, 'shape', None)
  dtype = getattr(value, 'dtype', None)
  if shape is not None:
    return f'{type(value).__name__} shape={shape} dtype={dtype}'
  return type(value).__name__

