import math

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

from molbridge.errors import MolbridgeError
from molbridge.eval.classification import ClassificationInputError, classification_report
from molbridge.tasks.answers import extract_yes_no


def test_invalid_predictions_count_wrong_by_hand():
    y_true = ["yes", "no", "yes", "no", "yes"]
    y_pred = ["yes", "no", "no", None, "maybe"]
    rep = classification_report(y_true, y_pred, labels=["no", "yes"])
    acc, f1 = rep.metrics["accuracy"], rep.metrics["macro_f1"]
    assert acc.value == pytest.approx(2 / 5) and acc.valid_only == pytest.approx(2 / 3)
    # yes: TP 1, FN 2 -> 0.5; no: TP 1, FP 1, FN 1 -> 0.5
    assert f1.value == pytest.approx(0.5)
    assert f1.valid_only == pytest.approx(2 / 3)
    assert acc.n == f1.n == 5 and acc.n_valid == f1.n_valid == 3
    assert rep.counts == {"valid": 3, "missing": 1, "unknown_label": 1}
    assert sum(rep.counts.values()) == rep.n
    # Same as sklearn with the invalid answers encoded as a label outside `labels`.
    assert f1.value == pytest.approx(
        f1_score([1, 0, 1, 0, 1], [1, 0, 0, -1, -1], labels=[0, 1], average="macro", zero_division=0.0)
    )


def test_matches_sklearn_when_all_valid():
    rng = np.random.default_rng(0)
    y_true, y_pred = rng.integers(0, 4, 200).tolist(), rng.integers(0, 4, 200).tolist()
    rep = classification_report(y_true, y_pred)
    assert rep.values()["accuracy"] == pytest.approx(accuracy_score(y_true, y_pred))
    assert rep.values()["macro_f1"] == pytest.approx(f1_score(y_true, y_pred, average="macro"))
    assert rep.metrics["accuracy"].valid_only == rep.values()["accuracy"]
    for m in rep.metrics.values():
        assert m.ci_low <= m.value <= m.ci_high


def test_without_labels_any_answer_is_its_own_class_like_sklearn():
    y_true, y_pred = ["a", "b", "a", "b"], ["a", "b", "c", "a"]
    rep = classification_report(y_true, y_pred)
    assert rep.counts["valid"] == 4
    assert rep.values()["macro_f1"] == pytest.approx(f1_score(y_true, y_pred, average="macro", zero_division=0.0))


def test_binary_auroc_by_hand_and_column_form():
    y = [0, 0, 1, 1]
    scores = np.array([0.1, 0.4, 0.35, 0.8])
    rep = classification_report(y, [0, 1, 0, 1], scores=scores, labels=[0, 1])
    assert rep.values()["auroc"] == pytest.approx(0.75)
    two_col = np.stack([1 - scores, scores], axis=1)
    assert classification_report(y, [0, 1, 0, 1], scores=two_col, labels=[0, 1]).values()["auroc"] == pytest.approx(0.75)


def test_auroc_ties_count_half():
    rep = classification_report([0, 1, 0, 1], [0, 1, 0, 1], scores=np.zeros(4))
    assert rep.values()["auroc"] == pytest.approx(0.5)


def test_multiclass_auroc_matches_sklearn_ovr_macro():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, 300)
    probs = rng.dirichlet(np.ones(3), 300)
    probs[np.arange(300), y] += 0.3
    probs /= probs.sum(axis=1, keepdims=True)
    rep = classification_report(y.tolist(), probs.argmax(axis=1).tolist(), scores=probs)
    expected = roc_auc_score(y, probs, multi_class="ovr", average="macro")
    auroc = rep.metrics["auroc"]
    assert auroc.value == pytest.approx(expected)
    assert auroc.ci_low <= auroc.value <= auroc.ci_high
    assert rep.convention["auroc"] == "one-vs-rest macro"


def test_bootstrap_intervals_equal_brute_force_resampling():
    rng = np.random.default_rng(2)
    n, b = 30, 200
    y = rng.integers(0, 2, n)
    pred = np.where(rng.random(n) < 0.7, y, 1 - y)
    scores = np.round(rng.random(n) + 0.3 * y, 1)  # rounded to force ties
    rep = classification_report(y.tolist(), pred.tolist(), scores=scores, n_resamples=b, seed=5)
    idx = np.random.default_rng(5).integers(0, n, size=(b, n))
    f1s = [f1_score(y[i], pred[i], labels=[0, 1], average="macro", zero_division=0.0) for i in idx]
    aucs = [roc_auc_score(y[i], scores[i]) for i in idx if 0 < y[i].sum() < n]
    assert (rep.metrics["macro_f1"].ci_low, rep.metrics["macro_f1"].ci_high) == pytest.approx(
        tuple(np.quantile(f1s, [0.025, 0.975]))
    )
    assert (rep.metrics["auroc"].ci_low, rep.metrics["auroc"].ci_high) == pytest.approx(
        tuple(np.quantile(aucs, [0.025, 0.975]))
    )


def test_single_class_auroc_is_nan_with_note():
    rep = classification_report([1, 1, 1], [1, 0, 1], scores=[0.2, 0.5, 0.9], labels=[0, 1])
    assert math.isnan(rep.values()["auroc"])
    assert any("auroc" in note for note in rep.notes)


def test_all_invalid_valid_only_is_nan():
    rep = classification_report(["yes", "no"], [None, float("nan")], labels=["no", "yes"])
    assert rep.values()["accuracy"] == 0.0 and rep.values()["macro_f1"] == 0.0
    assert math.isnan(rep.metrics["accuracy"].valid_only)
    assert rep.counts == {"valid": 0, "missing": 2, "unknown_label": 0}


@pytest.mark.parametrize(
    ("y_true", "y_pred", "kwargs"),
    [
        ([], [], {}),
        ([0, 1], [0], {}),
        ([0, 2], [0, 1], {"labels": [0, 1]}),
        ([0, None], [0, 1], {}),
        ([0, 1], [0, 1], {"scores": [0.1, np.nan]}),
        ([0, 1], [0, 1], {"scores": [0.1, 0.2, 0.3]}),
        ([0, 1, 2], [0, 1, 2], {"scores": [0.1, 0.2, 0.3]}),
        ([0, "a"], [0, "a"], {}),
    ],
    ids=["empty", "length", "true-outside-labels", "missing-true", "nan-score", "score-length", "1d-multiclass", "mixed"],
)
def test_bad_input_raises_typed_error(y_true, y_pred, kwargs):
    with pytest.raises(ClassificationInputError) as info:
        classification_report(y_true, y_pred, **kwargs)
    assert isinstance(info.value, MolbridgeError) and isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Yes, it is toxic.", "yes"),
        ("Is it toxic, yes or no? No.", "no"),
        ("NO", "no"),
        ("yes... actually no, wait: YES", "yes"),
        ("I am not sure", None),
        ("Yesterday I saw nothing", None),
        ("", None),
    ],
)
def test_extract_yes_no_takes_last_whole_word(text, expected):
    assert extract_yes_no(text) == expected


def test_zero_resamples_gives_no_interval():
    rep = classification_report([0, 1, 0, 1], [0, 1, 1, 1], scores=[0.1, 0.9, 0.6, 0.7], n_resamples=0)
    assert all(m.ci_low is None and m.ci_high is None for m in rep.metrics.values())
    assert rep.values()["accuracy"] == 0.75
