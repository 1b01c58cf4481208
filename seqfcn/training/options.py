"""Options objects: one dataclass per job, with keyword overrides for single fields."""
from __future__ import annotations

import dataclasses
from typing import Any, Mapping, TypeVar

T = TypeVar("T")


def with_overrides(options: T | None, cls: type[T], overrides: Mapping[str, Any], caller: str) -> T:
    """``options`` (default ``cls()``) with ``overrides`` replacing single fields, so
    ``f(x, opts)``, ``f(x, steps=10)`` and ``f(x, opts, steps=10)`` all work.

    Raises:
        TypeError: an override that is no field of ``cls``, naming ``caller``.
    """
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise TypeError(f"{caller}() got unexpected options: {', '.join(unknown)}")
    base = cls() if options is None else options
    return dataclasses.replace(base, **overrides) if overrides else base
