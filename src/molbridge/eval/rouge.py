"""ROUGE-1/2/L F-measures equal to `rouge_score`'s, computed faster.

`rouge_score.RougeScorer.score` re-tokenizes both texts for every pair and finds the longest
common subsequence with a pure-Python O(n·m) table, which dominates its run time. We use
rouge_score's own tokenizer (so tokens are identical, stemmer included) and rapidfuzz's
bit-parallel LCS on integer token ids, then apply rouge_score's own F-measure formula.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

import numpy as np
from rapidfuzz.distance import LCSseq
from rouge_score import scoring, tokenizers

ROUGE_KEYS = ("rouge1", "rouge2", "rougeL")
_NON_ALPHANUM = re.compile(r"[^a-z0-9]+")


class RougeComputer:
    """Per-pair ROUGE F-measures with rouge_score's default tokenizer (optionally stemmed)."""

    def __init__(self, use_stemmer: bool = False) -> None:
        self._tokenizer = tokenizers.DefaultTokenizer(use_stemmer=use_stemmer) if use_stemmer else None

    def tokenize(self, text: str) -> list[str]:
        """rouge_score's tokens. Unstemmed, its lower → non-alphanumerics to spaces → split →
        keep `^[a-z0-9]+$` tokens reduces to this one-liner (the filter only drops empties)."""
        if self._tokenizer is not None:
            return self._tokenizer.tokenize(text)
        return _NON_ALPHANUM.sub(" ", text.lower()).split()

    def score_tokens(self, target: Sequence[str], prediction: Sequence[str]) -> tuple[float, float, float]:
        """(rouge1, rouge2, rougeL) F-measures for one pair of token lists."""
        r1 = _ngram_f(target, prediction, 1)
        r2 = _ngram_f(target, prediction, 2)
        if not target or not prediction:
            rl = 0.0
        else:
            ids: dict[str, int] = {}
            a = [ids.setdefault(t, len(ids)) for t in target]
            b = [ids.setdefault(t, len(ids)) for t in prediction]
            lcs = LCSseq.similarity(a, b)
            rl = scoring.fmeasure(lcs / len(prediction), lcs / len(target))
        return r1, r2, rl

    def score_many(self, targets: Sequence[str], predictions: Sequence[str]) -> np.ndarray:
        """(n, 3) array of F-measures for aligned texts."""
        out = np.empty((len(targets), 3), dtype=np.float64)
        for i, (t, p) in enumerate(zip(targets, predictions)):
            out[i] = self.score_tokens(self.tokenize(t), self.tokenize(p))
        return out


def _ngram_f(target: Sequence[str], prediction: Sequence[str], n: int) -> float:
    """rouge_score's `_score_ngrams` F-measure (clipped overlap over n-gram totals)."""
    tgt = Counter(zip(*(target[i:] for i in range(n))))
    pred = Counter(zip(*(prediction[i:] for i in range(n))))
    overlap = sum((tgt & pred).values())
    precision = overlap / max(len(prediction) - n + 1, 1)
    recall = overlap / max(len(target) - n + 1, 1)
    return scoring.fmeasure(precision, recall)
