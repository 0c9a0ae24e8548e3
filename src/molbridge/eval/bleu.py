"""BLEU from per-item sufficient statistics, bit-identical to nltk's `corpus_bleu`.

nltk recounts n-grams for every weight tuple and offers no way to resample a corpus; the
bootstrap needs per-item statistics (clipped matches and totals per order, hypothesis length,
closest reference length). We count once, sum, and combine exactly as nltk does (same integer
sums, same float operations, `sys.float_info.min` for an order with no match, `math.fsum`), so
the corpus value equals nltk's to the last bit while BLEU-2 and BLEU-4 share one counting pass.
"""

from __future__ import annotations

import math
import sys
from collections import Counter
from collections.abc import Sequence

import numpy as np

MAX_ORDER = 4
# Columns of the statistics array: matches[1..4], totals[1..4], hyp_len, ref_len.
N_STATS = 2 * MAX_ORDER + 2


def _ngrams(tokens: Sequence[str], n: int) -> Counter:
    return Counter(zip(*(tokens[i:] for i in range(n))))


def bleu_stats(references: Sequence[Sequence[str]], hypothesis: Sequence[str]) -> np.ndarray:
    """Per-item statistics as nltk's `modified_precision` and `closest_ref_length` define them."""
    row = np.zeros(N_STATS, dtype=np.int64)
    hyp_len = len(hypothesis)
    for n in range(1, MAX_ORDER + 1):
        counts = _ngrams(hypothesis, n)
        max_ref = _ngrams(references[0], n)
        for ref in references[1:]:
            max_ref |= _ngrams(ref, n)  # Counter | keeps the maximum count per n-gram
        row[n - 1] = sum((counts & max_ref).values())  # & clips to the minimum
        row[MAX_ORDER + n - 1] = max(1, hyp_len - n + 1)
    row[2 * MAX_ORDER] = hyp_len
    ref_lens = [len(r) for r in references]
    row[2 * MAX_ORDER + 1] = min(ref_lens, key=lambda r: (abs(r - hyp_len), r))
    return row


def bleu_from_sums(sums: Sequence[int], order: int) -> float:
    """Corpus BLEU with uniform weights up to `order` from summed statistics (nltk semantics)."""
    matches = [int(sums[i]) for i in range(order)]
    totals = [int(sums[MAX_ORDER + i]) for i in range(order)]
    hyp_len, ref_len = int(sums[2 * MAX_ORDER]), int(sums[2 * MAX_ORDER + 1])
    if matches[0] == 0:
        return 0.0
    if hyp_len > ref_len:
        bp = 1.0
    elif hyp_len == 0:
        bp = 0.0
    else:
        bp = math.exp(1 - ref_len / hyp_len)
    weight = 1.0 / order if order != 2 else 0.5
    weights = (0.25,) * 4 if order == 4 else (weight,) * order
    precisions = [m / t if m != 0 else sys.float_info.min for m, t in zip(matches, totals)]
    return bp * math.exp(math.fsum(w * math.log(p) for w, p in zip(weights, precisions)))


def bleu_vectorised(sums: np.ndarray, order: int) -> np.ndarray:
    """`bleu_from_sums` over many resampled rows at once (for the bootstrap; float64)."""
    sums = np.asarray(sums, dtype=np.float64)
    matches = sums[:, :order]
    totals = sums[:, MAX_ORDER : MAX_ORDER + order]
    hyp = sums[:, 2 * MAX_ORDER]
    ref = sums[:, 2 * MAX_ORDER + 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        prec = np.where(matches > 0, matches / totals, sys.float_info.min)
        logp = np.log(prec).mean(axis=1)
        bp = np.where(hyp > ref, 1.0, np.where(hyp == 0, 0.0, np.exp(1 - ref / np.maximum(hyp, 1))))
    return np.where(matches[:, 0] == 0, 0.0, bp * np.exp(logp))


def corpus_bleu(stats: np.ndarray, order: int) -> float:
    """Corpus BLEU of all items (MolT5 convention)."""
    return bleu_from_sums(np.asarray(stats).sum(axis=0), order)


def sentence_bleu_values(stats: np.ndarray, order: int) -> np.ndarray:
    """Per-item BLEU (SEPIT calls corpus_bleu on one pair at a time; same as sentence BLEU)."""
    return np.array([bleu_from_sums(row, order) for row in np.asarray(stats)], dtype=np.float64)
