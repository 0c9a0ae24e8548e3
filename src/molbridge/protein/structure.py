"""Cα coordinates and sequence of a protein chain from a PDB or mmCIF file (gzipped or not), through Biopython.

SEPIT's structure bias needs one position per residue (the Cα atom). Every polymer residue with a Cα
is kept, modified amino acids in HETATM records (selenomethionine) and force-field residue names
(simulation files' HSD for histidine) included; residues without a Cα, ligands and waters are
skipped; the sequence is the one-letter code of the kept residues (unknown ones as X), so sequence
and coordinates always have the same length.
"""

from __future__ import annotations

import gzip
import warnings
from pathlib import Path

from molbridge.errors import FileFormatError

FORCE_FIELD_NAMES = {"HSD": "H", "HSP": "H", "HID": "H", "HIE": "H", "CYX": "C", "CYM": "C", "ASH": "D"}


def read_ca_chain(path: str | Path, chain: str | None = None) -> tuple[str, list[tuple[float, float, float]]]:
    """(sequence, Cα coordinates in Å) of `chain` (default: the first chain with amino acids) of the first model."""
    from Bio.PDB import MMCIFParser, PDBParser
    from Bio.PDB.PDBExceptions import PDBConstructionWarning

    path = Path(path)
    packed = path.suffix.lower() == ".gz"  # AlphaFold DB and the PDB serve gzipped files
    kind = Path(path.stem).suffix.lower() if packed else path.suffix.lower()
    parser = MMCIFParser(QUIET=True) if kind in (".cif", ".mmcif") else PDBParser(QUIET=True)
    try:
        with warnings.catch_warnings(), (gzip.open(path, "rt") if packed else open(path)) as handle:
            warnings.simplefilter("ignore", PDBConstructionWarning)
            structure = parser.get_structure(path.stem, handle)
    except (ValueError, KeyError, OSError, EOFError) as err:
        raise FileFormatError(str(path), None, f"not a readable structure file: {err}") from None
    models = list(structure)
    if not models:
        raise FileFormatError(str(path), None, "no model in the structure file")
    for candidate in models[0]:
        if chain is not None and candidate.id != chain:
            continue
        residues = [r for r in candidate if "CA" in r and (r.id[0] == " " or _letter(r.get_resname()) != "X")]
        if not residues:
            continue
        letters = [_letter(r.get_resname()) for r in residues]
        # Biopython stores float32; PDB and mmCIF give 3 decimals, so round back to what the file says
        return "".join(letters), [_rounded(*r["CA"].coord) for r in residues]
    raise FileFormatError(str(path), None, f"no amino-acid chain{f' {chain!r}' if chain else ''} with Cα atoms")


def _letter(name: str) -> str:
    """One-letter code of a residue name: standard, modified (Biopython's table: MSE → M, SEP → S) or a
    force-field protonation state (CHARMM's HSD/HSE/HSP, AMBER's HID/HIE/HIP, CYX, ASH, GLH, LYN); else X."""
    from Bio.Data.PDBData import protein_letters_3to1_extended

    return protein_letters_3to1_extended.get(name) or FORCE_FIELD_NAMES.get(name, "X")


def _rounded(x: float, y: float, z: float) -> tuple[float, float, float]:
    return round(float(x), 3), round(float(y), 3), round(float(z), 3)
