"""Descriptors of aspirin against known values and against RDKit's own descriptor modules."""

from __future__ import annotations

import dataclasses

import pytest
from rdkit.Chem import Crippen, GraphDescriptors, Lipinski
from rdkit.Chem import Descriptors as RDKitDescriptors

from molbridge.chem import Descriptors, descriptors, to_mol

from .molecules import ASPIRIN


def test_aspirin_known_values() -> None:
    d = descriptors(to_mol(ASPIRIN))
    assert d.mol_weight == pytest.approx(180.159, abs=1e-3)
    assert d.tpsa == pytest.approx(63.6, abs=1e-6)
    assert d.logp == pytest.approx(1.3101, abs=1e-4)
    assert (d.heavy_atoms, d.rings, d.hbd, d.hba) == (13, 1, 1, 3)


def test_matches_rdkit_modules() -> None:
    mol = to_mol("CC(C)Cc1ccc(cc1)[C@@H](C)C(=O)O")  # ibuprofen
    d = descriptors(mol)
    assert d.mol_weight == RDKitDescriptors.MolWt(mol)
    assert d.logp == Crippen.MolLogP(mol)
    assert d.tpsa == RDKitDescriptors.TPSA(mol)
    assert d.bertz_complexity == GraphDescriptors.BertzCT(mol)
    assert d.heavy_atoms == Lipinski.HeavyAtomCount(mol)
    assert d.rings == Lipinski.RingCount(mol)
    assert d.hbd == Lipinski.NumHDonors(mol)
    assert d.hba == Lipinski.NumHAcceptors(mol)
    assert d.rotatable_bonds == Lipinski.NumRotatableBonds(mol)


def test_frozen_and_as_dict() -> None:
    d = descriptors(to_mol("CCO"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.tpsa = 0.0  # type: ignore[misc]
    row = d.as_dict()
    assert list(row) == [f.name for f in dataclasses.fields(Descriptors)]
    assert row["heavy_atoms"] == 3
