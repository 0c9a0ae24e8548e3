"""One cell of the ChEBI-20-MM grid: (input modality, output, model) trained, answered and scored in its directory.

`run_cell` never raises: a cell that fails writes `error.json` (type, message, traceback) and the grid goes on; one
that finishes writes `result.json`, which is what makes a rerun skip it. Inside a cell every stage resumes
(training from its checkpoints, predictions chunk by chunk), so a killed grid loses at most a chunk of work.

A cell's directory holds `data/` (its train and test records, the input shown as the route says), `train/`
(the `molbridge train` run), `predictions.jsonl`, `baseline.jsonl` (the task's copy-the-nearest-answer baseline on
the same rows) and `result.json`: per scored column the engine's report for the model and for the copy baseline,
the training budget, steps and tokens seen, and the time of each stage.
"""

from __future__ import annotations

import json
import time
import traceback
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from molbridge.apps.mm_config import GridConfig
from molbridge.apps.mm_routes import ROUTES, Route, cell_name
from molbridge.apps.predict import Prediction, write_predictions
from molbridge.atomic import write_json
from molbridge.eval.results import MetricReport
from molbridge.records import Record

GRID_FILE = "grid.json"  # the validated config a grid directory was started with
COMMON_FILE = "common.json"  # the molecules (source ids) every cell trains and tests on


def cell_dir(grid: Path, output: str, source: str, model: str) -> Path:
    return grid / "cells" / cell_name(output, source, model)


def run_cell(grid: str | Path, output: str, source: str, model: str) -> dict:
    """Run (or resume, or skip when finished) one cell; returns its result or its recorded error."""
    grid = Path(grid)
    where = cell_dir(grid, output, source, model)
    finished = where / "result.json"
    if finished.is_file():
        return json.loads(finished.read_text())
    where.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    try:
        config = _grid_config(grid)
        result = _run(config, grid, where, ROUTES[(source, output)], model)
    except Exception as err:  # a cell's failure is data for the grid, never the grid's end
        error = {"cell": where.name, "output": output, "input": source, "model": model, "status": "failed",
                 "error": type(err).__name__, "message": str(err), "seconds": round(time.perf_counter() - started, 1),
                 "traceback": traceback.format_exc()[-4000:]}
        write_json(where / "error.json", error)
        return error
    result |= {"cell": where.name, "output": output, "input": source, "model": model, "status": "done",
               "seconds": round(time.perf_counter() - started, 1)}
    (where / "error.json").unlink(missing_ok=True)
    write_json(finished, result)
    return result


def _grid_config(grid: Path) -> GridConfig:
    return GridConfig.model_validate(json.loads((grid / GRID_FILE).read_text())["config"])


def _run(config: GridConfig, grid: Path, where: Path, route: Route, model: str) -> dict:
    from molbridge.tasks import TASKS

    task = TASKS.get(route.task)
    train_records, test_records = cell_records(grid, route, config.data.test_molecules)
    _write_data(where / "data", train_records, test_records)
    timings: dict[str, float] = {}
    training: dict | None = None
    started = time.perf_counter()
    if model == "osra":
        predictions = osra_predictions(test_records, task)
        write_predictions(where / "predictions.jsonl", predictions)
    else:
        from molbridge.apps.mm_training import answer_test, cell_train_config, train_cell

        train_config = cell_train_config(config, grid, where, route, model)
        training = train_cell(train_config)
        timings["train_s"] = time.perf_counter() - started
        started = time.perf_counter()
        predictions = answer_test(config, where, route, train_config)
    timings["answer_s"] = time.perf_counter() - started
    started = time.perf_counter()
    scored = score_cell(config, route, predictions, train_records, test_records, where)
    timings["score_s"] = time.perf_counter() - started
    return {"task": route.task, "n_train": len(train_records), "n_test": len(test_records), "training": training,
            "budget_minutes": config.budget_minutes if training else None, "columns": scored,
            "timings_s": {k: round(v, 1) for k, v in timings.items()}}


def cell_records(grid: Path, route: Route, test_molecules: int) -> tuple[list[Record], list[Record]]:
    """The route task's records of the common molecules, inputs shown as the route says: all training ones, and
    the first `test_molecules` test molecules' (every property of a property cell)."""
    from molbridge.data.parquet_io import read_split

    common = json.loads((grid / COMMON_FILE).read_text())
    chosen = {"train": set(common["train"]), "test": set(common["test"][:test_molecules])}
    out = []
    for split in ("train", "test"):
        records = [r for r in read_split(grid / "data", split)
                   if r.task == route.task and r.meta.source_id in chosen[split]]
        out.append([presented(r, route) for r in records])
    return out[0], out[1]


def presented(record: Record, route: Route) -> Record:
    """The record as the cell's model reads it: a structure input leaves no molecule text in the prompt; a shown
    string modality replaces the task's own input."""
    if route.structure:
        return record.model_copy(update={"input": ""})
    if route.shows:
        return record.model_copy(update={"input": getattr(record.modalities, route.shows) or ""})
    return record


def _write_data(directory: Path, train: Sequence[Record], test: Sequence[Record]) -> None:
    from molbridge.data.parquet_io import write_shard

    for split, records in (("train", train), ("test", test)):
        shard = directory / "data" / f"{split}-00000.parquet"
        if not shard.is_file():
            shard.parent.mkdir(parents=True, exist_ok=True)
            write_shard(shard, records)


def osra_predictions(records: Sequence[Record], task) -> list[Prediction]:
    """OSRA's reading of each test molecule's depiction (`chem.depiction`, 224×224); "" (invalid) where it read
    nothing. OSRA not installed raises MissingResourceError: the cell records that it could not run."""
    from molbridge.chem.depiction import depict_png
    from molbridge.chem.osra import osra_answers
    from molbridge.tasks.answers import answer_kind
    from molbridge.train.examples import example

    made = [example(r, task, None) for r in records]
    answers, _ = osra_answers([(r.id, depict_png(r.modalities.smiles or "")) for r in records])
    kind = answer_kind(task.answer.name)
    rows = []
    for e, raw in zip(made, answers, strict=True):
        answer = kind.extract(raw)
        rows.append(Prediction(e.id, e.task, e.kind, e.group, e.answer, answer, raw, kind.valid(answer), 1,
                               dict(e.meta)))
    return rows


def score_cell(config: GridConfig, route: Route, predictions: Sequence[Prediction], train: Sequence[Record],
               test: Sequence[Record], where: Path) -> dict[str, dict]:
    """column → {group, model, copy}: the engine's reports of the model and of the copy baseline on the same rows,
    plus retrieval columns ranked from the generated answers."""
    from molbridge.apps.copy_baseline import baseline_predictions
    from molbridge.apps.scoring import score_predictions
    from molbridge.eval.scorers import TextScoring

    baseline = baseline_predictions(predictions, train, test)
    write_predictions(where / "baseline.jsonl", baseline)
    text = TextScoring(convention="molt5" if config.text_tokenizer else None, tokenizer=config.text_tokenizer)
    model_reports, copy_reports = score_predictions(predictions, text), score_predictions(baseline, text)
    columns = {}
    for group, report in model_reports.items():
        column = group.split(":", 1)[1] if ":" in group else route.output
        columns[column] = {"group": group, "model": _with_exact(report, predictions, route),
                           "copy": _with_exact(copy_reports[group], baseline, route)}
    if route.ranks is not None:
        rank = RANKERS[route.ranks]
        columns[route.ranks] = {"group": route.ranks, "model": rank(predictions).to_dict(),
                                "copy": rank(baseline).to_dict()}
    return columns


def _with_exact(report: MetricReport, rows: Sequence[Prediction], route: Route) -> dict:
    """The report as JSON; an IUPAC name is also scored by exact string match (SLM4Mol's rule)."""
    if route.output == "iupac":
        from molbridge.eval.bootstrap import mean_metric

        report.metrics["exact_match"] = mean_metric(np.array([float(p.prediction.strip() == p.reference.strip())
                                                              for p in rows]))
    return report.to_dict()


def caption_retrieval(rows: Sequence[Prediction]) -> MetricReport:
    """Molecule → text: each generated caption ranks every test caption by BM25 (the right one is its own row's)."""
    from molbridge.eval.retrieval_metrics import retrieval_report
    from molbridge.retrieval.bm25 import BM25Index

    index = BM25Index.build([str(i) for i in range(len(rows))], [p.reference for p in rows])
    scores = np.stack([index.scores(p.prediction) if p.prediction.strip() else np.zeros(len(rows)) for p in rows])
    return retrieval_report(scores, ks=(1, 5, 10), task="mol2text_retrieval")


def molecule_retrieval(rows: Sequence[Prediction]) -> MetricReport:
    """Text → molecule: each generated molecule ranks every test molecule by Morgan Tanimoto (an invalid answer
    ranks its own molecule last among ties: pessimistic)."""
    from molbridge.chem.fingerprints import morgan_bits, tanimoto
    from molbridge.chem.parse import to_mol_or_none
    from molbridge.eval.retrieval_metrics import retrieval_report

    references = [morgan_bits(mol) if (mol := to_mol_or_none(p.reference)) is not None else None for p in rows]
    scores = np.zeros((len(rows), len(rows)))
    for i, p in enumerate(rows):
        mol = to_mol_or_none(p.prediction) if p.valid else None
        if mol is not None:
            answer = morgan_bits(mol)
            scores[i] = [tanimoto(answer, reference) if reference is not None else 0.0 for reference in references]
    return retrieval_report(scores, ks=(1, 5, 10), task="text2mol_retrieval")


RANKERS = {"mol2text_retrieval": caption_retrieval, "text2mol_retrieval": molecule_retrieval}  # by `Route.ranks`
