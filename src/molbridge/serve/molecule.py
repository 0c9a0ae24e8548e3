"""One molecule as the API shows it: any of its names in, every identifier, descriptors and a depiction out.

A name is read by OPSIN (the `pyopsin` package: the Java library in-process through JPype), started on the first
name asked for, so a server that never reads names never starts a JVM.
"""

from __future__ import annotations

import re
import threading
from functools import cache
from typing import Literal

from pydantic import BaseModel
from rdkit import Chem

from molbridge.chem.depiction import depict_svg
from molbridge.chem.descriptors import descriptors
from molbridge.chem.parse import (
    canonical_smiles,
    formula,
    from_inchi,
    from_selfies,
    mol_to_selfies,
    to_inchi,
    to_inchikey,
    to_mol,
)
from molbridge.errors import InvalidMolecule, MissingResourceError

Notation = Literal["auto", "smiles", "selfies", "inchi", "name"]
NOTATIONS: tuple[Notation, ...] = ("auto", "smiles", "selfies", "inchi", "name")
_opsin_lock = threading.Lock()
_SELFIES = re.compile(r"(\[[^\[\]]+\])+")


class MoleculeView(BaseModel):
    """Every identifier of one molecule (the `/v1/molecule` response)."""

    notation: str  # what the input was read as
    smiles: str
    selfies: str | None  # None: SELFIES' constraints refuse the molecule (reason in `notes`)
    inchi: str
    inchikey: str
    formula: str
    descriptors: dict[str, float | int]
    svg: str
    notes: list[str]


def guess_notation(text: str) -> Notation:
    """InChI by its prefix, SELFIES by its bracketed tokens, else SMILES (a name is asked for explicitly)."""
    stripped = text.strip()
    if stripped.startswith("InChI="):
        return "inchi"
    if "][" in stripped and _SELFIES.fullmatch(stripped):
        return "selfies"
    return "smiles"


def read_molecule(text: str, notation: Notation = "auto") -> tuple[Chem.Mol, str]:
    """(sanitised molecule, notation used); InvalidMolecule carries RDKit's, SELFIES' or OPSIN's reason."""
    if not text.strip():
        raise InvalidMolecule(text, "Empty: no molecule given")
    used = guess_notation(text) if notation == "auto" else notation
    if used == "smiles":
        return to_mol(text), used
    if used == "selfies":
        return to_mol(from_selfies(text.strip())), used
    if used == "inchi":
        return from_inchi(text.strip()), used
    return to_mol(_name_to_smiles(text.strip())), used


@cache
def _opsin():
    try:
        from pyopsin import PyOpsin
    except ImportError as err:
        raise MissingResourceError(f"reading names needs pyopsin (pip install pyopsin): {err}") from None
    try:
        return PyOpsin()
    except Exception as err:  # JPype raises its own types when no Java runtime is found
        raise MissingResourceError(f"OPSIN needs a Java runtime (apt install default-jre-headless): {err}") from None


def _name_to_smiles(name: str) -> str:
    with _opsin_lock:  # one JVM; OPSIN's parser is not documented as thread-safe
        smiles = _opsin().to_smiles(name)
    found = smiles[0] if isinstance(smiles, list) else smiles
    if not found:
        raise InvalidMolecule(name, "NameError: OPSIN cannot interpret this name")
    return str(found)


def view(text: str, notation: Notation = "auto", *, depiction_size: int = 300) -> MoleculeView:
    """Every identifier of the molecule `text` names."""
    mol, used = read_molecule(text, notation)
    notes: list[str] = []
    try:
        selfies_text: str | None = mol_to_selfies(mol)
    except InvalidMolecule as err:
        selfies_text = None
        notes.append(f"no SELFIES: {err.reason}")
    inchi = to_inchi(mol)
    return MoleculeView(notation=used, smiles=canonical_smiles(Chem.MolToSmiles(mol)), selfies=selfies_text,
                        inchi=inchi, inchikey=to_inchikey(mol, inchi), formula=formula(mol),
                        descriptors=descriptors(mol).as_dict(), svg=depict_svg(mol, depiction_size, depiction_size),
                        notes=notes)
