import numpy as np
import pytest

from molbridge.errors import ConventionError, MolbridgeError
from molbridge.eval import retrieval_metrics
from molbridge.eval.retrieval_metrics import (
    RetrievalInputError,
    rank_of_targets,
    retrieval_both_directions,
    retrieval_report,
)

# Query 1's target (0.3) ties with candidate 2 and trails candidate 0.
SCORES = np.array(
    [
        [0.9, 0.1, 0.5],
        [0.8, 0.3, 0.3],
        [0.2, 0.7, 0.6],
    ]
)


def _argsort_ranks(scores: np.ndarray) -> np.ndarray:
    order = np.argsort(-scores, axis=1)
    return np.array([int(np.flatnonzero(order[i] == i)[0]) for i in range(scores.shape[0])])


def test_ranks_by_hand_under_both_tie_policies():
    assert rank_of_targets(SCORES).tolist() == [0, 2, 1]
    assert rank_of_targets(SCORES, ties="optimistic").tolist() == [0, 1, 1]


def test_constant_scores_are_worst_when_pessimistic():
    flat = np.ones((4, 4))
    assert rank_of_targets(flat).tolist() == [3, 3, 3, 3]
    assert retrieval_report(flat).values()["acc1"] == 0.0
    assert retrieval_report(flat, ties="optimistic").values()["acc1"] == 1.0


def test_ranks_match_argsort_without_ties():
    scores = np.random.default_rng(0).normal(size=(50, 50))
    expected = _argsort_ranks(scores)
    assert np.array_equal(rank_of_targets(scores), expected)
    assert np.array_equal(rank_of_targets(scores, ties="optimistic"), expected)


def test_row_chunking_does_not_change_ranks(monkeypatch):
    scores = np.random.default_rng(1).integers(0, 5, size=(37, 37)).astype(float)
    full = rank_of_targets(scores)
    monkeypatch.setattr(retrieval_metrics, "_CHUNK_CELLS", 40)
    assert np.array_equal(rank_of_targets(scores), full)


def test_report_values_by_hand():
    rep = retrieval_report(SCORES, ks=(1, 2))
    vals = rep.values()
    assert set(vals) == {"acc1", "r@2", "mrr"}
    assert vals["acc1"] == pytest.approx(1 / 3)
    assert vals["r@2"] == pytest.approx(2 / 3)
    assert vals["mrr"] == pytest.approx((1 + 1 / 3 + 1 / 2) / 3)
    assert rep.n == 3 and rep.metrics["mrr"].n == 3
    assert rep.convention["pool"] == "full" and rep.convention["ties"] == "pessimistic"


def test_default_keys_and_interval_brackets_value():
    scores = np.random.default_rng(2).normal(size=(40, 40)) + 2 * np.eye(40)
    rep = retrieval_report(scores)
    assert list(rep.metrics) == ["acc1", "r@5", "r@10", "r@20", "mrr"]
    for m in rep.metrics.values():
        assert m.ci_low <= m.value <= m.ci_high
    again = retrieval_report(scores)
    assert again.metrics == rep.metrics  # seeded bootstrap is reproducible


def test_k_larger_than_candidate_count_is_trivially_one_and_noted():
    rep = retrieval_report(SCORES, ks=(1, 5))
    assert rep.values()["r@5"] == 1.0
    assert any("trivially 1" in note and "r@5" in note for note in rep.notes)


def test_in_batch_differs_from_full():
    scores = np.eye(4)
    scores[0, 2] = 5.0  # beats query 0's target, but only in the full pool
    full = retrieval_report(scores, ks=(1,))
    in_batch = retrieval_report(scores, ks=(1,), batch_size=2)
    assert full.values()["acc1"] == pytest.approx(3 / 4)
    assert in_batch.values()["acc1"] == 1.0
    assert in_batch.convention["pool"] == "in-batch" and in_batch.convention["batch_size"] == 2


def test_in_batch_matches_brute_force_and_keeps_last_partial_batch():
    scores = np.random.default_rng(3).normal(size=(10, 10))
    rep = retrieval_report(scores, ks=(1, 3), batch_size=4)
    ranks = np.concatenate([_argsort_ranks(scores[s : s + 4, s : s + 4]) for s in (0, 4, 8)])
    assert rep.values()["acc1"] == pytest.approx(np.mean(ranks == 0))
    assert rep.values()["r@3"] == pytest.approx(np.mean(ranks < 3))
    assert rep.values()["mrr"] == pytest.approx(np.mean(1 / (ranks + 1)))
    assert rep.n == 10
    assert any("last batch holds 2" in note for note in rep.notes)


def test_numpy_int_settings_are_accepted():
    rep = retrieval_report(SCORES, ks=(np.int64(2),), batch_size=np.int64(2))
    assert rep.convention["ks"] == [2] and type(rep.convention["batch_size"]) is int


def test_batch_size_at_least_n_equals_full():
    scores = np.random.default_rng(4).normal(size=(12, 12))
    assert retrieval_report(scores, batch_size=64).values() == retrieval_report(scores).values()


def test_both_directions_are_rows_and_transpose():
    both = retrieval_both_directions(SCORES, ks=(1,))
    assert set(both) == {"m2t", "t2m"}
    assert both["m2t"].values() == retrieval_report(SCORES, ks=(1,)).values()
    assert both["t2m"].values()["acc1"] == pytest.approx(2 / 3)
    assert both["t2m"].values()["mrr"] == pytest.approx((1 + 1 / 2 + 1) / 3)
    assert both["m2t"].task == "retrieval_m2t" and both["t2m"].task == "retrieval_t2m"


@pytest.mark.parametrize(
    "bad",
    [np.zeros((0, 0)), np.zeros((2, 3)), np.zeros(3), np.array([[1.0, np.nan], [0.0, 1.0]])],
    ids=["empty", "non-square", "1-d", "nan"],
)
def test_bad_scores_raise_typed_error(bad):
    with pytest.raises(RetrievalInputError) as info:
        retrieval_report(bad)
    assert isinstance(info.value, MolbridgeError) and isinstance(info.value, ValueError)
    with pytest.raises(RetrievalInputError):
        rank_of_targets(bad)


@pytest.mark.parametrize(
    "kwargs",
    [{"batch_size": 0}, {"batch_size": 2.5}, {"ks": ()}, {"ks": (0, 5)}, {"ties": "random"}],
)
def test_bad_convention_raises(kwargs):
    with pytest.raises(ConventionError):
        retrieval_report(SCORES, **kwargs)


def test_zero_resamples_gives_no_interval():
    rep = retrieval_report(SCORES, n_resamples=0)
    assert all(m.ci_low is None and m.ci_high is None for m in rep.metrics.values())
    assert rep.values() == retrieval_report(SCORES).values()
