"""Enzyme Commission numbers: what a well-formed one is, reading them out of text, and agreement by level.

One place for these rules, because the Swiss-Prot reader (which ECs to keep), the answer kind
(whether a reply names one) and the `ec` scorer must agree. An EC number has four fields; a field
may be `-` (unknown: `3.1.-.-`) and the last may be a preliminary `n` number (`3.5.1.n3`).
"""

from __future__ import annotations

import re

EC_NUMBER = re.compile(r"^\d+\.(\d+|-)\.(\d+|-)\.(n?\d+|-)$")
# in free text: not glued to a longer dotted number or word, but `EC3.1.1.4` and a final period are fine
_IN_TEXT = re.compile(r"(?:(?<=EC)|(?<![\w.-]))(\d+\.(?:\d+|-)\.(?:\d+|-)\.(?:n?\d+|-))(?![\w-]|\.[\w-])")


def is_ec(text: str) -> bool:
    return EC_NUMBER.match(text) is not None


def ec_numbers(text: str) -> list[str]:
    """Every EC number written in `text`, in order, each once."""
    return list(dict.fromkeys(_IN_TEXT.findall(text)))


def agree(answer: str, reference: str, level: int) -> bool:
    """Whether two EC numbers share their first `level` fields; a `-` field never agrees (it is not known)."""
    a, r = answer.split(".")[:level], reference.split(".")[:level]
    return len(a) == len(r) == level and all(x == y != "-" for x, y in zip(a, r, strict=True))
