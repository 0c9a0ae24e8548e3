"""Post-retrieval re-ranking: which retrieved examples go into a prompt, and in what order.

A retriever returns candidates best first; a selector picks `n` of them:

- `top`: the first `n` (plain retrieval).
- `random_walk`: ICMA's Random Walk selection. ICMA (Li et al., "Large Language Models are
  In-Context Molecule Learners", arXiv:2403.04197, "Post-retrieval Re-ranking") describes it as
  giving lower-ranked examples a chance to be chosen instead of always taking the top-n, so that
  tuning sees more varied contexts; its released code does not contain it. The definition
  implemented here: walk down the ranked list from the best candidate; at each candidate, skip it
  with probability `skip` and take it otherwise; stop once `n` are taken; if the walk runs off
  the list, the best candidates not yet taken fill the remaining slots. With `skip = 0` it is
  `top`. Seeded through the `numpy.random.Generator` passed in.
- `mmr`: Maximal Marginal Relevance (Carbonell & Goldstein, 1998): repeatedly take the
  candidate maximising `lam * relevance - (1 - lam) * max similarity to those already taken`,
  ties to the better-ranked candidate. Deterministic.

The selection is returned best first; `sequence_reversal` (ICMA's other re-ranker) then puts
the most similar example last, next to the query, when the prompt is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import numpy as np

from molbridge.errors import MolbridgeError

T = TypeVar("T")
SELECTORS = ("top", "random_walk", "mmr")


class RerankError(MolbridgeError, ValueError):
    """A re-ranker called with inconsistent arguments (bad n, probability or matrix shape)."""


def _check_n(n: int) -> None:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise RerankError(f"n must be a non-negative integer, got {n!r}")


def top(ranked: Sequence[T], n: int) -> list[T]:
    """The first `n` candidates."""
    _check_n(n)
    return list(ranked[:n])


def random_walk(ranked: Sequence[T], n: int, *, skip: float = 0.3, rng: np.random.Generator) -> list[T]:
    """ICMA's Random Walk (definition in the module docstring); best first."""
    _check_n(n)
    if not 0.0 <= skip < 1.0:
        raise RerankError(f"skip probability must be in [0, 1), got {skip!r}")
    taken: list[int] = []
    for position in range(len(ranked)):
        if len(taken) == n:
            break
        if rng.random() >= skip:
            taken.append(position)
    if len(taken) < n:
        chosen = set(taken)
        taken += [p for p in range(len(ranked)) if p not in chosen][: n - len(taken)]
        taken.sort()
    return [ranked[p] for p in taken]


def mmr(ranked: Sequence[T], relevance: Sequence[float], similarity: np.ndarray, n: int, *,
        lam: float = 0.7) -> list[T]:
    """Maximal Marginal Relevance over the candidates; `similarity[i, j]` between candidates i, j."""
    _check_n(n)
    m = len(ranked)
    rel = np.asarray(relevance, dtype=np.float64)
    sim = np.asarray(similarity, dtype=np.float64)
    if rel.shape != (m,) or sim.shape != (m, m):
        raise RerankError(f"{m} candidates need {m} relevance scores and an {m}x{m} similarity matrix, "
                          f"got {rel.shape} and {sim.shape}")
    if not 0.0 <= lam <= 1.0:
        raise RerankError(f"lam must be in [0, 1], got {lam!r}")
    if not (np.isfinite(rel).all() and np.isfinite(sim).all()):
        raise RerankError("relevance and similarity must be finite")
    taken: list[int] = []
    redundancy = np.full(m, -np.inf)
    available = np.ones(m, bool)
    for _ in range(min(n, m)):
        gain = lam * rel - (1.0 - lam) * np.where(np.isfinite(redundancy), redundancy, 0.0)
        gain[~available] = -np.inf
        best = int(np.argmax(gain))  # first maximum = better-ranked candidate
        taken.append(best)
        available[best] = False
        redundancy = np.maximum(redundancy, sim[best])
    return [ranked[p] for p in taken]


def sequence_reversal(selected: Sequence[T]) -> list[T]:
    """ICMA's Sequence Reversal: best-first selection → most similar last (closest to the query)."""
    return list(reversed(selected))
