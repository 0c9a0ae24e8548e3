"""InChI, InChIKey, connectivity block and formula against known aspirin values."""

from __future__ import annotations

import pytest

from molbridge.chem import connectivity_block, formula, to_inchi, to_inchikey, to_mol
from molbridge.errors import InvalidMolecule

from .molecules import ASPIRIN

ASPIRIN_INCHI = "InChI=1S/C9H8O4/c1-6(10)13-8-5-3-2-4-7(8)9(11)12/h2-5H,1H3,(H,11,12)"
ASPIRIN_KEY = "BSYNRYMUTXBXSQ-UHFFFAOYSA-N"


def test_aspirin_identifiers() -> None:
    mol = to_mol(ASPIRIN)
    assert to_inchi(mol) == ASPIRIN_INCHI
    assert to_inchikey(mol) == ASPIRIN_KEY
    assert connectivity_block(ASPIRIN_KEY) == "BSYNRYMUTXBXSQ"
    assert formula(mol) == "C9H8O4"


def test_connectivity_block_ignores_stereo() -> None:
    left = to_inchikey(to_mol("C[C@H](N)C(=O)O"))
    right = to_inchikey(to_mol("C[C@@H](N)C(=O)O"))
    assert left != right
    assert connectivity_block(left) == connectivity_block(right)


def test_formula_includes_charge() -> None:
    assert formula(to_mol("C[N+](C)(C)C")) == "C4H12N+"


@pytest.mark.parametrize(
    "bad", ["", "BSYNRYMUTXBXSQ", "bsynrymutxbxsq-uhfffaoysa-n", "BSYNRYMUTXBXSQ-UHFFFAOYSA-NX", ASPIRIN_INCHI]
)
def test_connectivity_block_rejects_non_keys(bad: str) -> None:
    with pytest.raises(ValueError) as info:
        connectivity_block(bad)
    assert isinstance(info.value, InvalidMolecule)
    assert info.value.reason.startswith("InChIKeyError")


def test_inchi_failure_is_typed_with_rdkit_reason() -> None:
    mol = to_mol("*CC")
    for fn in (to_inchi, to_inchikey):
        with pytest.raises(InvalidMolecule) as info:
            fn(mol)
        assert info.value.reason.startswith("InChIError:")
        assert "*" in info.value.reason


def test_from_inchi_reads_back_and_names_what_it_cannot_read() -> None:
    from molbridge.chem.parse import from_inchi

    assert to_inchikey(from_inchi(ASPIRIN_INCHI)) == ASPIRIN_KEY
    with pytest.raises(InvalidMolecule, match="InChIError"):
        from_inchi("InChI=1S/nonsense")
