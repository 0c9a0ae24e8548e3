"""Prediction files → aligned (reference, prediction) pairs, with every problem accounted for.

Formats: MolT5's TSVs (`SMILES|description, ground truth, output`), MolReGPT's outputs
(`CID, molecule2caption, caption2molecule`, joined to a ChEBI-20 table by CID), and generic
JSONL/CSV with a column mapping. A prediction that is missing (short row, null field, a
reference CID without a prediction) becomes `None` — scored as invalid, never skipped — and is
listed in `issues`. What makes scoring impossible (unreadable file, missing columns, a row
without a reference, bad JSON) raises `FileFormatError` with file, line and reason.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from molbridge.atomic import write_text
from molbridge.data.formats.chebi20_tables import records_from_chebi20
from molbridge.data.tables import Row, read_table, read_text
from molbridge.errors import ConventionError, FileFormatError, ScoringInputError
from molbridge.records import Record
from molbridge.tasks import TASKS, Task

Layout = Literal["mol2text", "text2mol"]  # MolT5's two prediction-file layouts (`Task.molt5`)
Format = Literal["molt5", "molregpt", "jsonl", "csv"]
FORMATS: tuple[str, ...] = ("molt5", "molregpt", "jsonl", "csv")

_MOLT5_SOURCE = {"mol2text": "SMILES", "text2mol": "description"}
_MOLREGPT_COLUMN = {"mol2text": "molecule2caption", "text2mol": "caption2molecule"}


@dataclass(frozen=True)
class PredictionPair:
    key: str  # an id (CID) or "line N"
    reference: str
    prediction: str | None  # None: missing / unreadable → scored invalid
    source: str | None = None  # the model input (SMILES or caption), when the file has it
    line: int | None = None


@dataclass
class PredictionSet:
    path: str
    format: str
    task: str
    pairs: list[PredictionPair]
    issues: list[str] = field(default_factory=list)

    @property
    def references(self) -> list[str]:
        return [p.reference for p in self.pairs]

    @property
    def predictions(self) -> list[str | None]:
        return [p.prediction for p in self.pairs]


@dataclass(frozen=True)
class ColumnMap:
    """Field names for generic JSONL/CSV files."""

    id: str = "id"
    reference: str = "reference"
    prediction: str = "prediction"
    source: str | None = "input"


def write_molt5(path: str | Path, layout: Layout, rows: Iterable[tuple[str, str, str]]) -> int:
    """Write `(input, ground truth, output)` rows as MolT5's TSV of `layout`; returns the row count.

    MolT5's files are unquoted TSV, so a tab or newline inside a field would shift columns:
    those become spaces (predictions are single-line text or SMILES).
    """
    lines = [f"{_MOLT5_SOURCE[layout]}\tground truth\toutput"]
    lines += ["\t".join(" ".join(f.split("\t")).replace("\n", " ").replace("\r", " ") for f in fields)
              for fields in rows]
    write_text(path, "\n".join(lines) + "\n")
    return len(lines) - 1


def check_aligned(references: Sequence[str], predictions: Sequence[str | None]) -> None:
    """Scorers take aligned lists: one prediction (or None) per reference, at least one pair."""
    if len(references) != len(predictions):
        raise ScoringInputError(f"{len(references)} references but {len(predictions)} predictions")
    if not references:
        raise ScoringInputError("nothing to score: no prediction pairs")


def read_predictions(
    path: str | Path,
    task: Task | str,
    *,
    fmt: Format = "molt5",
    reference: str | Path | None = None,
    columns: ColumnMap = ColumnMap(),
    raw_references: bool = False,
) -> PredictionSet:
    """Read a prediction file for a task with a MolT5 layout; `reference` is a ChEBI-20 TSV to join on CID.

    `raw_references`: references joined from the table are its stored text (ChEBI-20's doubled
    backslashes kept, as the MolReGPT/ICMA scripts compare them), not the real SMILES."""
    spec = TASKS.get(task) if isinstance(task, str) else task
    if spec.molt5 is None:
        raise ConventionError(f"task {spec.name!r} has no MolT5 prediction-file layout")
    refs = records_from_chebi20(reference) if reference is not None else None
    if fmt == "molt5":
        result = _read_molt5(path, spec.molt5)
    elif fmt == "molregpt":
        if refs is None:
            raise FileFormatError(str(path), None, "MolReGPT outputs need --reference (a ChEBI-20 TSV) to join on CID")
        result = _read_molregpt(path, spec, refs, raw_references)
    elif fmt in ("jsonl", "csv"):
        records = _jsonl_records(path) if fmt == "jsonl" else _csv_records(path, columns)
        result = _from_records(path, fmt, spec, records, columns, refs, raw_references)
    else:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if not result.pairs:
        raise FileFormatError(str(path), None, "no prediction rows")
    return result


def _read_molt5(path: str | Path, task: Layout) -> PredictionSet:
    source_col = _MOLT5_SOURCE[task]
    try:
        _, rows = read_table(path, delimiter="\t", required=(source_col, "ground truth", "output"),
                             quoting=csv.QUOTE_NONE)
    except FileFormatError as exc:
        other = next(t for t in _MOLT5_SOURCE if t != task)
        if exc.line == 1 and f"'{_MOLT5_SOURCE[other]}'" in exc.reason and "found" in exc.reason:
            raise FileFormatError(exc.path, 1, f"{exc.reason}; this looks like a {other} file "
                                  f"(use `molbridge eval {other}`)") from None
        raise
    result = PredictionSet(str(path), "molt5", task, [])
    for row in rows:
        ref = row.get("ground truth")
        if ref is None or not ref.strip():
            raise FileFormatError(str(path), row.line, "empty 'ground truth' (nothing to score against)")
        pred = _prediction(result, row, "output")
        result.pairs.append(PredictionPair(f"line {row.line}", ref, pred, row.get(source_col), row.line))
    return result


def _prediction(result: PredictionSet, row: Row, column: str) -> str | None:
    """The row's prediction, or None (recorded as an issue) when the row is ragged or lacks it."""
    if row.ragged:
        result.issues.append(f"line {row.line}: ragged row ({row.ragged}); prediction scored as invalid")
        return None
    value = row.get(column)
    if value is None:
        result.issues.append(f"line {row.line}: no {column!r} field; prediction scored as invalid")
    return value


def _read_molregpt(path: str | Path, task: Task, refs: list[Record], raw: bool) -> PredictionSet:
    layout = task.molt5
    assert layout is not None  # read_predictions refuses tasks without a MolT5 layout before reading
    column = _MOLREGPT_COLUMN[layout]
    _, rows = read_table(path, delimiter="\t", required=("CID", column), quoting=csv.QUOTE_NONE)
    result = PredictionSet(str(path), "molregpt", task.name, [])
    by_cid = _index_by_id(path, ((row.get("CID") or "", row) for row in rows))
    _join(result, refs, task, {cid: (_prediction(result, row, column), row.line) for cid, row in by_cid.items()}, raw)
    return result


def _join(result: PredictionSet, refs: list[Record], task: Task,
          predictions: dict[str, tuple[str | None, int | None]], raw: bool) -> None:
    """One pair per reference record, in reference order; unmatched ids are reported."""
    for rec in refs:
        cid = rec.meta.source_id or rec.id
        pred, line = predictions.get(cid, (None, None))
        if cid not in predictions:
            result.issues.append(f"CID {cid}: no prediction; scored as invalid")
        result.pairs.append(PredictionPair(cid, task.target.get(rec, stored=raw), pred, task.source.get(rec), line))
    extra = sorted(set(predictions) - {r.meta.source_id or r.id for r in refs})
    if extra:
        result.issues.append(f"{len(extra)} predicted ids not in the reference (ignored): {', '.join(extra[:10])}")


def _index_by_id(path: str | Path, items: Iterable[tuple[str, Row | dict]]) -> dict:
    out: dict = {}
    for key, item in items:
        line = item.line if isinstance(item, Row) else item.get("__line__")
        if not key.strip():
            raise FileFormatError(str(path), line, "empty id")
        if key in out:
            raise FileFormatError(str(path), line, f"duplicate id {key!r}")
        out[key] = item
    return out


def _jsonl_records(path: str | Path) -> list[dict]:
    records = []
    for number, text in enumerate(read_text(path).splitlines(), start=1):
        if not text.strip():
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            raise FileFormatError(str(path), number, f"invalid JSON: {exc.msg} at column {exc.colno}") from None
        if not isinstance(obj, dict):
            raise FileFormatError(str(path), number, f"expected a JSON object, got {type(obj).__name__}")
        obj["__line__"] = number
        records.append(obj)
    return records


def _csv_records(path: str | Path, columns: ColumnMap) -> list[dict]:
    _, rows = read_table(path, delimiter=",", required=())
    records = []
    for row in rows:
        rec: dict[str, str | int] = {k: v for k, v in row.values.items() if v is not None}
        if row.ragged:
            rec.pop(columns.prediction, None)
            rec["__ragged__"] = row.ragged
        rec["__line__"] = row.line
        records.append(rec)
    return records


def _prediction_field(rec: dict, columns: ColumnMap, issues: list[str]) -> str | None:
    """A row's prediction text, or None (scored invalid) with the reason in `issues`."""
    line = rec["__line__"]
    if "__ragged__" in rec:
        issues.append(f"line {line}: ragged row ({rec['__ragged__']}); prediction scored as invalid")
        return None
    value = rec.get(columns.prediction)
    if value is None:
        issues.append(f"line {line}: no {columns.prediction!r} field; prediction scored as invalid")
        return None
    if not isinstance(value, str):
        issues.append(f"line {line}: {columns.prediction!r} is {type(value).__name__}, not text; scored as invalid")
        return None
    return value


def read_replies(path: str | Path, columns: ColumnMap = ColumnMap()) -> tuple[dict[str, str | None], list[str]]:
    """Id → reply of a JSONL (`.jsonl`/`.json`) or CSV file of any model's answers, and the rows' issues.

    A reply that is missing or not text is None (scored invalid); an empty or repeated id raises."""
    records = _jsonl_records(path) if Path(path).suffix.lower() in (".jsonl", ".json") else _csv_records(path, columns)
    if not records:
        raise FileFormatError(str(path), None, "no prediction rows")
    issues: list[str] = []
    by_id = _index_by_id(path, ((str(r.get(columns.id, "")), r) for r in records))
    return {key: _prediction_field(rec, columns, issues) for key, rec in by_id.items()}, issues


def _from_records(path: str | Path, fmt: str, task: Task, records: list[dict], columns: ColumnMap,
                  refs: list[Record] | None, raw: bool) -> PredictionSet:
    result = PredictionSet(str(path), fmt, task.name, [])

    def prediction_of(rec: dict) -> str | None:
        return _prediction_field(rec, columns, result.issues)

    if refs is not None:
        by_id = _index_by_id(path, ((str(r.get(columns.id, "")), r) for r in records))
        _join(result, refs, task, {k: (prediction_of(r), r["__line__"]) for k, r in by_id.items()}, raw)
        return result
    for rec in records:
        ref = rec.get(columns.reference)
        if not isinstance(ref, str) or not ref.strip():
            raise FileFormatError(str(path), rec["__line__"],
                                  f"missing or empty reference field {columns.reference!r} (or pass --reference)")
        key = str(rec.get(columns.id, f"line {rec['__line__']}"))
        source = rec.get(columns.source) if columns.source else None
        result.pairs.append(PredictionPair(key, ref, prediction_of(rec), source if isinstance(source, str) else None,
                                           rec["__line__"]))
    return result
