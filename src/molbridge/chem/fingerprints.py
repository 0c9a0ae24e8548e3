"""Fingerprints bit-for-bit equal to the legacy RDKit calls used by MolT5's evaluation.

The scoring engine's MACCS/RDK/Morgan similarities are only comparable with published
numbers if the fingerprints are identical, so each function names the legacy call it
reproduces; ``tests/chem/test_fingerprints.py`` proves the equality on ChEBI-20.
"""

from __future__ import annotations

from functools import lru_cache

from rdkit import Chem, DataStructs
from rdkit.Chem import rdFingerprintGenerator, rdMolDescriptors

BitVect = DataStructs.ExplicitBitVect
CountVect = DataStructs.ULongSparseIntVect


@lru_cache(maxsize=16)
def _morgan_generator(radius: int, n_bits: int) -> rdFingerprintGenerator.FingerprintGenerator64:
    """Generators are reusable and costly to build relative to one fingerprint; cache them."""
    return rdFingerprintGenerator.GetMorganGenerator(radius=radius, fpSize=n_bits)


@lru_cache(maxsize=1)
def _rdkit_generator() -> rdFingerprintGenerator.FingerprintGenerator64:
    return rdFingerprintGenerator.GetRDKitFPGenerator()


def morgan_counts(mol: Chem.Mol, radius: int = 2) -> CountVect:
    """Sparse Morgan counts; same elements and counts as ``AllChem.GetMorganFingerprint(mol, radius)``.

    The generator returns a 64-bit-keyed ``ULongSparseIntVect`` where the legacy call
    returned ``UIntSparseIntVect``; the keys and counts, hence every Tanimoto, are equal,
    but the two types cannot be compared with each other.
    """
    return _morgan_generator(radius, 2048).GetSparseCountFingerprint(mol)


def morgan_bits(mol: Chem.Mol, radius: int = 2, n_bits: int = 2048) -> BitVect:
    """Folded Morgan bits; equal to ``AllChem.GetMorganFingerprintAsBitVect(mol, radius, nBits=n_bits)``."""
    return _morgan_generator(radius, n_bits).GetFingerprint(mol)


def maccs(mol: Chem.Mol) -> BitVect:
    """The 167-bit MACCS keys (RDKit has no generator for them); ``MACCSkeys.GenMACCSKeys`` is this function."""
    return rdMolDescriptors.GetMACCSKeysFingerprint(mol)


def rdk(mol: Chem.Mol) -> BitVect:
    """RDKit path fingerprint; equal to ``Chem.RDKFingerprint(mol)`` with its defaults (2048 bits, paths 1-7)."""
    return _rdkit_generator().GetFingerprint(mol)


def tanimoto(a: BitVect | CountVect, b: BitVect | CountVect) -> float:
    """Tanimoto similarity of two fingerprints of the same kind (bits or counts)."""
    if type(a) is not type(b):
        raise TypeError(f"cannot compare {type(a).__name__} with {type(b).__name__}")
    return DataStructs.TanimotoSimilarity(a, b)
