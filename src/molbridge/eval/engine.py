"""The scoring engine's front door: a prediction file in, a `MetricReport` out."""

from __future__ import annotations

from pathlib import Path

from molbridge.eval.conventions import get_convention
from molbridge.eval.predictions import ColumnMap, PredictionSet, read_predictions
from molbridge.eval.results import MetricReport
from molbridge.errors import ConventionError


def score_file(
    path: str | Path,
    task: str,
    *,
    fmt: str = "molt5",
    reference: str | Path | None = None,
    convention: str = "molt5",
    text_tokenizer: str | None = None,
    columns: ColumnMap = ColumnMap(),
    fcd: bool = False,
    workers: int | None = None,
    bootstrap: int | None = None,
) -> tuple[MetricReport, PredictionSet]:
    """Read `path` in format `fmt` and score it for `task` under the named convention."""
    conv = get_convention(convention, text_tokenizer=text_tokenizer)
    if bootstrap is not None:
        if bootstrap < 0:
            raise ConventionError("--bootstrap must be >= 0")
        conv = conv.model_copy(update={"bootstrap_resamples": bootstrap})
    pairs = read_predictions(path, task, fmt=fmt, reference=reference, columns=columns)  # type: ignore[arg-type]
    if task == "mol2text":
        from molbridge.eval.text_metrics import score_mol2text

        report = score_mol2text(pairs.references, pairs.predictions, conv, workers=workers)
    else:
        from molbridge.eval.mol_metrics import score_text2mol

        report = score_text2mol(pairs.references, pairs.predictions, conv, fcd=fcd, workers=workers)
    if pairs.issues:
        report.notes.append(f"{len(pairs.issues)} file issues (rows scored as invalid or ids unmatched)")
    return report, pairs
