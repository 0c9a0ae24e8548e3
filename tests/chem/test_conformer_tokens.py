"""Conformer → Uni-Mol tokens: heavy atoms, centring, the atom cap, unknown elements and bad geometry."""

from __future__ import annotations

import math

import numpy as np
import pytest

from molbridge.chem.conformer_tokens import (
    CLS,
    PAD,
    SEP,
    TOKEN_ID,
    UNIMOL_TOKENS,
    UNK,
    ConformerInputError,
    conformer_tokens,
)
from molbridge.records import Conformer
from tests.models.geometry import ETHANOL


def test_vocabulary_is_uni_mols_with_mask_appended():
    assert len(UNIMOL_TOKENS) == 31 and (PAD, CLS, SEP, UNK) == (0, 1, 2, 3)
    assert UNIMOL_TOKENS[4:9] == ("C", "N", "O", "S", "H") and UNIMOL_TOKENS[-1] == "[MASK]"


def test_hydrogens_removed_coordinates_centred_specials_at_origin():
    atoms, coords = ETHANOL
    item = conformer_tokens(Conformer(atoms=atoms, coords=coords), "eth")
    assert item.tokens.tolist() == [CLS, TOKEN_ID["C"], TOKEN_ID["C"], TOKEN_ID["O"], SEP]
    np.testing.assert_allclose(item.coords[1:-1].mean(axis=0), 0, atol=1e-6)
    assert not item.coords[0].any() and not item.coords[-1].any()
    heavy = np.array(coords[:3])
    np.testing.assert_allclose(item.coords[1:-1], heavy - heavy.mean(axis=0), atol=1e-6)
    assert (item.unknown, item.cropped) == (0, 0)


def test_unknown_elements_read_as_unk_and_are_counted():
    item = conformer_tokens(Conformer(atoms=["C", "Pt", "Xe"], coords=[(0, 0, 0), (2, 0, 0), (0, 2, 0)]), "pt")
    assert item.tokens.tolist()[1:-1] == [TOKEN_ID["C"], UNK, UNK] and item.unknown == 2


def test_a_special_token_name_as_element_is_unknown_not_special():
    item = conformer_tokens(Conformer(atoms=["C", "[PAD]"], coords=[(0, 0, 0), (1, 0, 0)]), "odd")
    assert item.tokens.tolist()[1:-1] == [TOKEN_ID["C"], UNK]


def test_atom_cap_keeps_a_seeded_subset_in_order():
    n = 300
    conformer = Conformer(atoms=["C"] * n, coords=[(float(i), 0.0, 0.0) for i in range(n)])
    first = conformer_tokens(conformer, "big", max_atoms=256, seed=3)
    again = conformer_tokens(conformer, "big", max_atoms=256, seed=3)
    other = conformer_tokens(conformer, "big", max_atoms=256, seed=4)
    assert len(first.tokens) == 258 and first.cropped == 44
    assert np.array_equal(first.coords, again.coords) and not np.array_equal(first.coords, other.coords)
    x = first.coords[1:-1, 0]
    assert (np.diff(x) > 0).all()  # kept atoms stay in their order


@pytest.mark.parametrize(("atoms", "coords", "reason"), [
    (["C", "O"], [(0, 0, 0), (math.nan, 0, 0)], "atom 1 \\(O\\) are not finite"),
    (["C", "O"], [(0, 0, 0), (math.inf, 0, 0)], "not finite"),
    (["H", "H"], [(0, 0, 0), (0.7, 0, 0)], "no heavy atom"),
])
def test_bad_geometry_is_a_typed_error_naming_the_record(atoms, coords, reason):
    with pytest.raises(ConformerInputError, match=f"record 'rec-9': .*{reason}"):
        conformer_tokens(Conformer(atoms=atoms, coords=coords), "rec-9")


def test_an_atom_count_that_differs_from_the_coordinates_is_refused():
    conformer = Conformer.model_construct(atoms=["C", "O", "N"], coords=[(0, 0, 0), (1, 0, 0)])
    with pytest.raises(ConformerInputError, match="3 atoms but 2 coordinate rows"):
        conformer_tokens(conformer, "rec-1")


def test_a_coordinate_row_without_three_values_is_a_typed_error():
    conformer = Conformer.model_construct(atoms=["C", "O"], coords=[(0, 0, 0, 1), (1, 0, 0, 1)])
    with pytest.raises(ConformerInputError, match="record 'rec-2': coordinates have shape \\(2, 4\\)"):
        conformer_tokens(conformer, "rec-2")


def test_the_atom_cap_reaches_the_encoder_registry():
    from molbridge.models.encoders import ENCODERS
    from molbridge.records import Meta, Modalities, Record

    conformer = Conformer(atoms=["C"] * 10, coords=[(float(i), 0.0, 0.0) for i in range(10)])
    record = Record(id="r", task="t", modalities=Modalities(conformer=conformer), meta=Meta(source="s"))
    assert len(ENCODERS["unimol"].featurize(record, 0, max_atoms=4).tokens) == 6
