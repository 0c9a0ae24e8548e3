"""Tanimoto similarities of many pairs at once, equal to RDKit's `DataStructs.TanimotoSimilarity` pair by pair.

Bits (`ExplicitBitVect`): |a & b| / (|a| + |b| - |a & b|), and 0 when both are empty, as RDKit returns.
Counts (Morgan `SparseIntVect`): RDKit's Tversky(1, 1), Σ min(a, b) / (Σ a + Σ b - Σ min(a, b)), and 0
when that denominator is below 1e-6. Every sum is an integer, exact in float64, so each quotient is the
same IEEE division RDKit performs: the values are bit-identical (tests compare them with RDKit's).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def bit_tanimoto(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise Tanimoto of two (n, bytes) arrays of packed bits."""
    common = np.bitwise_count(a & b).sum(axis=1, dtype=np.int64)
    union = np.bitwise_count(a | b).sum(axis=1, dtype=np.int64)
    return np.divide(common, union, out=np.zeros(len(a)), where=union > 0)


def count_tanimoto(a_keys: Sequence[np.ndarray], a_counts: Sequence[np.ndarray],
                   b_keys: Sequence[np.ndarray], b_counts: Sequence[np.ndarray]) -> np.ndarray:
    """Tanimoto of pairs of sparse count vectors, each given as unique keys and their positive counts."""
    n = len(a_keys)
    if n == 0:
        return np.zeros(0)
    a_pair = np.repeat(np.arange(n), [len(k) for k in a_keys])
    b_pair = np.repeat(np.arange(n), [len(k) for k in b_keys])
    a_values, b_values = np.concatenate(a_counts).astype(np.float64), np.concatenate(b_counts).astype(np.float64)
    sum_a = np.bincount(a_pair, weights=a_values, minlength=n)
    sum_b = np.bincount(b_pair, weights=b_values, minlength=n)
    # a key present in both vectors of a pair appears twice, side by side once sorted by (pair, key)
    pair = np.concatenate([a_pair, b_pair])
    keys = np.concatenate([*a_keys, *b_keys])
    values = np.concatenate([a_values, b_values])
    order = np.lexsort((keys, pair))
    pair, keys, values = pair[order], keys[order], values[order]
    both = (pair[1:] == pair[:-1]) & (keys[1:] == keys[:-1])
    common = np.bincount(pair[1:][both], weights=np.minimum(values[1:], values[:-1])[both], minlength=n)
    denominator = sum_a + sum_b - common
    return np.divide(common, denominator, out=np.zeros(n), where=np.abs(denominator) >= 1e-6)
