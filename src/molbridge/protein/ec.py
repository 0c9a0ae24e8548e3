"""Enzyme Commission numbers: what a well-formed one is, reading them out of text, and agreement by level.

One place for these rules, because the Swiss-Prot reader (which ECs to keep), the answer kind
(whether a reply names one) and the `ec` scorer must agree. An EC number has four fields; a field
may be `-` (unknown: `3.1.-.-`) and the last may be a preliminary `n` number (`3.5.1.n3`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from molbridge.errors import FileFormatError

EC_NUMBER = re.compile(r"^\d+\.(\d+|-)\.(\d+|-)\.(n?\d+|-)$")
# in free text: not glued to a longer dotted number or word, but `EC3.1.1.4` and a final period are fine
_IN_TEXT = re.compile(r"(?:(?<=EC)|(?<![\w.-]))(\d+\.(?:\d+|-)\.(?:\d+|-)\.(?:n?\d+|-))(?![\w-]|\.[\w-])")


def is_ec(text: str) -> bool:
    return EC_NUMBER.match(text) is not None


def ec_numbers(text: str) -> list[str]:
    """Every EC number written in `text`, in order, each once."""
    return list(dict.fromkeys(_IN_TEXT.findall(text)))


def prefixes(ecs: list[str] | set[str], level: int) -> set[str]:
    """The first `level` fields of each EC number, as written (`3.1.-.-` at level 3 is `3.1.-`): what the `ec`
    scorer compares at that level, so `-` matches `-` and level 4 is the set of EC numbers itself."""
    return {".".join(ec.split(".")[:level]) for ec in ecs}


def agree(answer: str, reference: str, level: int) -> bool:
    """Whether two EC numbers share their first `level` fields; a `-` field never agrees (it is not known).
    The ENZYME check's rule (an incomplete number needs a known entry under it), not the scorer's."""
    a, r = answer.split(".")[:level], reference.split(".")[:level]
    return len(a) == len(r) == level and all(x == y != "-" for x, y in zip(a, r, strict=True))


@dataclass(frozen=True)
class EnzymeList:
    """The EC numbers of ExPASy's ENZYME nomenclature (`enzyme.dat`): active entries, and the transferred or
    deleted ones with what became of them, so an EC number a source gives can be checked against it."""

    active: frozenset[str]
    retired: dict[str, str]  # EC → "Transferred entry: 1.1.1.303." / "Deleted entry."

    def unknown(self, ec: str) -> str | None:
        """Why `ec` is not a current EC number (None: it is one; an incomplete `3.1.-.-` needs a current entry
        under it)."""
        if ec in self.retired:
            return f"EC {ec} is retired in ENZYME ({self.retired[ec].rstrip('.')})"
        fields = ec.split(".")
        level = fields.index("-") if "-" in fields else len(fields)
        known = ec in self.active if level == len(fields) else any(agree(e, ec, level) for e in self.active)
        return None if known else f"EC {ec} is not in ENZYME"


def read_enzyme_list(path: str | Path) -> EnzymeList:
    """ExPASy's `enzyme.dat` (Biopython's ENZYME parser); a file without entries raises FileFormatError."""
    from Bio.ExPASy import Enzyme

    active, retired = set(), {}
    with open(path, encoding="utf-8") as handle:
        for entry in Enzyme.parse(handle):
            description = entry["DE"]
            if description.startswith(("Transferred entry", "Deleted entry")):
                retired[entry["ID"]] = description
            else:
                active.add(entry["ID"])
    if not active:
        raise FileFormatError(str(path), None, "no ENZYME entries (expected ExPASy's enzyme.dat)")
    return EnzymeList(frozenset(active), retired)
