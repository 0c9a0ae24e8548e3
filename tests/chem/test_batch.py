"""Batch helpers keep good items, align errors with inputs and count failures by kind."""

from __future__ import annotations

import pytest
from rdkit import Chem

from molbridge.chem import (
    BatchResult,
    Descriptors,
    canonical_many,
    descriptors_many,
    map_molecules,
    parse_many,
    selfies_many,
)
from molbridge.errors import InvalidMolecule

INPUTS = ["CCO", "C1CC", "", "CN(C)(C)C", "c1ccccc1", r"C\\C=C\\C", "*CC"]


def test_canonical_many_keeps_good_items_aligned() -> None:
    result = canonical_many(INPUTS)
    assert result.values == ["CCO", None, None, None, "c1ccccc1", "C/C=C/C", "*CC"]
    assert [e is None for e in result.errors] == [v is not None for v in result.values]
    assert (result.n_ok, result.n_failed) == (4, 3)
    assert result.error_counts() == {"SMILES Parse Error": 1, "Empty": 1, "AtomValenceException": 1}
    assert result.errors[1] is not None and result.errors[1].text == "C1CC"


def test_fn_errors_are_relabelled_with_the_input() -> None:
    result = selfies_many(INPUTS)
    assert result.values[0] == "[C][C][O]"
    err = result.errors[6]
    assert isinstance(err, InvalidMolecule)
    assert err.text == "*CC" and err.reason.startswith("EncoderError")
    assert result.error_counts()["EncoderError"] == 1


def test_parse_and_descriptors_many() -> None:
    mols = parse_many(INPUTS)
    assert isinstance(mols.values[0], Chem.Mol)
    props = descriptors_many(INPUTS)
    assert isinstance(props.values[0], Descriptors)
    assert props.n_ok == mols.n_ok == 4


def test_non_str_items_do_not_stop_the_batch() -> None:
    result = map_molecules(lambda mol: mol.GetNumAtoms(), ["CC", None, 3, "CCC"])  # type: ignore[list-item]
    assert result.values == [2, None, None, 3]
    assert result.error_counts() == {"TypeError": 2}


def test_unescape_can_be_turned_off() -> None:
    assert canonical_many([r"C\\C=C\\C"], unescape=False).n_ok == 1  # RDKit tolerates the doubled form


def test_other_exceptions_are_bugs_and_propagate() -> None:
    def broken(mol: Chem.Mol) -> int:
        raise KeyError("bug")

    with pytest.raises(KeyError):
        map_molecules(broken, ["CCO"])


def test_generator_input_and_empty_batch() -> None:
    assert canonical_many(s for s in ["C", "CC"]).values == ["C", "CC"]
    empty = canonical_many([])
    assert (empty.n_ok, empty.n_failed, empty.error_counts()) == (0, 0, {})


def test_misaligned_result_is_rejected() -> None:
    with pytest.raises(ValueError):
        BatchResult(values=[1], errors=[])
