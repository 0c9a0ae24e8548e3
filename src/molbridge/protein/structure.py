"""Cα coordinates and sequence of a protein chain from a PDB or mmCIF file, through Biopython.

SEPIT's structure bias needs one position per residue (the Cα atom). Residues without a Cα, and
hetero groups and waters, are skipped; the sequence is the one-letter code of the kept residues
(non-standard amino acids as X), so sequence and coordinates always have the same length.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from molbridge.errors import FileFormatError


def read_ca_chain(path: str | Path, chain: str | None = None) -> tuple[str, list[tuple[float, float, float]]]:
    """(sequence, Cα coordinates in Å) of `chain` (default: the first chain with amino acids) of the first model."""
    from Bio.PDB import MMCIFParser, PDBParser
    from Bio.PDB.PDBExceptions import PDBConstructionWarning
    from Bio.PDB.Polypeptide import index_to_one, is_aa, three_to_index

    path = Path(path)
    parser = MMCIFParser(QUIET=True) if path.suffix.lower() in (".cif", ".mmcif") else PDBParser(QUIET=True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PDBConstructionWarning)
            structure = parser.get_structure(path.stem, str(path))
    except (ValueError, KeyError, OSError) as err:
        raise FileFormatError(str(path), None, f"not a readable structure file: {err}") from None
    models = list(structure)
    if not models:
        raise FileFormatError(str(path), None, "no model in the structure file")
    for candidate in models[0]:
        if chain is not None and candidate.id != chain:
            continue
        residues = [r for r in candidate if r.id[0] == " " and is_aa(r, standard=False) and "CA" in r]
        if not residues:
            continue
        letters = []
        for residue in residues:
            try:
                letters.append(index_to_one(three_to_index(residue.get_resname())))
            except (KeyError, ValueError):
                letters.append("X")
        # Biopython stores float32; PDB and mmCIF give 3 decimals, so round back to what the file says
        return "".join(letters), [_rounded(*r["CA"].coord) for r in residues]
    raise FileFormatError(str(path), None, f"no amino-acid chain{f' {chain!r}' if chain else ''} with Cα atoms")


def _rounded(x: float, y: float, z: float) -> tuple[float, float, float]:
    return round(float(x), 3), round(float(y), 3), round(float(z), 3)
