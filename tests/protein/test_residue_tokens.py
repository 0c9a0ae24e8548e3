"""Proteins as ESM reads them: ESM-2's token ids, one Cα position per residue, bad records named."""

from __future__ import annotations

import math

import pytest

from molbridge.protein.residue_tokens import CLS, EOS, ESM_TOKENS, ProteinInputError, residue_tokens
from molbridge.records import make_record


def record(sequence: str | None, coords=None, rid: str = "P1"):
    return make_record(id=rid, task="protein_description", instruction="Describe <protein>.", input="", output="x",
                       modalities={"protein_sequence": sequence, "protein_coords": coords},
                       meta={"source": "test", "license": "none"})


def test_tokens_are_esms_and_specials_have_no_position() -> None:
    coords = [[1.0, 2.0, 3.0], [0.0, 0.0, 0.0], [4.0, 5.0, 6.0]]
    tokens = residue_tokens(record("MKW", coords))
    assert tokens.tokens.tolist() == [CLS, ESM_TOKENS.index("M"), ESM_TOKENS.index("K"), ESM_TOKENS.index("W"), EOS]
    assert tokens.present.tolist() == [False, True, False, True, False]  # all-zero = unresolved residue
    assert tokens.coords[1].tolist() == [1.0, 2.0, 3.0] and tokens.coords[0].tolist() == [0.0, 0.0, 0.0]
    assert not residue_tokens(record("MKW")).present.any()


@pytest.mark.parametrize("sequence, coords, reason", [
    (None, None, "no protein sequence"),
    ("MKW", [[1.0, 2.0, 3.0], [math.nan, 0.0, 0.0], [4.0, 5.0, 6.0]], "NaN"),
    ("M" * 1023, None, "1023 residues, over the encoder's 1022"),
])
def test_bad_proteins_name_the_record(sequence, coords, reason) -> None:
    with pytest.raises(ProteinInputError, match=reason) as caught:
        residue_tokens(record(sequence, coords, rid="Q9"))
    assert caught.value.record_id == "Q9" and "Q9" in str(caught.value)
