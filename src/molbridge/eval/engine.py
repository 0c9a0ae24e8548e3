"""The scoring engine's front door: a prediction file in, a `MetricReport` out."""

from __future__ import annotations

from pathlib import Path

from molbridge.errors import ConventionError
from molbridge.eval.conventions import Convention, get_convention
from molbridge.eval.predictions import ColumnMap, PredictionSet, read_predictions
from molbridge.eval.results import MetricReport
from molbridge.tasks import TASKS


def _text(pairs: PredictionSet, conv: Convention, fcd: bool, workers: int | None) -> MetricReport:
    from molbridge.eval.text_metrics import score_mol2text

    return score_mol2text(pairs.references, pairs.predictions, conv, workers=workers)


def _molecules(pairs: PredictionSet, conv: Convention, fcd: bool, workers: int | None) -> MetricReport:
    from molbridge.eval.mol_metrics import score_text2mol

    return score_text2mol(pairs.references, pairs.predictions, conv, fcd=fcd, workers=workers)


FILE_SCORERS = {"text": _text, "molecule": _molecules}  # scorer family → scoring of a file's (reference, output)


def score_file(
    path: str | Path,
    task: str,
    *,
    fmt: str = "molt5",
    reference: str | Path | None = None,
    convention: str = "molt5",
    text_tokenizer: str | None = None,
    bertscore_model: str | None = None,
    columns: ColumnMap = ColumnMap(),
    fcd: bool = False,
    workers: int | None = None,
    bootstrap: int | None = None,
) -> tuple[MetricReport, PredictionSet]:
    """Read `path` in format `fmt` and score it for `task` (a task with a MolT5 layout) under the named
    convention, by the task's scorer family; the convention says how references joined from a table are read."""
    conv = _convention(convention, text_tokenizer, bertscore_model, bootstrap)
    spec = TASKS.get(task)
    pairs = read_predictions(path, spec, fmt=fmt, reference=reference, columns=columns,  # type: ignore[arg-type]
                             raw_references=conv.reference_strings == "raw")
    return _score(pairs, spec.name, conv, bertscore_model, fcd, workers), pairs


def score_pairs(
    pairs: PredictionSet,
    *,
    convention: str = "molt5",
    text_tokenizer: str | None = None,
    bertscore_model: str | None = None,
    fcd: bool = False,
    workers: int | None = None,
    bootstrap: int | None = None,
) -> MetricReport:
    """Score (reference, prediction) pairs already read (e.g. sent to the API) for their task, as `score_file`."""
    conv = _convention(convention, text_tokenizer, bertscore_model, bootstrap)
    return _score(pairs, pairs.task, conv, bertscore_model, fcd, workers)


def _convention(name: str, text_tokenizer: str | None, bertscore_model: str | None,
                bootstrap: int | None) -> Convention:
    conv = get_convention(name, text_tokenizer=text_tokenizer, bertscore_model=bertscore_model)
    if bootstrap is not None:
        if bootstrap < 0:
            raise ConventionError("--bootstrap must be >= 0")
        conv = conv.model_copy(update={"bootstrap_resamples": bootstrap})
    return conv


def _score(pairs: PredictionSet, task: str, conv: Convention, bertscore_model: str | None, fcd: bool,
           workers: int | None) -> MetricReport:
    spec = TASKS.get(task)
    if spec.family not in FILE_SCORERS:
        raise ConventionError(f"task {task!r} answers are scored as {spec.family}; prediction files are scored for "
                              f"{' and '.join(FILE_SCORERS)} answers")
    if bertscore_model and spec.family != "text":
        raise ConventionError(f"BERTScore scores text; {task} answers are scored as {spec.family}")
    if fcd and spec.family != "molecule":
        raise ConventionError(f"FCD scores molecules; {task} answers are scored as {spec.family}")
    report = FILE_SCORERS[spec.family](pairs, conv, fcd, workers)
    if pairs.issues:
        report.notes.append(f"{len(pairs.issues)} file issues (rows scored as invalid or ids unmatched)")
    return report
