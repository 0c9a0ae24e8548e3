"""Named conventions and how the tokenizer is chosen."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from molbridge.errors import ConventionError
from molbridge.eval.conventions import CONVENTIONS, TOKENIZER_ENV, Convention, get_convention


def test_unknown_convention_lists_the_known_ones() -> None:
    with pytest.raises(ConventionError, match="known: .*molt5"):
        get_convention("molt6")


def test_environment_overrides_only_the_scibert_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKENIZER_ENV, "/tok/scibert")
    assert get_convention("molt5").text_tokenizer == "/tok/scibert"
    assert get_convention("icma").text_tokenizer == "laituan245/molt5-base-smiles2caption"
    assert get_convention("icma", text_tokenizer="/tok/t5").text_tokenizer == "/tok/t5"
    assert get_convention("whitespace").text_tokenizer == "whitespace"


def test_conventions_are_frozen_and_strict() -> None:
    with pytest.raises(ValidationError):
        Convention(name="x", scale=10)
    with pytest.raises(ValidationError):
        Convention(name="x", unknown_switch=True)
    with pytest.raises(ValidationError):
        CONVENTIONS["molt5"].scale = 100
    assert CONVENTIONS["sepit"].bleu_mode == "sentence_mean" and CONVENTIONS["3dmolm"].scale == 100
