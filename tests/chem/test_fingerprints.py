"""Fingerprints equal the legacy calls MolT5's evaluation used, on real ChEBI-20 molecules."""

from __future__ import annotations

import random

import pytest
from rdkit import Chem, DataStructs
from rdkit.Chem import AllChem, MACCSkeys

from molbridge.chem import maccs, morgan_bits, morgan_counts, rdk, tanimoto, to_mol

N_MOLECULES = 300
N_PAIRS = 600


@pytest.fixture(scope="module")
def mols(chebi20_test_smiles: list[str]) -> list[Chem.Mol]:
    rng = random.Random(20)
    return [to_mol(s) for s in rng.sample(chebi20_test_smiles, N_MOLECULES)]


@pytest.fixture(scope="module")
def pairs() -> list[tuple[int, int]]:
    rng = random.Random(5)
    return [(rng.randrange(N_MOLECULES), rng.randrange(N_MOLECULES)) for _ in range(N_PAIRS)]


def test_morgan_counts_equal_legacy_elements_and_tanimoto(mols: list[Chem.Mol], pairs: list[tuple[int, int]]) -> None:
    legacy = [AllChem.GetMorganFingerprint(m, 2) for m in mols]
    ours = [morgan_counts(m) for m in mols]
    for old, new in zip(legacy, ours, strict=True):
        assert old.GetNonzeroElements() == new.GetNonzeroElements()
    for i, j in pairs:
        assert tanimoto(ours[i], ours[j]) == DataStructs.TanimotoSimilarity(legacy[i], legacy[j])


@pytest.mark.parametrize("radius", [1, 3])
def test_morgan_counts_other_radii(mols: list[Chem.Mol], radius: int) -> None:
    for m in mols[:50]:
        legacy = AllChem.GetMorganFingerprint(m, radius)
        assert morgan_counts(m, radius).GetNonzeroElements() == legacy.GetNonzeroElements()


@pytest.mark.parametrize("radius, n_bits", [(2, 2048), (2, 1024), (3, 4096)])
def test_morgan_bits_equal_legacy(mols: list[Chem.Mol], radius: int, n_bits: int) -> None:
    for m in mols:
        assert morgan_bits(m, radius, n_bits) == AllChem.GetMorganFingerprintAsBitVect(m, radius, nBits=n_bits)


def test_rdk_equals_legacy_defaults(mols: list[Chem.Mol], pairs: list[tuple[int, int]]) -> None:
    legacy = [Chem.RDKFingerprint(m) for m in mols]
    ours = [rdk(m) for m in mols]
    for old, new in zip(legacy, ours, strict=True):
        assert new.GetNumBits() == old.GetNumBits() == 2048
        assert list(new.GetOnBits()) == list(old.GetOnBits())
    for i, j in pairs[:100]:
        assert tanimoto(ours[i], ours[j]) == DataStructs.TanimotoSimilarity(legacy[i], legacy[j])


def test_maccs_equals_genmaccskeys(mols: list[Chem.Mol]) -> None:
    for m in mols[:100]:
        assert maccs(m) == MACCSkeys.GenMACCSKeys(m)
    assert maccs(mols[0]).GetNumBits() == 167


def test_tanimoto_basics() -> None:
    a, b = to_mol("CCO"), to_mol("CCN")
    assert tanimoto(morgan_bits(a), morgan_bits(a)) == 1.0
    assert 0.0 <= tanimoto(morgan_counts(a), morgan_counts(b)) < 1.0
    with pytest.raises(TypeError, match="cannot compare"):
        tanimoto(morgan_bits(a), morgan_counts(a))
