"""to_mol / canonical_smiles: valid, invalid, empty and escaped SMILES, with RDKit's own reasons."""

from __future__ import annotations

import pytest
from rdkit import Chem

from molbridge.chem import canonical_smiles, to_mol, unescape_chebi
from molbridge.errors import InvalidMolecule, MolbridgeError

from .molecules import ASPIRIN


def reason_of(text: object) -> str:
    with pytest.raises(InvalidMolecule) as info:
        to_mol(text)  # type: ignore[arg-type]
    return info.value.reason


def test_valid_smiles_gives_sanitised_mol() -> None:
    mol = to_mol(ASPIRIN)
    assert isinstance(mol, Chem.Mol)
    assert mol.GetNumAtoms() == 13
    assert canonical_smiles(ASPIRIN) == "CC(=O)Oc1ccccc1C(=O)O"


def test_surrounding_whitespace_is_ignored() -> None:
    assert canonical_smiles("  \tOCC \n") == "CCO"


@pytest.mark.parametrize("text", ["", " ", "\t\n  "])
def test_empty_and_whitespace_are_invalid(text: str) -> None:
    assert reason_of(text) == "Empty: no atoms (empty or whitespace-only SMILES)"


def test_rdkit_gives_empty_mol_for_empty_string() -> None:
    """The trap to_mol closes: RDKit's "" is a valid-looking molecule with no atoms."""
    empty = Chem.MolFromSmiles("")
    assert empty is not None and empty.GetNumAtoms() == 0


def test_valence_error_reports_rdkit_reason() -> None:
    reason = reason_of("CN(C)(C)C")
    assert reason == "AtomValenceException: Explicit valence for atom # 1 N, 4, is greater than permitted"


def test_kekulize_error_reports_rdkit_reason() -> None:
    assert reason_of("c1cccc1").startswith("KekulizeException: Can't kekulize mol")


def test_unclosed_ring_reports_rdkit_reason() -> None:
    reason = reason_of("C1CC")
    assert reason.startswith("SMILES Parse Error:")
    assert "unclosed ring" in reason.lower()


@pytest.mark.parametrize(
    "text, expected",
    [
        ("CC(", "syntax error while parsing: CC("),
        ("CC(C", "extra open parentheses while parsing: CC(C"),
        ("CC)C", "extra close parentheses while parsing: CC)C"),
    ],
)
def test_syntax_error_reports_rdkit_reason_and_position(text: str, expected: str) -> None:
    assert reason_of(text) == f"SMILES Parse Error: {expected}; check for mistakes around position 3"


def test_unknown_element_is_a_parse_error() -> None:
    assert reason_of("[Xx]CC").startswith("SMILES Parse Error:")


@pytest.mark.parametrize("value, name", [(5, "int"), (None, "NoneType"), (b"CCO", "bytes")])
def test_non_str_input(value: object, name: str) -> None:
    assert reason_of(value) == f"TypeError: expected str, got {name}"


def test_lone_surrogate_is_invalid_not_a_crash() -> None:
    assert reason_of("C\ud800C").startswith("UnicodeEncodeError")


def test_non_ascii_in_rdkit_error_excerpt_is_invalid_not_a_crash() -> None:
    """RDKit's log bridge raises SystemError when its error excerpt cuts a UTF-8 character."""
    reason = reason_of("C(" + "é" * 60)
    assert reason.startswith("SMILES Parse Error: syntax error while parsing: C(é")


def test_error_carries_input_and_is_catchable_as_family() -> None:
    with pytest.raises(MolbridgeError) as info:
        to_mol("C1CC")
    assert isinstance(info.value, ValueError)
    assert info.value.text == "C1CC"  # type: ignore[attr-defined]
    assert "C1CC" in str(info.value)


def test_unescape_chebi_collapses_doubled_backslashes() -> None:
    assert unescape_chebi(r"C\\C=C\\C") == r"C\C=C\C"
    assert unescape_chebi(r"C/C=C/C") == r"C/C=C/C"


def test_escaped_smiles_parse_like_unescaped() -> None:
    escaped = r"C\\C=C\\C"
    assert canonical_smiles(escaped) == canonical_smiles(r"C\C=C\C") == "C/C=C/C"
    # unescape=False hands the doubled form to RDKit untouched (it happens to tolerate it)
    assert Chem.MolToSmiles(to_mol(escaped, unescape=False)) == Chem.MolToSmiles(Chem.MolFromSmiles(escaped))


def test_explicit_hydrogens_and_stereo_match_standard_parse() -> None:
    for text in ["[H]C([H])([H])[H]", "C[C@@]([H])(N)O", "[H]/C=C/F", "[2H]C", "F/C=C/C=C/F"]:
        assert canonical_smiles(text) == Chem.MolToSmiles(Chem.MolFromSmiles(text))


def test_isomeric_flag() -> None:
    assert canonical_smiles("C[C@H](N)O", isomeric=False) == "CC(N)O"
    assert "@" in canonical_smiles("C[C@H](N)O")


def test_canonical_equals_rdkit_on_chebi20(chebi20_test_smiles: list[str]) -> None:
    """Byte-identical to Chem.MolToSmiles(Chem.MolFromSmiles(s)), the form every metric compares."""
    for raw in chebi20_test_smiles:
        text = unescape_chebi(raw)
        assert canonical_smiles(raw) == Chem.MolToSmiles(Chem.MolFromSmiles(text)), raw


@pytest.mark.parametrize(("smiles", "kind"), [
    ("", "empty"), ("  ", "empty"), ("C1CC", "syntax"), ("CC(", "syntax"), ("C(" + "é" * 60, "syntax"),
    ("N(C)(C)(C)(C)C", "valence"), ("c1cccc1", "kekulize"),
])
def test_failure_kind(smiles: str, kind: str) -> None:
    from molbridge.chem import failure_kind

    assert failure_kind(smiles) == kind
