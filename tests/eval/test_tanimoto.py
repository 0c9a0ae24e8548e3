"""Vectorised Tanimoto equals RDKit's per-pair `TanimotoSimilarity` bit for bit, empty molecules included."""

from __future__ import annotations

import itertools

import numpy as np
from rdkit import Chem

from molbridge.chem import fingerprints as fp
from molbridge.eval.mol_features import fingerprints
from molbridge.eval.tanimoto import bit_tanimoto, count_tanimoto

SMILES = ["", "C", "CCO", "OCC", "c1ccccc1O", "CC(=O)Nc1ccc(O)cc1", "CCN(CC)CC", "OC(=O)CCC(=O)O",
          "C[C@H](N)C(=O)O", "[Na+].[Cl-]", "CC(C)Cc1ccc(cc1)C(C)C(=O)O"]


def test_equal_to_rdkit_pair_by_pair() -> None:
    mols = [Chem.MolFromSmiles(s) for s in SMILES]
    pairs = list(itertools.product(range(len(mols)), repeat=2))
    prints = [fingerprints(m, 2) for m in mols]
    a, b = [prints[i] for i, _ in pairs], [prints[j] for _, j in pairs]
    want = np.array([[fp.tanimoto(fp.maccs(mols[i]), fp.maccs(mols[j])) for i, j in pairs],
                     [fp.tanimoto(fp.rdk(mols[i]), fp.rdk(mols[j])) for i, j in pairs],
                     [fp.tanimoto(fp.morgan_counts(mols[i]), fp.morgan_counts(mols[j])) for i, j in pairs]])
    got = np.array([bit_tanimoto(np.stack([x.maccs for x in a]), np.stack([y.maccs for y in b])),
                    bit_tanimoto(np.stack([x.rdk for x in a]), np.stack([y.rdk for y in b])),
                    count_tanimoto([x.morgan_keys for x in a], [x.morgan_counts for x in a],
                                   [y.morgan_keys for y in b], [y.morgan_counts for y in b])])
    assert np.array_equal(got, want)  # exact, not approximate


def test_no_pairs() -> None:
    assert count_tanimoto([], [], [], []).shape == (0,)
