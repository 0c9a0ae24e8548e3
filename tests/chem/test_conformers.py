"""Conformers: ETKDGv3 + MMFF geometry, seeds, failures with causes, and the hard deadline that kills a worker."""

from __future__ import annotations

import math

import pytest

from molbridge.chem.conformers import ConformerError, ConformerRunner, embed_conformer


def distance(a, b) -> float:
    return math.dist(a, b)


def test_aspirin_gets_an_optimised_geometry_with_hydrogens():
    g = embed_conformer("CC(=O)Oc1ccccc1C(=O)O")
    assert len(g.atoms) == 21 and g.atoms.count("H") == 8 and len(g.coords) == 21
    assert g.method.endswith("+MMFF94") and g.energy is not None and g.attempts == 1
    assert 1.45 < distance(g.coords[0], g.coords[1]) < 1.56  # the methyl C-C single bond


def test_same_seed_same_coordinates_other_seed_other_coordinates():
    a, b = embed_conformer("CCCCO", seed=1), embed_conformer("CCCCO", seed=1)
    assert a.coords == b.coords
    assert embed_conformer("CCCCO", seed=2).coords != a.coords


def test_a_molecule_without_mmff_parameters_keeps_its_embedding_and_says_so():
    g = embed_conformer("C[Se]C")
    assert g.energy is None and "no MMFF94 parameters" in g.method


def test_an_invalid_molecule_is_a_conformer_error_with_the_cause():
    with pytest.raises(ConformerError, match="invalid molecule"):
        embed_conformer("C1CC")


def test_runner_reports_every_input_and_kills_an_overrunning_molecule():
    smiles = ["CCO", "C1CC", "c1ccccc1O", "C" * 250, "CCN"]
    results = {r.index: r for r in ConformerRunner(2, deadline_s=0.4).run(smiles)}
    assert sorted(results) == [0, 1, 2, 3, 4]
    assert results[0].geometry and results[2].geometry and results[4].geometry
    assert "invalid molecule" in results[1].cause
    assert results[3].geometry is None and results[3].cause.startswith("timeout after 0.4 s")
