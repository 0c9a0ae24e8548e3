"""Readers for the ChEBI-20 (MolT5) TSV and ChEBI-20-MM CSV tables.

ChEBI-20 is tab-separated with `csv.QUOTE_NONE` and stores SMILES with doubled backslashes
(484 of 3,300 test rows): `smiles` holds the real SMILES (unescaped), `smiles_raw` the stored
text. Malformed rows raise `FileFormatError` with file and line; these tables are references,
so no row may be guessed or skipped.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from molbridge.chem.parse import unescape_chebi
from molbridge.data.tables import read_table
from molbridge.errors import FileFormatError

CHEBI20_COLUMNS = ("CID", "SMILES", "description")
CHEBI20_MM_COLUMNS = ("CID", "SMILES", "description", "polararea", "xlogp", "inchi", "iupacname", "SELFIES")
LICENSE = "CC BY 4.0 (ChEBI); ChEBI-20 by Edwards et al. 2021"


@dataclass(frozen=True)
class ChEBI20Record:
    cid: str
    smiles: str
    smiles_raw: str
    description: str
    line: int


@dataclass(frozen=True)
class ChEBI20MMRecord(ChEBI20Record):
    polararea: float | None
    xlogp: float | None
    inchi: str
    iupac_name: str
    selfies: str | None  # empty in 487 test rows (the escaped-backslash SMILES)


def read_chebi20(path: str | Path) -> list[ChEBI20Record]:
    """All rows of a ChEBI-20 split (`CID\\tSMILES\\tdescription`)."""
    _, rows = read_table(path, delimiter="\t", required=CHEBI20_COLUMNS, quoting=csv.QUOTE_NONE)
    out = []
    for row in rows:
        if row.ragged:
            raise FileFormatError(str(path), row.line, f"ragged row ({row.ragged})")
        cid, smiles, desc = (_field(path, row, c) for c in CHEBI20_COLUMNS)
        out.append(ChEBI20Record(cid, unescape_chebi(smiles), smiles, desc, row.line))
    _check_unique(path, out)
    return out


def read_chebi20_mm(path: str | Path) -> list[ChEBI20MMRecord]:
    """All rows of a ChEBI-20-MM split (CSV with properties, InChI, IUPAC name, SELFIES)."""
    _, rows = read_table(path, delimiter=",", required=CHEBI20_MM_COLUMNS)
    out = []
    for row in rows:
        if row.ragged:
            raise FileFormatError(str(path), row.line, f"ragged row ({row.ragged})")
        smiles = _field(path, row, "SMILES")
        out.append(
            ChEBI20MMRecord(
                cid=_field(path, row, "CID"),
                smiles=unescape_chebi(smiles),
                smiles_raw=smiles,
                description=_field(path, row, "description"),
                line=row.line,
                polararea=_number(path, row, "polararea"),
                xlogp=_number(path, row, "xlogp"),
                inchi=row.get("inchi") or "",
                iupac_name=row.get("iupacname") or "",
                selfies=row.get("SELFIES") or None,
            )
        )
    _check_unique(path, out)
    return out


def _field(path: str | Path, row, column: str) -> str:
    value = row.get(column)
    if value is None or not value.strip():
        raise FileFormatError(str(path), row.line, f"empty {column!r}")
    return value


def _number(path: str | Path, row, column: str) -> float | None:
    value = (row.get(column) or "").strip()
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        raise FileFormatError(str(path), row.line, f"{column!r} is not a number: {value!r}") from None


def _check_unique(path: str | Path, records: Sequence[ChEBI20Record]) -> None:
    seen: dict[str, int] = {}
    for rec in records:
        if rec.cid in seen:
            raise FileFormatError(str(path), rec.line, f"duplicate CID {rec.cid} (first on line {seen[rec.cid]})")
        seen[rec.cid] = rec.line
