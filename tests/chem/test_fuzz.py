"""Arbitrary text never crashes the parser: only a result or InvalidMolecule comes out."""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from rdkit import Chem, rdBase

from molbridge.chem import canonical_smiles, to_mol, to_selfies, unescape_chebi
from molbridge.errors import InvalidMolecule

SMILES_ALPHABET = "CNOSPFIBrclnosp[]()=#$:/\\@+-.%0123456789*H "
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def outcome(fn: Callable[[str], object], text: str) -> object:
    """The value, or the InvalidMolecule instance; any other exception fails the test."""
    try:
        return fn(text)
    except InvalidMolecule as err:
        assert err.reason and isinstance(err.reason, str)
        return err


def check_all(text: str) -> None:
    mol = outcome(to_mol, text)
    assert isinstance(mol, (Chem.Mol, InvalidMolecule))
    canonical = outcome(canonical_smiles, text)
    assert isinstance(canonical, (str, InvalidMolecule))
    selfies = outcome(to_selfies, text)
    assert isinstance(selfies, (str, InvalidMolecule))
    # valid exactly when the standard RDKit call gives a non-empty molecule, with the same canonical form
    with rdBase.BlockLogs():  # the bare call would hit RDKit's log-bridge SystemError that to_mol absorbs
        reference = Chem.MolFromSmiles(unescape_chebi(text.strip()))
    if reference is None or reference.GetNumAtoms() == 0:
        assert isinstance(canonical, InvalidMolecule)
    else:
        assert canonical == Chem.MolToSmiles(reference)


@FUZZ
@given(st.text(max_size=80))
def test_arbitrary_text(text: str) -> None:
    check_all(text)


@FUZZ
@given(st.text(alphabet=SMILES_ALPHABET, max_size=60))
@example("B:F")  # selfies' kekulisation raised KeyError (found by this test)
def test_smiles_alphabet_text(text: str) -> None:
    check_all(text)


@FUZZ
@given(st.data())
def test_mutated_real_smiles(chebi20_test_smiles: list[str], data: st.DataObject) -> None:
    """Small edits of real molecules reach deep into sanitisation and SELFIES, not just the tokenizer."""
    text = data.draw(st.sampled_from(chebi20_test_smiles))
    for _ in range(data.draw(st.integers(0, 3))):
        at = data.draw(st.integers(0, len(text)))
        edit = data.draw(st.sampled_from(["delete", "insert"]))
        if edit == "delete":
            text = text[:at] + text[at + 1 :]
        else:
            text = text[:at] + data.draw(st.sampled_from(SMILES_ALPHABET)) + text[at:]
    check_all(text)
