"""Lazy package attributes (PEP 562) for research packages.

A research package re-exports its names without importing its modules (and
TensorFlow or pybullet with them) until a name is used, so importing the
package, e.g. to register its gymnasium ids, stays cheap.

Example (in research/<project>/__init__.py):
  >>> __getattr__, __dir__ = lazy_exports(__name__, {'PoseEnv': 'pose_env'},
  ...                                     globals())
"""

import importlib
from typing import Any, Callable, Dict, List, Mapping, Tuple


def lazy_exports(package: str, exports: Mapping[str, str],
                 namespace: Dict[str, Any]
                ) -> Tuple[Callable[[str], Any], Callable[[], List[str]]]:
  """Returns the module-level `__getattr__` and `__dir__` of a package.

  Args:
    package: The package's `__name__`.
    exports: {attribute name: submodule name (relative to the package)}.
    namespace: The package's `globals()`; a loaded name is cached there.

  Returns:
    (`__getattr__`, `__dir__`) to assign at module level.
  """

  def getattr_(name: str) -> Any:
    if name not in exports:
      raise AttributeError(f'module {package!r} has no attribute {name!r}')
    value = getattr(importlib.import_module(f'{package}.{exports[name]}'),
                    name)
    namespace[name] = value
    return value

  def dir_() -> List[str]:
    return sorted(set(namespace) | set(namespace.get('__all__', ())))

  return getattr_, dir_
