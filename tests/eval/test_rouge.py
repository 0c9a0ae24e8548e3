"""Fast ROUGE equals rouge_score's F-measures exactly, with and without the stemmer."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rouge_score import rouge_scorer

from molbridge.eval.rouge import ROUGE_KEYS, RougeComputer

words = st.sampled_from(["The", "molecule", "is", "a", "acids", "acid", "group", "groups", "of", "2-hydroxy", "(R)", ""])
texts = st.lists(words, max_size=25).map(" ".join)


@pytest.mark.parametrize("stem", [False, True])
@settings(max_examples=150, deadline=None)
@given(target=texts, prediction=texts)
def test_rouge_equals_rouge_score(stem: bool, target: str, prediction: str) -> None:
    ref = rouge_scorer.RougeScorer(list(ROUGE_KEYS), use_stemmer=stem).score(target, prediction)
    ours = RougeComputer(stem).score_many([target], [prediction])[0]
    assert tuple(ours) == tuple(ref[k].fmeasure for k in ROUGE_KEYS)
