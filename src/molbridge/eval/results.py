"""Result types: every number carries its convention, its N and a bootstrap interval."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class MetricValue:
    """One metric: the value under the declared convention, its N and a 95% bootstrap interval.

    Where invalid outputs exist, both readings are kept: `all_n` scores invalid outputs as 0 over
    every item, `valid_only` averages over the `n_valid` valid outputs; `value` is whichever the
    convention declares the headline, and `n` is the number of items it averages over.
    """

    value: float
    n: int
    ci_low: float | None = None
    ci_high: float | None = None
    valid_only: float | None = None
    n_valid: int | None = None
    all_n: float | None = None

    def scaled(self, factor: float) -> MetricValue:
        """The same metric on another scale (×100 conventions); counts are unchanged."""

        def times(x: float | None) -> float | None:
            return None if x is None else x * factor

        return replace(self, value=self.value * factor, ci_low=times(self.ci_low), ci_high=times(self.ci_high),
                       valid_only=times(self.valid_only), all_n=times(self.all_n))


@dataclass
class MetricReport:
    """All metrics of one scoring run, with the convention that produced them."""

    task: str
    convention: dict[str, Any]
    n: int
    metrics: dict[str, MetricValue]
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def values(self) -> dict[str, float]:
        """Flat name → value mapping (the CLI's top-level JSON keys)."""
        return {name: m.value for name, m in self.metrics.items()}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: flat values first (stable keys for scripts), then the details."""
        out: dict[str, Any] = dict(self.values())
        out["n"] = self.n
        out["task"] = self.task
        out["counts"] = dict(self.counts)
        out["convention"] = dict(self.convention)
        out["details"] = {name: asdict(m) for name, m in self.metrics.items()}
        out["notes"] = list(self.notes)
        return out
