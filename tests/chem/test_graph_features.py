"""Molecule -> graph features: known values, both bond directions, bond-less molecules, failures."""

from __future__ import annotations

import pytest
import torch
from rdkit import Chem
from torch_geometric.data import Data

from molbridge.chem.graph_features import (
    ATOM_FEATURE_DIMS,
    ATOM_FEATURES,
    BOND_FEATURE_DIMS,
    BOND_FEATURES,
    mol_to_graph,
    smiles_to_graph,
    smiles_to_graphs,
)
from molbridge.errors import InvalidMolecule

ATOM = {name: i for i, name in enumerate(ATOM_FEATURES)}
BOND = {name: i for i, name in enumerate(BOND_FEATURES)}
VARIED = ["CCO", "c1ccccc1", "[Na+].[Cl-]", "[H][H]", "C[C@H](N)C(=O)O", "C/C=C/C", "C#N", "*CC",
          "[Fe+3]", "O=S(=O)(O)O", "F[P-](F)(F)(F)(F)F", "[2H]OC", "c1ccc2[nH]ccc2c1", "[U]"]


def test_ethanol_counts_and_values():
    g = smiles_to_graph("CCO")
    assert isinstance(g, Data)
    assert g.x.shape == (3, len(ATOM_FEATURES)) and g.x.dtype == torch.long
    assert g.edge_index.shape == (2, 4) and g.edge_attr.shape == (4, len(BOND_FEATURES))
    assert g.x[:, ATOM["atomic_num"]].tolist() == [5, 5, 7]  # C, C, O: atomic number - 1
    assert g.x[:, ATOM["degree"]].tolist() == [1, 2, 1]
    assert g.x[:, ATOM["total_hs"]].tolist() == [3, 2, 1]
    assert g.x[:, ATOM["formal_charge"]].tolist() == [5, 5, 5]  # charge 0 sits at -5..5 position 5
    assert g.x[:, ATOM["aromatic"]].tolist() == [0, 0, 0]
    assert g.edge_attr[:, BOND["bond_type"]].tolist() == [0, 0, 0, 0]  # single
    assert g.edge_attr[:, BOND["conjugated"]].tolist() == [0, 0, 0, 0]


def test_benzene_is_aromatic_ring_with_aromatic_bonds():
    g = smiles_to_graph("c1ccccc1")
    assert g.num_nodes == 6 and g.edge_index.shape == (2, 12)
    assert g.x[:, ATOM["aromatic"]].tolist() == [1] * 6
    assert g.x[:, ATOM["in_ring"]].tolist() == [1] * 6
    assert g.x[:, ATOM["hybridization"]].tolist() == [2] * 6  # SP2
    assert g.edge_attr[:, BOND["bond_type"]].tolist() == [3] * 12  # aromatic
    assert g.edge_attr[:, BOND["conjugated"]].tolist() == [1] * 12


def test_each_bond_is_two_consecutive_opposite_edges_with_equal_features():
    for smiles in VARIED:
        g = smiles_to_graph(smiles)
        forward, backward = g.edge_index[:, 0::2], g.edge_index[:, 1::2]
        assert torch.equal(forward, backward.flip(0))
        assert torch.equal(g.edge_attr[0::2], g.edge_attr[1::2])
        assert g.edge_index.shape[1] == 2 * Chem.MolFromSmiles(smiles).GetNumBonds()


def test_chirality_and_double_bond_stereo_are_coded():
    chiral = smiles_to_graph("C[C@H](N)C(=O)O")
    assert chiral.x[1, ATOM["chirality"]] in (1, 2)  # tetrahedral CW / CCW
    assert set(chiral.x[[0, 2, 3], ATOM["chirality"]].tolist()) == {0}
    trans = smiles_to_graph("C/C=C/C")
    double = trans.edge_attr[:, BOND["bond_type"]] == 1
    assert set(trans.edge_attr[double, BOND["stereo"]].tolist()) == {2}  # STEREOE


@pytest.mark.parametrize("smiles, atoms", [("[Na+]", 1), ("[Na+].[Cl-]", 2), ("C", 1)])
def test_molecules_without_bonds_get_empty_edges(smiles, atoms):
    g = smiles_to_graph(smiles)
    assert g.num_nodes == atoms
    assert g.edge_index.shape == (2, 0) and g.edge_index.dtype == torch.long
    assert g.edge_attr.shape == (0, len(BOND_FEATURES)) and g.edge_attr.dtype == torch.long


def test_sodium_cation_charge_code():
    assert smiles_to_graph("[Na+]").x[0, ATOM["formal_charge"]] == 6


def test_unknown_values_fall_into_the_last_bucket():
    dummy = smiles_to_graph("*C")  # atomic number 0 is not an element
    assert dummy.x[0, ATOM["atomic_num"]] == ATOM_FEATURE_DIMS[ATOM["atomic_num"]] - 1
    assert dummy.x[1, ATOM["atomic_num"]] == 5


def test_codes_stay_inside_the_declared_vocabularies():
    for smiles in VARIED:
        g = smiles_to_graph(smiles)
        assert (g.x >= 0).all() and (g.x < torch.tensor(ATOM_FEATURE_DIMS)).all()
        if g.edge_attr.numel():
            assert (g.edge_attr >= 0).all() and (g.edge_attr < torch.tensor(BOND_FEATURE_DIMS)).all()


def test_mol_to_graph_equals_smiles_route():
    a, b = mol_to_graph(Chem.MolFromSmiles("CC(=O)Oc1ccccc1C(=O)O")), smiles_to_graph("CC(=O)Oc1ccccc1C(=O)O")
    assert all(torch.equal(a[key], b[key]) for key in ("x", "edge_index", "edge_attr"))


def test_chebi_doubled_backslashes_are_collapsed():
    assert torch.equal(smiles_to_graph("C\\\\C=C\\\\C").edge_attr, smiles_to_graph("C\\C=C\\C").edge_attr)


def test_single_invalid_smiles_raises_with_reason():
    with pytest.raises(InvalidMolecule, match="SMILES Parse Error"):
        smiles_to_graph("C1CC")


def test_batch_keeps_going_and_reports_every_failure_by_position():
    inputs = ["CCO", "C1CC", "", "c1ccccc1", "C(C)(C)(C)(C)C", "[Na+].[Cl-]"]
    graphs, failures = smiles_to_graphs(inputs)
    assert [g.num_nodes for g in graphs] == [3, 6, 2]
    assert [position for position, _ in failures] == [1, 2, 4]
    reasons = [reason for _, reason in failures]
    assert reasons[0].startswith("SMILES Parse Error")
    assert reasons[1].startswith("Empty")
    assert reasons[2].startswith("AtomValenceException")
    assert len(graphs) + len(failures) == len(inputs)


def test_empty_batch():
    assert smiles_to_graphs([]) == ([], [])
