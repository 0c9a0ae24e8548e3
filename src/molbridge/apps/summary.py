"""The one-glance verdict of a run: per scored group, the model against the copy baseline on one headline metric.

Why: a report with 19 groups × 6 metrics does not say whether tuning helped. Each scorer family names its
headline (the number its field compares first) and which way is better; a group's verdict compares the
two point estimates (equal values are a tie: a model that copies its nearest retrieved answer matches the
baseline exactly). A metric with an all-answers reading (invalid answers as 0: molecule similarities, exact
match) is compared in it. A numeric answer's MAE is over valid answers only, so a model that answers fewer
records validly than the baseline does not win on a smaller MAE: it loses that group. The normalised
score is model ÷ copy for higher-is-better metrics and copy ÷ model for lower-is-better ones, so > 1
always favours the model.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from molbridge.eval.results import MetricReport, MetricValue
from molbridge.tasks import task_for


@dataclass(frozen=True)
class Headline:
    metric: str
    higher_is_better: bool


# scorer family → its headline metric
HEADLINES = {
    "text": Headline("meteor", True),
    "molecule": Headline("morgan_fts", True),
    "number": Headline("mae", False),
    "classification": Headline("accuracy", True),
    "choice": Headline("accuracy", True),
    "extraction": Headline("f1", True),
    "sequence": Headline("identity", True),
    "ec": Headline("f1", True),
    "set": Headline("f1", True),
}

Winner = Literal["model", "copy", "tie", "none"]


@dataclass(frozen=True)
class Verdict:
    """One group's headline comparison."""

    group: str
    metric: str
    unit: str
    higher_is_better: bool
    model: MetricValue | None
    copy: MetricValue | None
    normalised: float | None  # > 1 favours the model; None where a side has no value
    winner: Winner


def metric_unit(name: str, report: MetricReport) -> str:
    """The unit a metric is in: a property's own unit for errors of numbers, else what the score counts."""
    if name in ("mae", "rmse"):
        return str(report.convention.get("expected_unit") or "unitless")
    if name == "levenshtein":
        return "characters"
    if name.endswith("_fts"):
        return "Tanimoto, 0–1"
    if name in ("auroc",):
        return "0–1"
    return "fraction, 0–1"


def compared(metric: MetricValue | None) -> float | None:
    """The value a verdict compares: over every answer with invalid ones as 0 where the metric has that reading
    (a valid-only similarity over 4 valid answers of 12 is no win over 12 valid ones), else the headline value."""
    if metric is None:
        return None
    value = metric.all_n if metric.all_n is not None else metric.value
    return None if value is None or math.isnan(value) else float(value)


def verdict(group: str, task: str, model: MetricReport, copy: MetricReport | None) -> Verdict:
    """The headline comparison of one group (the task names its scorer family)."""
    headline = HEADLINES[task_for(task).family]
    ours = model.metrics.get(headline.metric)
    theirs = copy.metrics.get(headline.metric) if copy else None
    a, b = compared(ours), compared(theirs)
    winner: Winner
    if a is None or b is None:
        winner, normalised = ("model" if a is not None else "copy" if b is not None else "none"), None
    else:
        normalised = _ratio(a, b) if headline.higher_is_better else _ratio(b, a)
        winner = "tie" if a == b else "model" if (a > b) == headline.higher_is_better else "copy"
    if "valid_ratio" in model.metrics and copy is not None and winner in ("model", "tie") \
            and model.metrics["valid_ratio"].value < copy.metrics["valid_ratio"].value:
        winner = "copy"  # a valid-only error over fewer valid answers is no win
    return Verdict(group, headline.metric, metric_unit(headline.metric, model), headline.higher_is_better,
                   ours, theirs, normalised, winner)


def _ratio(top: float, bottom: float) -> float:
    if bottom == 0:
        return 1.0 if top == 0 else math.inf
    return top / bottom


def verdicts(reports: Mapping[str, MetricReport], baselines: Mapping[str, MetricReport],
             tasks: Mapping[str, str]) -> list[Verdict]:
    """Every group's verdict, in the reports' order; `tasks` maps a group to its task's name."""
    return [verdict(group, tasks[group], report, baselines.get(group)) for group, report in reports.items()]


def tally(found: list[Verdict]) -> dict[str, int]:
    """How many groups each side won, tied, or could not be compared."""
    counts = {"model": 0, "copy": 0, "tie": 0, "none": 0}
    for v in found:
        counts[v.winner] += 1
    return counts
