"""MOSES SMILES from the molsets package: seeded samples of valid molecules, a clear error when absent."""

from __future__ import annotations

import pytest

from molbridge.chem.parse import to_mol
from molbridge.data.sources import moses
from molbridge.data.sources.moses import MosesError, read_moses_smiles
from molbridge.errors import MissingResourceError


def test_read_moses_smiles_gives_a_seeded_sample_of_valid_smiles():
    sample = read_moses_smiles(25, seed=3)
    assert len(sample) == 25 and sample == read_moses_smiles(25, seed=3)
    assert sample != read_moses_smiles(25, seed=4)
    for smiles in sample:
        to_mol(smiles)
    with pytest.raises(MosesError):
        read_moses_smiles(-1)


def test_missing_moses_says_how_to_install(monkeypatch):
    monkeypatch.setattr(moses.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(MissingResourceError, match="pip install --no-deps molsets"):
        read_moses_smiles(10)
