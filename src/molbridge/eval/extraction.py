"""Extraction answers (mentions, relations) scored as sets of exact items per record, pooled over the corpus.

An item is a tuple of fields (a mention; a chemical and a disease; a chemical, a group and a protein)
matched exactly: case counts, a run of whitespace counts as one space. Precision, recall and F1 are
micro-averaged over the (record, item) pairs of all records, as BioCreative scores its corpora;
`macro_f1` averages each record's own F1. An invalid answer (empty, unreadable) predicts nothing in the
micro counts, and its record's own precision, recall and F1 are 0, whatever it wanted. A ratio with
nothing on one side only is 0; with nothing on either side (no item wanted and none given) it is 1 for
a valid answer and 0 for an invalid one (pooled: the share of valid answers, which is then what every
record scored). Intervals: percentile bootstrap over records (one resampling for all three micro values).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial

import numpy as np

from molbridge.eval.bootstrap import DEFAULT_RESAMPLES, bootstrap_interval, mean_metric
from molbridge.eval.results import MetricReport, MetricValue
from molbridge.tasks.list_answers import parse_items

Items = frozenset[tuple[str, ...]]
MICRO = ("precision", "recall", "f1")


def gold_items(reference: str, meta: Mapping) -> Items:
    """A record's gold items: `meta["items"]` as the task built them (lists of fields), else read off the reference."""
    if "items" not in meta:
        return parse_items(reference)
    return frozenset(tuple(" ".join(str(field).split()) for field in item) for item in meta["items"])


def _ratio(num: np.ndarray, den: np.ndarray, other: np.ndarray, empty: np.ndarray) -> np.ndarray:
    """num / den; where den is 0: `empty` when `other` is 0 too (nothing either side), else 0."""
    return np.where(den > 0, num / np.maximum(den, 1), np.where(other > 0, 0.0, empty))


def _micro(sums: np.ndarray) -> np.ndarray:
    """(precision, recall, F1) columns from summed (true positives, predicted, gold, valid, records) rows; nothing
    on either side scores the share of valid answers (one record: 1 if valid, else 0)."""
    tp, given, wanted = sums[..., 0], sums[..., 1], sums[..., 2]
    empty = sums[..., 3] / np.maximum(sums[..., 4], 1)
    return np.stack([_ratio(tp, given, wanted, empty), _ratio(tp, wanted, given, empty),
                     _ratio(2 * tp, given + wanted, np.zeros_like(tp), empty)], axis=-1)


def _micro_column(column: int, sums: np.ndarray) -> np.ndarray:
    return _micro(sums)[:, column]


def extraction_report(gold: Sequence[Items], predicted: Sequence[Items], *, valid: Sequence[bool] | None = None,
                      task: str = "extraction", n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> MetricReport:
    """Micro precision, recall, F1 and per-record macro F1 of `predicted` against `gold` (aligned records);
    `valid` (default: all) marks the invalid answers: each predicts nothing (whatever `predicted` holds) and
    scores 0 for its record."""
    valid = [True] * len(gold) if valid is None else list(valid)
    stats = np.array([[len(g & p), len(p), len(g), 1, 1] if v else [0, 0, len(g), 0, 1]
                      for g, p, v in zip(gold, predicted, valid, strict=True)], dtype=np.float64).reshape(-1, 5)
    n = stats.shape[0]
    values = _micro(stats.sum(axis=0))
    metrics = {}
    for i, name in enumerate(MICRO):
        low, high = bootstrap_interval(stats, partial(_micro_column, i), n_resamples=n_resamples, seed=seed)
        metrics[name] = MetricValue(float(values[i]), n, low, high)
    metrics["macro_f1"] = mean_metric(_micro(stats)[:, 2], n_resamples=n_resamples, seed=seed)
    n_valid = sum(valid)
    tp, given, wanted = (int(x) for x in stats.sum(axis=0)[:3])
    return MetricReport(task=task, n=n, metrics=metrics,
                        convention={"name": "exact-items", "match": "exact fields, case-sensitive, whitespace "
                                    "collapsed", "average": "micro over (record, item) pairs; macro_f1 per record",
                                    "invalid": "predicts no items; its record scores 0",
                                    "empty": "none wanted, none given: 1 if valid, 0 if invalid"},
                        counts={"valid": n_valid, "invalid": n - n_valid, "true_positives": tp,
                                "predicted_items": given, "gold_items": wanted})
