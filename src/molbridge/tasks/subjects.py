"""Subjects from raw source values: one parse per molecule, every representation computed from it.

A source hands its tasks a molecule as canonical SMILES, SELFIES and InChI (plus a caption, an
IUPAC name or a conformer when it has them), all derived from one RDKit parse, so every task
about that molecule shows the same strings. The canonical SMILES is read back once (SELFIES is
written from that reading) and the subject keeps that molecule too: quality control, splits and
the dataset card judge the molecule as a reader of the records will parse it, without a parse of their own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError
from rdkit import Chem

from molbridge.chem.parse import kekule_selfies, read_back, to_inchi, to_mol
from molbridge.records import Conformer, Modalities, RecordError
from molbridge.tasks.spec import Subject


def molecule_subject(key: str, smiles: str, meta: Mapping[str, Any], *, caption: str | None = None,
                     iupac: str | None = None, conformer: Conformer | None = None,
                     facts: Mapping[str, Any] | None = None) -> Subject:
    """A molecule subject (raises InvalidMolecule for a SMILES RDKit cannot read or SELFIES cannot encode)."""
    mol = to_mol(smiles)
    canonical = Chem.MolToSmiles(mol)
    stored = read_back(canonical)
    modalities = Modalities(smiles=canonical, selfies=kekule_selfies(Chem.Mol(stored), canonical),
                            inchi=to_inchi(mol), iupac=iupac, caption=caption, conformer=conformer)
    return Subject(key, modalities, meta, dict(facts or {}), mol, stored)


def protein_subject(key: str, sequence: str, meta: Mapping[str, Any], *, caption: str | None = None,
                    coords: list | None = None, facts: Mapping[str, Any] | None = None) -> Subject:
    """A protein subject (raises RecordError for a sequence or coordinates the schema refuses)."""
    try:
        modalities = Modalities(protein_sequence=sequence, caption=caption, protein_coords=coords)
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'modalities'}: {e['msg']}" for e in err.errors())
        raise RecordError(f"record {key!r}: {problems}") from None
    return Subject(key, modalities, meta, dict(facts or {}))
