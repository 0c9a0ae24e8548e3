"""Bemis-Murcko scaffolds, the grouping key for scaffold splits and scaffold-level metrics."""

from __future__ import annotations

from rdkit import Chem
from rdkit.Chem.Scaffolds import MurckoScaffold


def murcko_scaffold(mol: Chem.Mol, *, generic: bool = False, include_chirality: bool = False) -> str:
    """Canonical SMILES of the Bemis-Murcko scaffold (ring systems plus the linkers between them).

    Acyclic molecules have no scaffold and give ``""``, which callers can use as one shared
    "acyclic" group. ``generic=True`` turns every atom into carbon and every bond single
    (the Murcko framework). Chirality is dropped by default, as in RDKit's
    ``MurckoScaffoldSmiles`` and common scaffold splits, so stereoisomers share a scaffold.
    """
    scaffold = MurckoScaffold.GetScaffoldForMol(mol)
    if generic:
        scaffold = MurckoScaffold.MakeScaffoldGeneric(scaffold)
    return Chem.MolToSmiles(scaffold, isomericSmiles=include_chirality)
