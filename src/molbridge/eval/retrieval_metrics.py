"""Paired molecule–text retrieval metrics (3D-MoLM / SLM4Mol conventions).

Query i's true candidate is candidate i. Ranks are 0-based: rank 0 is a hit at 1. Scores are
compared directly instead of through an argsort, so ties are resolved by an explicit, documented
policy rather than by the sort's arbitrary order (3D-MoLM's argsort leaves ties to chance).
"""

from __future__ import annotations

from numbers import Integral
from typing import Literal, TypedDict

import numpy as np

from molbridge.errors import ConventionError, MolbridgeError
from molbridge.eval.bootstrap import DEFAULT_RESAMPLES, mean_metric
from molbridge.eval.results import MetricReport

Ties = Literal["pessimistic", "optimistic"]


class _Convention(TypedDict):
    """The ranking settings `retrieval_both_directions` applies to both directions."""

    ks: tuple[int, ...]
    batch_size: int | None
    seed: int
    ties: Ties
    n_resamples: int


# Rows compared at once when ranking: bounds the boolean temporaries to ~4M cells.
_CHUNK_CELLS = 4_000_000


class RetrievalInputError(MolbridgeError, ValueError):
    """A score matrix that cannot be ranked: empty, not square, not 2-D, or holding NaN."""


def _check_scores(scores: np.ndarray) -> np.ndarray:
    arr = np.asarray(scores, dtype=np.float64)
    if arr.ndim != 2:
        raise RetrievalInputError(f"scores must be a 2-D (queries, candidates) matrix, got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise RetrievalInputError(f"scores are empty (shape {arr.shape}); nothing to rank")
    if arr.shape[0] != arr.shape[1]:
        raise RetrievalInputError(
            f"paired retrieval needs a square score matrix (query i ↔ candidate i), got shape {arr.shape}"
        )
    if np.isnan(arr).any():
        bad = int(np.isnan(arr).sum())
        raise RetrievalInputError(f"scores contain {bad} NaN value(s); a NaN cannot be ranked")
    return arr


def _check_ties(ties: str) -> None:
    if ties not in ("pessimistic", "optimistic"):
        raise ConventionError(f"ties must be 'pessimistic' or 'optimistic', got {ties!r}")


def _block_ranks(block: np.ndarray, ties: Ties) -> np.ndarray:
    """Ranks of the diagonal targets of one square block, in row chunks to bound memory."""
    n = block.shape[0]
    out = np.empty(n, dtype=np.int64)
    step = max(1, _CHUNK_CELLS // n)
    for start in range(0, n, step):
        rows = block[start : start + step]
        target = rows[np.arange(rows.shape[0]), np.arange(start, start + rows.shape[0])][:, None]
        rank = (rows > target).sum(axis=1)
        if ties == "pessimistic":
            rank += (rows == target).sum(axis=1) - 1  # minus the target itself
        out[start : start + rows.shape[0]] = rank
    return out


def rank_of_targets(scores: np.ndarray, ties: Ties = "pessimistic") -> np.ndarray:
    """0-based rank of candidate i for query i, among all candidates (higher score = better).

    rank = #candidates scoring strictly higher, plus — under the default "pessimistic" policy —
    every *other* candidate scoring exactly the same (a tie is never resolved in the model's
    favour, so constant scores cannot look good). "optimistic" counts ties as ranked below.
    """
    _check_ties(ties)
    return _block_ranks(_check_scores(scores), ties)


def _pooled_ranks(
    scores: np.ndarray, batch_size: int | None, ties: Ties
) -> tuple[np.ndarray, np.ndarray]:
    """Ranks and candidate-pool size per query: the whole set, or the query's own batch."""
    n = scores.shape[0]
    if batch_size is None:
        return _block_ranks(scores, ties), np.full(n, n, dtype=np.int64)
    ranks = np.empty(n, dtype=np.int64)
    pools = np.empty(n, dtype=np.int64)
    for start in range(0, n, batch_size):
        stop = min(n, start + batch_size)
        ranks[start:stop] = _block_ranks(scores[start:stop, start:stop], ties)
        pools[start:stop] = stop - start
    return ranks, pools


def _check_convention(ks: tuple[int, ...], batch_size: int | None) -> tuple[tuple[int, ...], int | None]:
    """Sorted distinct ks and the batch size as plain ints (numpy ints accepted, bools refused)."""

    def positive_int(v: object) -> bool:
        return isinstance(v, Integral) and not isinstance(v, bool) and int(v) >= 1

    if batch_size is not None and not positive_int(batch_size):
        raise ConventionError(f"batch_size must be a positive int or None (full ranking), got {batch_size!r}")
    if not ks or not all(positive_int(k) for k in ks):
        raise ConventionError(f"ks must be a non-empty sequence of positive ints, got {ks!r}")
    return tuple(sorted({int(k) for k in ks})), None if batch_size is None else int(batch_size)


def retrieval_report(
    scores: np.ndarray,
    *,
    ks: tuple[int, ...] = (1, 5, 10, 20),
    batch_size: int | None = None,
    seed: int = 0,
    ties: Ties = "pessimistic",
    n_resamples: int = DEFAULT_RESAMPLES,
    task: str = "retrieval",
) -> MetricReport:
    """acc1 (= R@1), `r@k` for every other k in `ks`, and MRR for row-queries of `scores`.

    `batch_size=None` ranks each query among all n candidates; an int reproduces 3D-MoLM's
    in-batch protocol (they use 64): consecutive batches of queries, each ranked only among its
    own batch's candidates. In-batch numbers are far higher than full-set ones and the two must
    never be compared. R@1 is reported once, as `acc1`.
    """
    _check_ties(ties)
    ks, batch_size = _check_convention(tuple(ks), batch_size)
    arr = _check_scores(scores)
    n = arr.shape[0]
    ranks, pools = _pooled_ranks(arr, batch_size, ties)

    metrics = {"acc1": mean_metric((ranks == 0).astype(np.float64), n_resamples=n_resamples, seed=seed)}
    for k in ks:
        if k != 1:
            metrics[f"r@{k}"] = mean_metric((ranks < k).astype(np.float64), n_resamples=n_resamples, seed=seed)
    metrics["mrr"] = mean_metric(1.0 / (ranks + 1.0), n_resamples=n_resamples, seed=seed)

    notes: list[str] = []
    if batch_size is not None:
        n_batches = -(-n // batch_size)
        last = n - (n_batches - 1) * batch_size
        notes.append(
            f"in-batch ranking: {n_batches} consecutive batch(es) of {batch_size} queries; "
            f"the last batch holds {last} and is kept, so its queries rank among {last} candidates"
        )
    trivial = [k for k in ks if k > 1 and (pools <= k).any()]
    if trivial:
        frac = {k: float((pools <= k).mean()) for k in trivial}
        notes.append(
            "r@k is trivially 1 for queries whose candidate pool has <= k candidates: "
            + ", ".join(f"r@{k} ({frac[k]:.0%} of queries)" for k in trivial)
        )
    convention = {
        "pool": "full" if batch_size is None else "in-batch",
        "batch_size": batch_size,
        "ties": ties,
        "ks": list(ks),
        "rank": "0-based; query i's target is candidate i",
        "n_resamples": n_resamples,
        "seed": seed,
    }
    counts = {"queries": n, "candidates": int(arr.shape[1])}
    return MetricReport(task=task, convention=convention, n=n, metrics=metrics, counts=counts, notes=notes)


def retrieval_both_directions(
    scores: np.ndarray,
    *,
    ks: tuple[int, ...] = (1, 5, 10, 20),
    batch_size: int | None = None,
    seed: int = 0,
    ties: Ties = "pessimistic",
    n_resamples: int = DEFAULT_RESAMPLES,
) -> dict[str, MetricReport]:
    """Molecule→text ("m2t") and text→molecule ("t2m") reports from one similarity matrix.

    `scores[i, j]` is the similarity of molecule i and text j, so m2t ranks rows and t2m ranks
    the transpose; both use the same pool, tie policy and bootstrap seed.
    """
    arr = _check_scores(scores)
    common: _Convention = {"ks": ks, "batch_size": batch_size, "seed": seed, "ties": ties, "n_resamples": n_resamples}
    return {
        "m2t": retrieval_report(arr, task="retrieval_m2t", **common),
        "t2m": retrieval_report(arr.T, task="retrieval_t2m", **common),
    }
