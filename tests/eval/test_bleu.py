"""Our BLEU from sufficient statistics is bit-identical to nltk's corpus_bleu."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from nltk.translate.bleu_score import corpus_bleu as nltk_corpus_bleu
from nltk.translate.bleu_score import sentence_bleu

from molbridge.eval import bleu

tokens = st.lists(st.sampled_from(list("abcdef")), max_size=8)
pairs = st.lists(st.tuples(st.lists(tokens, min_size=1, max_size=3), tokens), min_size=1, max_size=6)


@settings(max_examples=300, deadline=None)
@given(pairs)
def test_corpus_bleu_equals_nltk(items) -> None:
    refs = [r for r, _ in items]
    hyps = [h for _, h in items]
    stats = np.array([bleu.bleu_stats(r, h) for r, h in items])
    assert bleu.corpus_bleu(stats, 2) == nltk_corpus_bleu(refs, hyps, weights=(0.5, 0.5))
    assert bleu.corpus_bleu(stats, 4) == nltk_corpus_bleu(refs, hyps)


@settings(max_examples=100, deadline=None)
@given(pairs)
def test_vectorised_bleu_matches_scalar(items) -> None:
    stats = np.array([bleu.bleu_stats(r, h) for r, h in items])
    sums = stats.sum(axis=0)[None, :]
    for order in (2, 4):
        assert abs(bleu.bleu_vectorised(sums, order)[0] - bleu.bleu_from_sums(sums[0], order)) < 1e-12


def test_sentence_mode_equals_nltk_sentence_bleu() -> None:
    refs = [["the", "cat", "sat", "on", "the", "mat"], ["a", "b", "c", "d"]]
    hyps = [["the", "cat", "sat", "on", "a", "mat"], ["a", "b", "c", "e"]]
    stats = np.array([bleu.bleu_stats([r], h) for r, h in zip(refs, hyps)])
    want = [sentence_bleu([r], h) for r, h in zip(refs, hyps)]
    assert list(bleu.sentence_bleu_values(stats, 4)) == want


def test_empty_hypotheses_give_zero() -> None:
    stats = np.array([bleu.bleu_stats([["a", "b"]], [])])
    assert bleu.corpus_bleu(stats, 4) == 0.0 == nltk_corpus_bleu([[["a", "b"]]], [[]])
