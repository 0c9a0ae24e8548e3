"""Numbers in free-text answers: the first number of a text and the unit written after it.

Answer extraction (is a reply a number at all?) and numeric scoring (MAE after unit conversion)
must read a reply the same way, so the parser lives here, in the task layer, and
`molbridge.eval.numeric` converts and scores what it returns. Unlike 3D-MoLM's regex
(`-?\\d+\\.\\d+`, decimals with a point only), it also reads integers, unicode minus, exponents
("1.2e-3", "1.2 × 10^-3"), thousands separators ("1,234.5") and a unit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class ParsedNumber:
    """The first number of a text: its value, normalised unit (raw form kept) and character span.

    `span` covers the number itself (sign through exponent), not the unit.
    """

    value: float
    unit: str | None
    span: tuple[int, int]
    raw_unit: str | None = None


_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻", "0123456789+-")
_NUMBER = re.compile(
    r"(?<![\w.])(?P<sign>[+\-\u2212])?"
    r"(?:10(?:\s*(?:\^|\*\*)\s*[({]?\s*(?P<p1>[+\-\u2212]?\d+)(?:\s*[)}])?|(?P<p2>[⁺⁻]?[⁰¹²³⁴⁵⁶⁷⁸⁹]+))"
    r"|(?P<mant>\d{1,3}(?:,\d{3})+(?!\d)(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)"
    r"(?:[eE](?P<e1>[+\-\u2212]?\d+)"
    r"|\s*(?:[×xX*·⋅]|\\times)\s*10\s*(?:\^|\*\*)\s*[({]?\s*(?P<e2>[+\-\u2212]?\d+)(?:\s*[)}])?"
    r"|\s*(?:[×xX*·⋅]|\\times)\s*10(?P<e3>[⁺⁻]?[⁰¹²³⁴⁵⁶⁷⁸⁹]+))?)"
)
_PER_MOL = r"(?:\s*/\s*mole?|\s+per\s+mole?|\s*[·⋅*]?\s*mol\s*(?:\^\s*\(?[-\u2212]1\)?|⁻¹|[-\u2212]1))"
_UNIT_TABLE: tuple[tuple[str, str, int], ...] = (
    (r"kcal" + _PER_MOL, "kcal/mol", re.IGNORECASE),
    (r"kJ" + _PER_MOL, "kJ/mol", re.IGNORECASE),
    (r"g" + _PER_MOL, "g/mol", 0),
    (r"hartrees?", "hartree", re.IGNORECASE),
    (r"Ha|Eh|E_h", "hartree", 0),
    (r"eV|electron[ -]?volts?", "eV", re.IGNORECASE),
    (r"Da|[Dd]altons?|amu", "Da", 0),
    (r"(?:Å|Ang(?:strom)?s?|A)\s*(?:\^\s*2|\*\*\s*2|²)|(?:square|sq\.?)\s+(?:angstroms?|Å)", "Å²", 0),
    (r"Å|[Aa]ngstroms?", "Å", 0),
    (r"%|percent", "%", 0),
)
UNIT_PATTERNS = tuple((re.compile(rf"(?:{p})(?![A-Za-z0-9])", f), canon) for p, canon, f in _UNIT_TABLE)


def _match_unit(text: str, pos: int) -> tuple[str, str] | None:
    for pattern, canon in UNIT_PATTERNS:
        m = pattern.match(text, pos)
        if m:
            return m.group(0), canon
    return None


def _value(m: re.Match[str]) -> float:
    sign = "-" if m["sign"] in ("-", "\u2212") else ""
    sup = m["e3"] or m["p2"]
    exp = m["e1"] or m["e2"] or m["p1"] or (sup.translate(_SUPERSCRIPTS) if sup else None)
    literal = sign + (m["mant"].replace(",", "") if m["mant"] else "1")  # bare "10^x" is 1e(x)
    if exp is not None:
        literal += "e" + exp.replace("\u2212", "-")
    return float(literal)


def parse_number(text: str) -> ParsedNumber | None:
    """The first number in `text` with the unit written right after it, or None.

    Digits glued to letters that are not a unit ("3D-MoLM", "C6H6", "2nd") belong to a name, not
    a value, and are skipped. Commas only group thousands ("1,234.5"); "1,5" reads as 1.
    """
    for m in _NUMBER.finditer(text):
        end = m.end()
        glued = end < len(text) and (text[end].isalnum() or text[end] == "_")
        pos = end
        if not glued:
            while pos < len(text) and text[pos] in " \t\u00a0":
                pos += 1
        unit = _match_unit(text, pos)
        if glued and unit is None:
            continue
        raw, canon = unit if unit else (None, None)
        return ParsedNumber(value=_value(m), unit=canon, span=(m.start(), end), raw_unit=raw)
    return None
