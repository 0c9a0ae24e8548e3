"""The OSRA baseline on our own depictions: real molecules read back, nothing found is an empty answer, an
unreadable image is named and a batch goes on, a machine without OSRA is told how to get it."""

from __future__ import annotations

import pytest

from molbridge.chem.depiction import depict_png
from molbridge.chem.osra import OsraError, osra_answers, osra_smiles
from molbridge.chem.parse import canonical_smiles
from molbridge.errors import MissingResourceError

ASPIRIN, IBUPROFEN = "CC(=O)Oc1ccccc1C(=O)O", "CC(C)Cc1ccc(cc1)C(C)C(=O)O"


def test_osra_reads_depicted_molecules_back() -> None:
    for smiles in (ASPIRIN, IBUPROFEN):
        assert canonical_smiles(osra_smiles(depict_png(smiles))) == canonical_smiles(smiles)
    assert osra_smiles(depict_png("CCO")) == ""  # three atoms: OSRA finds no structure, an empty (invalid) answer


def test_an_unreadable_image_is_named_and_a_batch_goes_on() -> None:
    with pytest.raises(OsraError, match="CID 7: OSRA failed"):
        osra_smiles(b"not an image", "CID 7")
    answers, problems = osra_answers([("CID 1", depict_png(ASPIRIN)), ("CID 7", b"not an image")])
    assert canonical_smiles(answers[0]) == canonical_smiles(ASPIRIN) and answers[1] == ""
    assert len(problems) == 1 and problems[0].startswith("CID 7: ")


def test_without_osra_the_error_says_how_to_install_it(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MissingResourceError, match="apt-get install osra"):
        osra_smiles(depict_png(ASPIRIN))
