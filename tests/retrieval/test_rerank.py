"""Re-rankers: ICMA's random walk and sequence reversal, and MMR."""

from __future__ import annotations

import numpy as np
import pytest

from molbridge.retrieval.rerank import RerankError, mmr, random_walk, sequence_reversal, top

RANKED = list("abcdefghij")


def test_top_and_reversal():
    assert top(RANKED, 3) == ["a", "b", "c"]
    assert top(RANKED[:2], 5) == ["a", "b"]
    assert sequence_reversal(top(RANKED, 3)) == ["c", "b", "a"]


def test_random_walk_without_skipping_is_top():
    assert random_walk(RANKED, 4, skip=0.0, rng=np.random.default_rng(0)) == top(RANKED, 4)


def test_random_walk_is_seeded_and_keeps_rank_order():
    first = random_walk(RANKED, 4, skip=0.5, rng=np.random.default_rng(7))
    again = random_walk(RANKED, 4, skip=0.5, rng=np.random.default_rng(7))
    assert first == again
    assert len(first) == 4 and len(set(first)) == 4
    assert first == sorted(first, key=RANKED.index)


def test_random_walk_reaches_lower_ranks_with_decaying_probability():
    rng = np.random.default_rng(0)
    counts = np.zeros(len(RANKED))
    for _ in range(4000):
        for item in random_walk(RANKED, 3, skip=0.3, rng=rng):
            counts[RANKED.index(item)] += 1
    assert counts[0] > counts[3] > counts[6] > 0  # lower ranks chosen, less often
    assert counts.sum() == 3 * 4000


def test_random_walk_fills_from_the_best_when_it_runs_off_the_list():
    # skip almost always: the walk takes (almost) nothing, the fill takes the best remaining
    picked = random_walk(RANKED[:3], 3, skip=0.999, rng=np.random.default_rng(1))
    assert picked == ["a", "b", "c"]
    assert random_walk(RANKED[:2], 5, skip=0.5, rng=np.random.default_rng(1)) == ["a", "b"]


def test_mmr_prefers_diverse_candidates():
    relevance = [0.9, 0.89, 0.5]
    similarity = np.array([[1.0, 0.99, 0.1], [0.99, 1.0, 0.1], [0.1, 0.1, 1.0]])
    assert mmr(["a", "b", "c"], relevance, similarity, 2, lam=0.5) == ["a", "c"]
    assert mmr(["a", "b", "c"], relevance, similarity, 2, lam=1.0) == ["a", "b"]  # pure relevance


def test_mmr_ties_go_to_the_better_ranked():
    assert mmr(["a", "b", "c"], [0.5, 0.5, 0.5], np.eye(3), 3) == ["a", "b", "c"]


@pytest.mark.parametrize("call", [
    lambda: top(RANKED, -1),
    lambda: random_walk(RANKED, 2, skip=1.0, rng=np.random.default_rng(0)),
    lambda: mmr(RANKED[:2], [1.0], np.eye(2), 1),
    lambda: mmr(RANKED[:2], [1.0, 0.5], np.eye(3), 1),
    lambda: mmr(RANKED[:2], [1.0, float("nan")], np.eye(2), 1),
    lambda: mmr(RANKED[:2], [1.0, 0.5], np.eye(2), 1, lam=2.0),
])
def test_bad_arguments_raise(call):
    with pytest.raises(RerankError):
        call()
