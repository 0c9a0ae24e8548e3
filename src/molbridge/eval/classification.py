"""Closed-set classification answers: accuracy, macro-F1 and AUROC with invalid answers kept.

An invalid prediction (None, NaN, or a label outside `labels`) is scored as wrong over all N —
dropping it would reward a model for refusing to answer — and the valid-only values are reported
beside it. Labels are encoded to 0..K-1 with -1 for invalid, so sklearn never sees a sentinel class.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import f1_score, roc_auc_score

from molbridge.errors import MolbridgeError
from molbridge.eval.bootstrap import DEFAULT_RESAMPLES, mean_interval, resample_blocks
from molbridge.eval.results import MetricReport, MetricValue


class ClassificationInputError(MolbridgeError, ValueError):
    """Labels or scores that cannot be scored: empty, unequal lengths, NaN scores, bad shapes."""


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def _label_list(y_true: Sequence[Any], y_pred: Sequence[Any], labels: Sequence[Any] | None) -> list[Any]:
    if labels is not None:
        out = list(dict.fromkeys(labels))
        known = set(out)
        unknown = [y for y in y_true if y not in known]
        if unknown:
            raise ClassificationInputError(f"y_true holds labels outside `labels`, e.g. {unknown[0]!r}")
        return out
    seen = set(y_true) | {p for p in y_pred if not _is_missing(p)}
    try:
        return sorted(seen)
    except TypeError as exc:
        raise ClassificationInputError("labels of mixed types cannot be ordered; pass labels=") from exc


def _interval(chunks: list[np.ndarray]) -> tuple[float | None, float | None]:
    """2.5% and 97.5% quantiles of the finite resample values; None when there are none."""
    if not chunks:
        return (None, None)
    values = np.concatenate(chunks)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return (None, None)
    low, high = np.quantile(finite, [0.025, 0.975])
    return (float(low), float(high))


def _macro_f1_from_sums(sums: np.ndarray, k: int) -> np.ndarray:
    """Macro F1 = mean over classes of 2TP / (2TP + FP + FN), 0 where undefined (sklearn's zero_division=0)."""
    tp, fp, fn = sums[:, :k], sums[:, k : 2 * k], sums[:, 2 * k :]
    den = 2 * tp + fp + fn
    f1 = np.divide(2 * tp, den, out=np.zeros_like(tp), where=den > 0)
    return f1.mean(axis=1)


def _weighted_auc(score: np.ndarray, positive: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """AUROC per row of item weights (B, n): Mann–Whitney statistic, ties counted one half."""
    order = np.argsort(score, kind="stable")
    s, pos, w = score[order], positive[order], weights[:, order]
    w_pos, w_neg = np.where(pos, w, 0.0), np.where(pos, 0.0, w)
    before = np.concatenate([np.zeros((w.shape[0], 1)), np.cumsum(w_neg, axis=1)], axis=1)
    new = np.r_[True, s[1:] != s[:-1]]
    starts = np.flatnonzero(new)
    stops = np.r_[starts[1:], s.shape[0]]
    group = np.cumsum(new) - 1
    below = before[:, starts[group]]
    tied = before[:, stops[group]] - below
    num = (w_pos * (below + 0.5 * tied)).sum(axis=1)
    den = w_pos.sum(axis=1) * w_neg.sum(axis=1)
    return np.divide(num, den, out=np.full_like(num, np.nan), where=den > 0)


def _f1_interval(
    yt: np.ndarray, yp: np.ndarray, k: int, n_resamples: int, seed: int
) -> tuple[float | None, float | None]:
    """Bootstrap interval of macro-F1 from per-item TP/FP/FN rows (invalid: FN, never FP)."""
    n = yt.shape[0]
    stats = np.zeros((n, 3 * k))
    rows = np.arange(n)
    hit, wrong_valid = yt == yp, (yt != yp) & (yp >= 0)
    stats[rows[hit], yt[hit]] = 1.0
    stats[rows[wrong_valid], k + yp[wrong_valid]] = 1.0
    stats[rows[~hit], 2 * k + yt[~hit]] = 1.0
    resamples = resample_blocks(n, n_resamples, seed)
    return _interval([_macro_f1_from_sums(c @ stats, k) for c in resamples])


def _score_matrix(scores: Any, n: int, k: int) -> np.ndarray:
    """Scores as (n, K) one column per label; a 1-D binary score is the score of labels[1]."""
    arr = np.asarray(scores, dtype=np.float64)
    if arr.shape[0] != n:
        raise ClassificationInputError(f"{n} items but scores have shape {arr.shape}")
    if np.isnan(arr).any():
        raise ClassificationInputError(f"scores contain {int(np.isnan(arr).sum())} NaN value(s)")
    if arr.ndim == 1 and k == 2:
        return np.stack([-arr, arr], axis=1)
    if arr.ndim != 2 or arr.shape[1] != k:
        raise ClassificationInputError(
            f"scores must be (n,) for a binary task or (n, {k}) with one column per label, got {arr.shape}"
        )
    return arr


def _auroc(
    yt: np.ndarray, score: np.ndarray, n_resamples: int, seed: int, notes: list[str]
) -> MetricValue:
    """Binary AUROC, or one-vs-rest macro AUROC over classes with both positives and negatives."""
    k = score.shape[1]
    classes = [1] if k == 2 else list(range(k))
    usable = [c for c in classes if 0 < (yt == c).sum() < yt.shape[0]]
    if len(usable) < len(classes):
        notes.append(f"auroc: {len(classes) - len(usable)} class(es) lack positives or negatives and are left out")
    if not usable:
        return MetricValue(value=float("nan"), n=int(yt.shape[0]))
    value = float(np.mean([roc_auc_score(yt == c, score[:, c]) for c in usable]))
    boot = []
    for counts in resample_blocks(yt.shape[0], n_resamples, seed):
        per_class = np.stack([_weighted_auc(score[:, c], yt == c, counts) for c in usable])
        valid = np.isfinite(per_class)
        total = np.where(valid, per_class, 0.0).sum(axis=0)
        macro = np.divide(total, valid.sum(axis=0), out=np.full_like(total, np.nan), where=valid.any(axis=0))
        boot.append(macro)
    low, high = _interval(boot)
    return MetricValue(value=value, n=int(yt.shape[0]), ci_low=low, ci_high=high)


def classification_report(
    y_true: Sequence[Any],
    y_pred: Sequence[Any],
    *,
    scores: Any = None,
    labels: Sequence[Any] | None = None,
    seed: int = 0,
    n_resamples: int = DEFAULT_RESAMPLES,
    task: str = "classification",
) -> MetricReport:
    """Accuracy and macro-F1 over all N (invalid = wrong) with valid-only values, and AUROC.

    `labels` closes the label set: predictions outside it are invalid. Without it the set is the
    sorted union of true and predicted labels (sklearn's default), so every non-missing prediction
    is valid. AUROC needs `scores`: (n,) scores of the positive class labels[1] for a binary
    task (sklearn's positive class), or (n, K) columns in label order for one-vs-rest macro.
    """
    n = len(y_true)
    if n == 0:
        raise ClassificationInputError("no items to score")
    if len(y_pred) != n:
        raise ClassificationInputError(f"{n} true labels but {len(y_pred)} predictions")
    if any(_is_missing(y) for y in y_true):
        raise ClassificationInputError("y_true holds a missing label (None or NaN)")
    label_list = _label_list(y_true, y_pred, labels)
    k = len(label_list)
    index = {label: i for i, label in enumerate(label_list)}
    yt = np.array([index[y] for y in y_true], dtype=np.int64)
    missing = np.array([_is_missing(p) for p in y_pred], dtype=bool)
    encoded = [-1 if m else index.get(p, -1) for p, m in zip(y_pred, missing, strict=True)]
    yp = np.array(encoded, dtype=np.int64)
    valid = yp >= 0
    n_valid = int(valid.sum())
    score_matrix = None if scores is None else _score_matrix(scores, n, k)
    correct = (yt == yp).astype(np.float64)

    def f1(mask: np.ndarray) -> float:
        return float(f1_score(yt[mask], yp[mask], labels=np.arange(k), average="macro", zero_division=0.0))

    f1_low, f1_high = _f1_interval(yt, yp, k, n_resamples, seed)
    acc_low, acc_high = mean_interval(correct, n_resamples=n_resamples, seed=seed)
    acc_valid = float(correct[valid].mean()) if n_valid else float("nan")
    metrics = {
        "accuracy": MetricValue(
            float(correct.mean()), n, acc_low, acc_high, valid_only=acc_valid, n_valid=n_valid
        ),
        "macro_f1": MetricValue(
            f1(np.ones(n, dtype=bool)), n, f1_low, f1_high,
            valid_only=f1(valid) if n_valid else float("nan"), n_valid=n_valid,
        ),
    }
    notes: list[str] = []
    if score_matrix is not None:
        metrics["auroc"] = _auroc(yt, score_matrix, n_resamples, seed, notes)
    n_unknown = int((~valid & ~missing).sum())
    if n_valid < n:
        notes.append(f"{n - n_valid} invalid prediction(s) scored as wrong; valid_only values exclude them")
    counts = {"valid": n_valid, "missing": int(missing.sum()), "unknown_label": n_unknown}
    convention = {
        "invalid": "counted wrong over all N; valid_only beside",
        "labels": [str(label) for label in label_list],
        "f1_average": "macro (sklearn, zero_division=0)",
        "auroc": None if scores is None else ("binary" if k == 2 else "one-vs-rest macro"),
        "n_resamples": n_resamples,
        "seed": seed,
    }
    return MetricReport(task=task, convention=convention, n=n, metrics=metrics, counts=counts, notes=notes)
