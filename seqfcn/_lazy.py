"""Public names of a package imported on first use (PEP 562), so importing the package loads
neither PyTorch nor pandas nor pysam until a name that needs them is touched."""
from __future__ import annotations

from typing import Any, Callable


def lazy_exports(package: str, exports: dict[str, str],
                 namespace: dict[str, Any]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package`` whose public names are ``exports``
    (name -> module); a name is imported from its module when first used and kept in
    ``namespace`` (the package's ``globals()``)."""

    def getattr_(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        import importlib

        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def dir_() -> list[str]:
        return sorted(list(namespace) + list(exports))

    return getattr_, dir_
