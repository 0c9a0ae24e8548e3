"""Bemis-Murcko scaffolds, including the documented "" for acyclic molecules."""

from __future__ import annotations

from rdkit.Chem.Scaffolds import MurckoScaffold

from molbridge.chem import murcko_scaffold, to_mol


def test_benzene_is_its_own_scaffold() -> None:
    assert murcko_scaffold(to_mol("c1ccccc1")) == "c1ccccc1"


def test_acyclic_has_empty_scaffold() -> None:
    assert murcko_scaffold(to_mol("CCCCCC")) == ""
    assert murcko_scaffold(to_mol("CCCCCC"), generic=True) == ""


def test_side_chains_removed_linkers_kept() -> None:
    assert murcko_scaffold(to_mol("CCc1ccc(CCc2ccccn2)cc1")) == "c1ccc(CCc2ccccn2)cc1"


def test_generic_scaffold() -> None:
    assert murcko_scaffold(to_mol("c1ccncc1CC"), generic=True) == "C1CCCCC1"


def test_chirality_dropped_by_default_like_rdkit() -> None:
    smiles = "C[C@H]1CCC[C@@H](C)N1Cc1ccccc1"
    mol = to_mol(smiles)
    assert murcko_scaffold(mol) == MurckoScaffold.MurckoScaffoldSmiles(smiles)
    assert "@" not in murcko_scaffold(mol)
