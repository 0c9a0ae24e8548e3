"""Readable tables for metric reports (the CLI's default output)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from molbridge.eval.results import MetricReport


def _fmt(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.4f}" if abs(value) < 1000 else f"{value:.1f}"


def print_report(report: MetricReport, source: str, console: Console | None = None) -> None:
    console = console or Console()
    conv = report.convention
    table = Table(title=f"{report.task} · {source}", caption=f"convention {conv.get('name')} · N = {report.n}")
    for col in ("metric", "value", "95% CI", "N", "valid-only", "all-N"):
        table.add_column(col, justify="left" if col == "metric" else "right")
    for name, m in report.metrics.items():
        ci = f"{_fmt(m.ci_low)} – {_fmt(m.ci_high)}" if m.ci_low is not None else "–"
        table.add_row(name, _fmt(m.value), ci, str(m.n), _fmt(m.valid_only), _fmt(m.all_n))
    console.print(table)
    counts = ", ".join(f"{k} {v}" for k, v in report.counts.items())
    console.print(f"counts: {counts}")
    for note in report.notes:
        console.print(f"note: {note}")
