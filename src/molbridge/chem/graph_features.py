"""Molecule -> graph with categorical atom and bond features, the input of the GIN encoder.

Every feature is an integer column indexing a fixed vocabulary whose last entry is an "other"
bucket (OGB / Mole-BERT style), so an unusual atom (a charge of +6, a 12-coordinate metal)
still gets a graph instead of an error, and the vocabulary sizes are constants a saved model
can be checked against. Each bond appears twice, as consecutive edges ``2k`` (i -> j) and
``2k + 1`` (j -> i), so message passing runs both ways and an augmentation can drop a bond by
dropping an edge pair. A molecule without bonds (a single atom, a salt's ions) gets an empty
``(2, 0)`` edge index.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
from rdkit import Chem
from torch_geometric.data import Data

from molbridge.chem.parse import to_mol
from molbridge.errors import InvalidMolecule

_ATOMIC_NUMBERS = tuple(range(1, 119))
_CHIRALITY = (
    Chem.ChiralType.CHI_UNSPECIFIED,
    Chem.ChiralType.CHI_TETRAHEDRAL_CW,
    Chem.ChiralType.CHI_TETRAHEDRAL_CCW,
)
_DEGREES = tuple(range(11))
_FORMAL_CHARGES = tuple(range(-5, 6))
_TOTAL_HS = tuple(range(9))
_HYBRIDISATION = (
    Chem.HybridizationType.S,
    Chem.HybridizationType.SP,
    Chem.HybridizationType.SP2,
    Chem.HybridizationType.SP3,
    Chem.HybridizationType.SP3D,
    Chem.HybridizationType.SP3D2,
)
_BOOL = (False, True)

_BOND_TYPES = (Chem.BondType.SINGLE, Chem.BondType.DOUBLE, Chem.BondType.TRIPLE, Chem.BondType.AROMATIC)
_BOND_STEREO = (
    Chem.BondStereo.STEREONONE,
    Chem.BondStereo.STEREOZ,
    Chem.BondStereo.STEREOE,
    Chem.BondStereo.STEREOCIS,
    Chem.BondStereo.STEREOTRANS,
    Chem.BondStereo.STEREOANY,
)

ATOM_FEATURES = (
    "atomic_num", "chirality", "degree", "formal_charge", "total_hs", "hybridization", "aromatic", "in_ring",
)
BOND_FEATURES = ("bond_type", "stereo", "conjugated")
_ATOM_VOCABS: tuple[tuple[object, ...], ...] = (
    _ATOMIC_NUMBERS, _CHIRALITY, _DEGREES, _FORMAL_CHARGES, _TOTAL_HS, _HYBRIDISATION, _BOOL, _BOOL,
)
_BOND_VOCABS: tuple[tuple[object, ...], ...] = (_BOND_TYPES, _BOND_STEREO, _BOOL)
# vocabulary size per column; booleans are exact, every other column ends in its "other" bucket
ATOM_FEATURE_DIMS = tuple(len(v) if v is _BOOL else len(v) + 1 for v in _ATOM_VOCABS)
BOND_FEATURE_DIMS = tuple(len(v) if v is _BOOL else len(v) + 1 for v in _BOND_VOCABS)

_ATOM_INDEX = tuple({value: i for i, value in enumerate(vocab)} for vocab in _ATOM_VOCABS)
_BOND_INDEX = tuple({value: i for i, value in enumerate(vocab)} for vocab in _BOND_VOCABS)


def _codes(values: Iterable[object], indexes: tuple[dict[object, int], ...]) -> list[int]:
    """Vocabulary position of each value; unseen values go to the column's last ("other") slot."""
    return [index.get(value, len(index)) for value, index in zip(values, indexes)]


def atom_codes(atom: Chem.Atom) -> list[int]:
    """The atom's row of ``Data.x`` (one integer per name in ``ATOM_FEATURES``)."""
    values = (
        atom.GetAtomicNum(), atom.GetChiralTag(), atom.GetDegree(), atom.GetFormalCharge(),
        atom.GetTotalNumHs(), atom.GetHybridization(), atom.GetIsAromatic(), atom.IsInRing(),
    )
    return _codes(values, _ATOM_INDEX)


def bond_codes(bond: Chem.Bond) -> list[int]:
    """The bond's row of ``Data.edge_attr`` (one integer per name in ``BOND_FEATURES``)."""
    return _codes((bond.GetBondType(), bond.GetStereo(), bond.GetIsConjugated()), _BOND_INDEX)


def mol_to_graph(mol: Chem.Mol) -> Data:
    """Graph of a sanitised molecule: ``x`` (atoms, 8), ``edge_index`` (2, 2·bonds), ``edge_attr`` (2·bonds, 3).

    All tensors are int64 (what ``nn.Embedding`` and PyG's batching expect).
    """
    x = torch.tensor([atom_codes(atom) for atom in mol.GetAtoms()], dtype=torch.long)
    sources: list[int] = []
    targets: list[int] = []
    attrs: list[list[int]] = []
    for bond in mol.GetBonds():
        i, j = bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()
        codes = bond_codes(bond)
        sources += (i, j)
        targets += (j, i)
        attrs += (codes, codes)
    edge_index = torch.tensor([sources, targets], dtype=torch.long).reshape(2, -1)
    edge_attr = torch.tensor(attrs, dtype=torch.long).reshape(-1, len(BOND_FEATURES))
    return Data(x=x, edge_index=edge_index, edge_attr=edge_attr)


def smiles_to_graph(smiles: str) -> Data:
    """Graph of one SMILES (ChEBI escapes collapsed); raises :class:`InvalidMolecule` with RDKit's reason."""
    return mol_to_graph(to_mol(smiles))


def smiles_to_graphs(smiles: Sequence[str]) -> tuple[list[Data], list[tuple[int, str]]]:
    """Graphs of the valid SMILES in input order, and ``(position, reason)`` for each invalid one.

    Never raises for a bad item and never drops one silently: every input position is either
    behind a graph or listed in the failures.
    """
    graphs: list[Data] = []
    failures: list[tuple[int, str]] = []
    for position, text in enumerate(smiles):
        try:
            graphs.append(smiles_to_graph(text))
        except InvalidMolecule as err:
            failures.append((position, err.reason))
    return graphs, failures
