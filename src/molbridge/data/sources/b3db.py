"""Named molecules with IUPAC names from B3DB (PyPI `qc-b3db`): 7,807 compounds, read from its TSV.

B3DB (Meng et al. 2021, CC0) collects blood-brain-barrier permeability data; every row has a
common name, an IUPAC name, SMILES, a PubChem CID and the BBB+/BBB- label. We use the names for
modality translation. The package is located, not imported (its loader needs pandas extras).

B3DB stores its IUPAC names case-folded, which destroys the letters whose case carries meaning:
stereodescriptors ("(2s,3r)" for (2S,3R)), indicated hydrogen ("1h-" for 1H-) and N-locants
("n-methyl" for N-methyl). Such names are wrong as translation targets, so rows whose name holds
one are reported (`case-folded IUPAC name`) and skipped; names without case-bearing parts
("3-methylpentane") are correct as stored and kept.
"""

from __future__ import annotations

import csv
import importlib.util
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from molbridge.data.formats.common import Problem
from molbridge.data.sources.paths import display_path
from molbridge.errors import MissingResourceError

SOURCE = "b3db"
LICENSE = "CC0 (B3DB, Meng et al. 2021, doi:10.1038/s41597-021-01069-5)"
INSTALL = "pip install --no-deps qc-b3db"
FILE = "B3DB_classification.tsv"
_CASE_BEARING = re.compile(r"\((\d+[a-z]?)?[rsez](,|\))"  # stereodescriptors (2s,3r) (e)
                           r"|\d+a?h[-,)]"  # indicated hydrogen 1h- 4ah-
                           r"|(^|[-\[(,\s])n['\d]*[,-]")  # N-locants n- n,n- n'-


def case_folded(name: str) -> bool:
    """Whether a lower-cased IUPAC name has lost letters whose case carries meaning."""
    return name == name.lower() and _CASE_BEARING.search(name) is not None


@dataclass(frozen=True)
class NamedMolecule:
    """A molecule with its common and IUPAC names."""

    number: str
    name: str
    iupac: str
    smiles: str
    cid: str
    bbb: str
    where: str


def table_path() -> Path:
    spec = importlib.util.find_spec("B3DB")
    if spec is None or not spec.submodule_search_locations:
        raise MissingResourceError(f"B3DB not found: the 'qc-b3db' package is not installed ({INSTALL})")
    path = Path(next(iter(spec.submodule_search_locations))) / FILE
    if not path.is_file():
        raise MissingResourceError(f"{path} not found; reinstall: {INSTALL} --force-reinstall")
    return path


def read_b3db(path: str | Path | None = None, *, problems: list[Problem] | None = None) -> Iterator[NamedMolecule]:
    """Rows with a SMILES and an IUPAC name; rows lacking either go to `problems`."""
    path = Path(path) if path is not None else table_path()
    shown = display_path(path)  # B3DB:B3DB_classification.tsv, the same on every machine
    with path.open(encoding="utf-8", newline="") as handle:
        for line, row in enumerate(csv.DictReader(handle, delimiter="\t"), start=2):
            where = f"{shown}:{line}"
            smiles, iupac = (row.get("SMILES") or "").strip(), (row.get("IUPAC_name") or "").strip()
            reason = "no SMILES" if not smiles else "no IUPAC name" if not iupac else (
                "case-folded IUPAC name (stereo, hydrogen or N-locant letters lost)" if case_folded(iupac) else None)
            if reason:
                if problems is not None:
                    problems.append(Problem(where, reason))
                continue
            yield NamedMolecule(row.get("NO.") or str(line), (row.get("compound_name") or "").strip(), iupac, smiles,
                                (row.get("CID") or "").strip(), (row.get("BBB+/BBB-") or "").strip(), where)
