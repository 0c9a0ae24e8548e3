"""ChEBI-20-MM's knowledge analysis: which IUPAC-name tokens a model maps to which caption words.

Over IUPAC → caption pairs (the input name and the caption the model *generated*):
1. **Token lists by a declared rule**, not by hand (SLM4Mol picks 20 + 20 "chemistry-related" tokens
   by eye): `frequency` keeps the k tokens found in the most texts, among tokens with at least
   two letters and not in a stop list (English function words for captions).
2. **Co-occurrence** C[a, b]: over all pairs, (occurrences of IUPAC token a) × (occurrences of
   caption token b), as SLM4Mol counts.
3. **Order and scale**: rows by ascending row sum, columns by descending column sum (ties by
   token), then divided by the largest count; the neighbourhoods below depend on this order.
4. **Specific pairs**: a cell whose value exceeds μ + T·σ of its up to 8 neighbours (centre
   excluded, cut at the borders; σ with ddof 0 — SLM4Mol mixes ddof 1 for the real matrix and 0
   for the simulated one).
5. **T by a Z-score sweep**: for T in 0…3 (100 steps), P_act = the share of specific cells,
   P_exp = the same share expected of a matrix of N(μ, σ) noise with the real matrix's mean and
   deviation (simulated with a seed, SLM4Mol's is unseeded): the mean over its cells of
   1 − Φ((its neighbourhood threshold − μ)/σ); Z = (P_act − P_exp)/√(P_exp(1 − P_exp)/cells);
   T = the argmax. Pairs of a token with itself are left out of the reported list.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

LETTERS = re.compile(r"[A-Za-z].*[A-Za-z]")
CAPTION_STOP = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "have", "in", "is", "it", "its", "of",
    "on", "or", "that", "the", "this", "to", "was", "which", "with",
    "molecule", "compound", "role", "derives", "functionally", "related"})  # every ChEBI caption's frame words
T_GRID = np.linspace(0.0, 3.0, 100)

Tokenize = Callable[[str], list[str]]


@dataclass(frozen=True)
class Association:
    rows: list[str]  # IUPAC tokens, in the matrix's order
    columns: list[str]  # caption tokens
    counts: np.ndarray
    normalised: np.ndarray
    threshold: float  # the chosen T
    z_scores: np.ndarray  # over T_GRID
    pairs: list[tuple[str, str, float]]  # (IUPAC token, caption token, normalised value), strongest first


def select_tokens(texts: Sequence[str], tokenize: Tokenize, k: int, *, stop: frozenset[str] = frozenset(),
                  rule: str = "frequency") -> list[str]:
    """The k tokens that occur in the most texts (ties by token), with ≥ 2 letters and not in `stop`."""
    if rule != "frequency":
        raise ValueError(f"unknown token rule {rule!r}; known: frequency")
    documents = Counter(token for text in texts for token in set(tokenize(text))
                        if LETTERS.search(token) and token.lower() not in stop)
    return [token for token, _ in sorted(documents.items(), key=lambda item: (-item[1], item[0]))[:k]]


def cooccurrence(sources: Sequence[str], outputs: Sequence[str], rows: Sequence[str], columns: Sequence[str],
                 tokenize: Tokenize) -> np.ndarray:
    """C[a, b] = Σ over pairs of count(a in source) × count(b in output)."""
    row_index, column_index = {t: i for i, t in enumerate(rows)}, {t: j for j, t in enumerate(columns)}
    counts = np.zeros((len(rows), len(columns)))
    for source, output in zip(sources, outputs, strict=True):
        a = np.zeros(len(rows))
        for token in tokenize(source):
            if token in row_index:
                a[row_index[token]] += 1
        b = np.zeros(len(columns))
        for token in tokenize(output):
            if token in column_index:
                b[column_index[token]] += 1
        counts += np.outer(a, b)
    return counts


def ordered(counts: np.ndarray, rows: Sequence[str], columns: Sequence[str]
            ) -> tuple[np.ndarray, list[str], list[str]]:
    """Rows by ascending sum, columns by descending sum (ties by token)."""
    row_order = sorted(range(len(rows)), key=lambda i: (counts[i].sum(), rows[i]))
    column_order = sorted(range(len(columns)), key=lambda j: (-counts[:, j].sum(), columns[j]))
    return (counts[np.ix_(row_order, column_order)], [rows[i] for i in row_order],
            [columns[j] for j in column_order])


def neighbourhood_stats(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per cell, the mean and standard deviation (ddof 0) of its up to 8 neighbours."""
    n, m = matrix.shape
    means, stds = np.zeros((n, m)), np.zeros((n, m))
    for i in range(n):
        for j in range(m):
            block = matrix[max(i - 1, 0):i + 2, max(j - 1, 0):j + 2]
            around = np.delete(block.ravel(), (i - max(i - 1, 0)) * block.shape[1] + (j - max(j - 1, 0)))
            if around.size:
                means[i, j], stds[i, j] = around.mean(), around.std()
    return means, stds


def specific(matrix: np.ndarray, t: float, stats: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    means, stds = stats if stats is not None else neighbourhood_stats(matrix)
    return matrix > means + t * stds


def z_scores(matrix: np.ndarray, *, seed: int = 0, grid: np.ndarray = T_GRID) -> np.ndarray:
    """Z of the observed share of specific cells against noise of the matrix's mean and deviation, per T."""
    mu, sigma = float(matrix.mean()), float(matrix.std())
    stats = neighbourhood_stats(matrix)
    if sigma == 0:
        return np.zeros(len(grid))
    noise = np.random.default_rng(seed).normal(mu, sigma, matrix.shape)
    noise_means, noise_stds = neighbourhood_stats(noise)
    cells = matrix.size
    scores = np.zeros(len(grid))
    for index, t in enumerate(grid):
        actual = float(specific(matrix, t, stats).mean())
        thresholds = (noise_means + t * noise_stds - mu) / sigma
        expected = float(np.mean([1 - _normal_cdf(x) for x in thresholds.ravel()]))
        spread = math.sqrt(expected * (1 - expected) / cells) if 0 < expected < 1 else 0.0
        scores[index] = (actual - expected) / spread if spread else 0.0
    return scores


def associate(sources: Sequence[str], outputs: Sequence[str], tokenize: Tokenize, *, k: int = 20,
              reference_sources: Sequence[str] | None = None, reference_outputs: Sequence[str] | None = None,
              seed: int = 0) -> Association:
    """The whole analysis; token lists chosen on `reference_*` (e.g. the training split), else on the inputs."""
    rows = select_tokens(reference_sources or sources, tokenize, k)
    columns = select_tokens(reference_outputs or outputs, tokenize, k, stop=CAPTION_STOP)
    if not rows or not columns:
        raise ValueError(f"no {'IUPAC' if not rows else 'caption'} token has two letters and is not a stop word")
    counts, rows, columns = ordered(cooccurrence(sources, outputs, rows, columns, tokenize), rows, columns)
    top = counts.max() if counts.size else 0.0
    normalised = counts / top if top > 0 else counts.copy()
    scores = z_scores(normalised, seed=seed)
    threshold = float(T_GRID[int(np.argmax(scores))])
    chosen = specific(normalised, threshold)
    pairs = sorted(((rows[i], columns[j], float(normalised[i, j])) for i, j in zip(*np.nonzero(chosen), strict=True)
                    if rows[i].lower() != columns[j].lower()), key=lambda p: (-p[2], p[0], p[1]))
    return Association(rows, columns, counts, normalised, threshold, scores, pairs)


def _normal_cdf(x: float) -> float:
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))
