"""Options objects with keyword overrides: how the jobs' long argument lists are passed.

A job's settings are a dataclass (``ScanOptions``, ``InferenceOptions``, ``AttributionOptions``,
...) with documented fields and their defaults; its function takes ``options`` (default: the
defaults) and single fields as keyword ``overrides``, as :func:`seqfcn.correction.pipeline.correct_reads`
does: ``scan_pwm(genome, motifs, thresh=1e-3)`` and
``scan_pwm(genome, motifs, ScanOptions(thresh=1e-3))`` are the same call.
"""
from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

T = TypeVar("T")


def resolve_options(cls: type[T], options: T | None, overrides: dict[str, Any], caller: str) -> T:
    """``options`` (default: ``cls()``) with the fields named in ``overrides`` replaced.

    ``options`` may also be of a base class of ``cls`` (e.g. the shared
    :class:`seqfcn.runtime.inference.InferenceOptions` given to a job whose options add
    fields): its fields are kept and the others take their defaults.

    Raises:
        TypeError: an override that is no field of ``cls`` (named with ``caller``, as Python
            names an unexpected keyword argument), or ``options`` of another type.
    """
    if options is None:
        base = cls()
    elif isinstance(options, cls):
        base = options
    elif issubclass(cls, type(options)):  # shared options (InferenceOptions) given to a job that adds fields
        base = pick(cls, options)
    else:
        raise TypeError(f"{caller}() takes {cls.__name__} options, not {type(options).__name__}")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise TypeError(f"{caller}() got unexpected keyword argument(s): {', '.join(unknown)}")
    return dataclasses.replace(base, **overrides) if overrides else base


def pick(cls: type[T], source: Any, **changes: Any) -> T:
    """A ``cls`` whose fields are taken from the same-named attributes of ``source``, then ``changes``."""
    values = {f.name: getattr(source, f.name) for f in dataclasses.fields(cls) if hasattr(source, f.name)}
    return cls(**{**values, **changes})
