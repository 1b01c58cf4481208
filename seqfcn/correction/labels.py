"""The output classes of a read corrector, as one named object saved with the model.

Three schemes:

* ``bases`` (4 classes): the true base A, C, G, T of each observed base;
* ``bases+gap`` (5): plus ``gap`` (class 4, :data:`seqfcn.training.simulate.GAP`): the observed
  base is an insertion, delete it;
* ``bases+gap+insert`` (9): plus ``ins_A`` .. ``ins_T`` (classes 5-8): the base is
  right and the named base is missing right after it, insert it.

A model file records its scheme (``metadata.label_scheme``); files written before
the scheme was recorded get the scheme with their number of outputs.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from seqfcn.errors import ModelFileError, SeqfcnError

_BASES = ("A", "C", "G", "T")


@dataclass(frozen=True)
class LabelScheme:
    """A corrector's output classes, in order (``classes[i]`` names logit ``i``)."""

    name: str
    classes: tuple[str, ...]

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def gap(self) -> int | None:
        """Index of the "delete this base" class, or None."""
        return self.classes.index("gap") if "gap" in self.classes else None

    @property
    def insert_base(self) -> int | None:
        """Index of ``ins_A`` (then C, G, T follow), or None."""
        return self.classes.index("ins_A") if "ins_A" in self.classes else None

    @property
    def mirror(self) -> list[int] | None:
        """Class permutation that maps the posterior of a read's reverse complement onto the
        read (A↔T, C↔G, the gap stays), or None when the classes have no mirror image
        (an insertion *after* a base is one *before* it on the other strand)."""
        if self.insert_base is not None:
            return None
        return [3, 2, 1, 0] + list(range(4, self.n_classes))

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "classes": list(self.classes)}

    @classmethod
    def from_dict(cls, spec: Any, *, path: str | None = None) -> "LabelScheme":
        """The registered scheme ``spec`` describes; a mismatch raises :class:`ModelFileError`."""
        try:
            scheme = get_scheme(str(spec["name"]))
            classes = tuple(str(c) for c in spec["classes"])
        except (KeyError, TypeError, SeqfcnError) as exc:
            raise ModelFileError(f"bad label_scheme entry: {exc}", path=path) from None
        if classes != scheme.classes:
            raise ModelFileError(f"label_scheme {scheme.name!r} has classes {list(scheme.classes)}, "
                                 f"the file says {list(classes)}", path=path)
        return scheme


BASES = LabelScheme("bases", _BASES)
BASES_GAP = LabelScheme("bases+gap", _BASES + ("gap",))
BASES_GAP_INSERT = LabelScheme("bases+gap+insert", _BASES + ("gap",) + tuple(f"ins_{b}" for b in _BASES))
SCHEMES = {s.name: s for s in (BASES, BASES_GAP, BASES_GAP_INSERT)}


def get_scheme(name: str) -> LabelScheme:
    """A registered scheme by name."""
    try:
        return SCHEMES[name]
    except KeyError:
        raise SeqfcnError(f"unknown label scheme {name!r} (known: {', '.join(SCHEMES)})") from None


def scheme_for_outputs(n: int, *, path: str | None = None) -> LabelScheme:
    """The scheme with ``n`` classes (4, 5 or 9)."""
    for scheme in SCHEMES.values():
        if scheme.n_classes == n:
            return scheme
    raise ModelFileError(f"a read corrector has 4, 5 or 9 outputs, not {n}", path=path)


def scheme_for_edits(edits: str) -> LabelScheme:
    """The scheme of a k-mer corrector: ``sub`` → ``bases``, ``indel`` → ``bases+gap+insert``."""
    if edits == "sub":
        return BASES
    if edits == "indel":
        return BASES_GAP_INSERT
    raise SeqfcnError(f"unknown k-mer edit set {edits!r} (sub or indel)")


def scheme_of(model: Any, info: dict[str, Any] | None = None) -> LabelScheme:
    """A model's scheme: ``model.label_scheme``, else the one its file records, else the
    one with its number of outputs."""
    scheme = getattr(model, "label_scheme", None)
    if isinstance(scheme, LabelScheme):
        return scheme
    info = info or {}
    spec = (info.get("metadata") or {}).get("label_scheme")
    if spec is not None:
        return LabelScheme.from_dict(spec, path=info.get("config_path"))
    config = getattr(model, "config", {}) or {}
    return scheme_for_outputs(int(config.get("n_outputs", 0)), path=info.get("config_path"))
