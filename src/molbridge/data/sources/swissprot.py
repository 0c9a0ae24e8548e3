"""Swiss-Prot flat files (user downloads: `uniprot_sprot.dat[.gz]`) through Biopython, optionally with structures.

Each entry gives its primary accession, name, sequence and the curated `FUNCTION` comment, the
text Mol-Instructions' protein description tasks are built from. With `structures` (a directory
of PDB/mmCIF files named `{accession}.pdb|.cif` or AlphaFold DB's `AF-{accession}-F1-model_v4.pdb`),
the Cα coordinates of a file whose chain sequence equals the entry's are attached; a mismatch
is reported, never attached.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from molbridge.data.formats.common import Problem
from molbridge.data.records import AMINO_ACIDS
from molbridge.errors import FileFormatError
from molbridge.protein.structure import read_ca_chain

SOURCE = "swissprot"
LICENSE = "CC BY 4.0 (UniProtKB/Swiss-Prot)"


@dataclass(frozen=True)
class SwissProtEntry:
    accession: str
    name: str
    sequence: str
    function: str
    coords: list[tuple[float, float, float]] | None
    where: str


def _structure_file(directory: Path, accession: str) -> Path | None:
    for name in (f"{accession}.pdb", f"{accession}.cif", f"AF-{accession}-F1-model_v4.pdb",
                 f"AF-{accession}-F1-model_v4.cif"):
        if (directory / name).is_file():
            return directory / name
    return None


def read_swissprot(path: str | Path, *, structures: str | Path | None = None,
                   problems: list[Problem] | None = None) -> Iterator[SwissProtEntry]:
    """Entries with a FUNCTION comment; entries without one, or with a bad sequence, go to `problems`."""
    from Bio import SwissProt

    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    directory = Path(structures) if structures is not None else None

    def problem(where: str, reason: str) -> None:
        if problems is not None:
            problems.append(Problem(where, reason))

    with opener(path, "rt", encoding="utf-8") as handle:
        try:
            for number, entry in enumerate(SwissProt.parse(handle)):
                accession, where = entry.accessions[0], f"{path}[#{number}]"
                function = " ".join(c.split(":", 1)[1].strip() for c in entry.comments if c.startswith("FUNCTION:"))
                function = function.split(" {ECO:")[0].strip() if " {ECO:" in function else function
                if set(entry.sequence) - AMINO_ACIDS:
                    problem(f"{where} {accession}", "letters outside the amino-acid alphabet")
                    continue
                if not function:
                    problem(f"{where} {accession}", "no FUNCTION comment")
                    continue
                coords = None
                found = _structure_file(directory, accession) if directory is not None else None
                if found is not None:
                    try:
                        sequence, ca = read_ca_chain(found)
                    except FileFormatError as err:
                        problem(str(found), err.reason)
                    else:
                        if sequence == entry.sequence:
                            coords = ca
                        else:
                            problem(str(found), f"chain sequence ({len(sequence)} residues) differs from {accession}'s")
                yield SwissProtEntry(accession, entry.entry_name, entry.sequence, function, coords, where)
        except (ValueError, AssertionError) as err:  # Biopython cannot resynchronise after a malformed entry
            problem(str(path), f"malformed Swiss-Prot entry after #{number if 'number' in locals() else 0}: "
                               f"{err}; the rest of the file was not read")
