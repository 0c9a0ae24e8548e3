"""The grid's results from its cells on disk: the table, the modality transition matrices and the IUPAC → caption
token association, written as `results.json` and `results.md` in the grid directory.

- **table**: one row per (cell, column): status, N, the headline metric with its interval for the model and for the
  copy baseline on the same rows, the training budget, steps and tokens seen; a failed cell's error.
- **matrices** (`eval.modality_matrix`): per model, raw headline scores (input × column), min–max normalised per
  column and row-stochastic; `best` takes each (input, column)'s best learned model, `copy` the copy baselines.
- **association** (`eval.token_association`): over the IUPAC → caption cell's test answers (the LLM's, else the
  first model's that finished), token lists chosen on the training pairs by document frequency.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from molbridge.apps.mm_cells import cell_dir
from molbridge.apps.mm_config import GridConfig
from molbridge.apps.mm_routes import INPUTS, OUTPUTS
from molbridge.atomic import write_json, write_text

Cell = tuple[str, str, str]
WORDS = re.compile(r"[a-z0-9]+")


def cell_outcomes(out: Path, grid: Sequence[Cell]) -> list[dict]:
    """Each cell's result, recorded error, or {"status": "missing"} (never run or interrupted)."""
    outcomes = []
    for output, source, model in grid:
        where = cell_dir(out, output, source, model)
        for name in ("result.json", "error.json"):
            if (where / name).is_file():
                outcomes.append(json.loads((where / name).read_text()))
                break
        else:
            outcomes.append({"cell": where.name, "output": output, "input": source, "model": model,
                             "status": "missing"})
    return outcomes


def table_rows(outcomes: Sequence[dict]) -> list[dict]:
    rows = []
    for cell in outcomes:
        base = {k: cell[k] for k in ("cell", "input", "output", "model", "status")}
        if cell["status"] != "done":
            rows.append(base | {"error": f"{cell.get('error', '')}: {cell.get('message', '')}".strip(": ")})
            continue
        training = cell.get("training") or {}
        for column, scored in cell["columns"].items():
            metric = OUTPUTS[column].metric
            rows.append(base | {
                "column": column, "metric": metric, "n": scored["model"]["n"],
                "score": _value(scored["model"], metric), "copy_score": _value(scored["copy"], metric),
                "higher_better": OUTPUTS[column].higher_better, "budget_minutes": cell.get("budget_minutes"),
                "steps": training.get("steps"), "tokens_seen": training.get("tokens_seen"),
                "seconds": cell.get("seconds")})
    return rows


def _value(report: dict, metric: str) -> dict:
    detail = report["details"].get(metric, {})
    return {"value": detail.get("value"), "ci_low": detail.get("ci_low"), "ci_high": detail.get("ci_high")}


def matrices(rows: Sequence[dict], models: Sequence[str]) -> dict[str, dict]:
    """name → transition matrix (as JSON): one per model, `best` over the models, and `copy`."""
    from molbridge.eval.modality_matrix import transition_matrix

    scores: dict[str, dict[tuple[str, str], float]] = {name: {} for name in (*models, "best", "copy")}
    for row in rows:
        if row["status"] != "done" or row["score"]["value"] is None:
            continue
        key, sign, value = (row["input"], row["column"]), 1 if row["higher_better"] else -1, row["score"]["value"]
        scores[row["model"]][key] = value
        best = scores["best"].get(key)
        scores["best"][key] = value if best is None or sign * value > sign * best else best
        if row["copy_score"]["value"] is not None:
            scores["copy"][key] = row["copy_score"]["value"]
    higher = {name: o.higher_better for name, o in OUTPUTS.items()}
    inputs = [i for i in INPUTS if any(k[0] == i for found in scores.values() for k in found)]
    columns = [c for c in OUTPUTS if any(k[1] == c for found in scores.values() for k in found)]
    return {name: transition_matrix(found, higher, inputs=inputs, tasks=columns).to_dict()
            for name, found in scores.items() if found}


def association(config: GridConfig, out: Path, grid: Sequence[Cell]) -> dict | None:
    """The IUPAC → caption analysis of the first finished IUPAC → caption cell (the LLM's first), or None."""
    from molbridge.apps.predict import read_predictions_file
    from molbridge.data.parquet_io import read_split
    from molbridge.eval.token_association import associate

    chosen = sorted((c for c in grid if c[:2] == ("caption", "iupac")), key=lambda c: c[2] != "llm")
    for cell in chosen:
        where = cell_dir(out, *cell)
        if not (where / "result.json").is_file():
            continue
        test = {r.id: r.input for r in read_split(where / "data", "test")}
        answered = [p for p in read_predictions_file(where / "predictions.jsonl") if p.id in test]
        train = read_split(where / "data", "train")
        tokenize = association_tokenizer(config.text_tokenizer)
        found = associate([test[p.id] for p in answered], [p.prediction for p in answered], tokenize,
                          k=config.association_tokens, reference_sources=[r.input for r in train],
                          reference_outputs=[r.output for r in train], seed=config.seed)
        return {"cell": where.name, "pairs_n": len(answered), "rule": "frequency (training pairs)",
                "tokenizer": config.text_tokenizer or "lower-cased letters and digits",
                "rows": found.rows, "columns": found.columns, "normalised": found.normalised.tolist(),
                "threshold": found.threshold, "z_max": float(np.max(found.z_scores)),
                "pairs": [list(p) for p in found.pairs]}
    return None


def association_tokenizer(text_tokenizer: str | None):
    """The configured text tokenizer's tokens (SciBERT's WordPiece, lower-cased as scoring reads them), else runs
    of letters and digits."""
    if text_tokenizer is None:
        return lambda text: WORDS.findall(text.lower())
    from molbridge.eval.text_tokenize import make_tokenizer

    tokenize = make_tokenizer(text_tokenizer, 512)
    return lambda text: tokenize([text])[0]


def collect(config: GridConfig, out: str | Path, grid: Sequence[Cell]) -> dict:
    """Everything the grid's cells on disk show, written to results.json and results.md; returns it."""
    out = Path(out)
    outcomes = cell_outcomes(out, grid)
    rows = table_rows(outcomes)
    results = {"name": config.name, "budget_minutes": config.budget_minutes, "models": config.models,
               "cells": {status: sum(c["status"] == status for c in outcomes) for status in ("done", "failed",
                                                                                             "missing")},
               "table": rows, "matrices": matrices(rows, config.models),
               "association": association(config, out, grid)}
    write_json(out / "results.json", results)
    write_text(out / "results.md", markdown(results))
    return results


def shown_value(value: dict) -> str:
    if value["value"] is None:
        return "—"
    interval = f" [{value['ci_low']:.3f}, {value['ci_high']:.3f}]" if value["ci_low"] is not None else ""
    return f"{value['value']:.3f}{interval}"


def markdown(results: dict) -> str:
    """The results table and the best-model matrix as Markdown (BENCHMARKS.md takes it as it is)."""
    lines = ["| input → output | model | metric | N | model [95% CI] | copy [95% CI] | steps | tokens seen | s |",
             "|---|---|---|---|---|---|---|---|---|"]
    for row in results["table"]:
        if row["status"] != "done":
            lines.append(f"| {row['input']} → {row['output']} | {row['model']} | — | — | **{row['status']}**: "
                         f"{row.get('error', '')} | | | | |")
            continue
        steps, tokens = (("—" if row[k] is None else row[k]) for k in ("steps", "tokens_seen"))
        lines.append(f"| {row['input']} → {row['column']} | {row['model']} | {row['metric']} | {row['n']} | "
                     f"{shown_value(row['score'])} | {shown_value(row['copy_score'])} | {steps} | {tokens} | "
                     f"{row['seconds']:.0f} |")
    for name in ("best", "copy"):
        matrix = results["matrices"].get(name)
        if matrix:
            lines += ["", f"Modality matrix ({name}; raw headline metric / min–max normalised per column):", "",
                      "| input | " + " | ".join(matrix["tasks"]) + " |", "|---" * (len(matrix["tasks"]) + 1) + "|"]
            for i, source in enumerate(matrix["inputs"]):
                cells = [("—" if raw is None else f"{raw:.3f} / {norm:.2f}")
                         for raw, norm in zip(matrix["raw"][i], matrix["normalised"][i], strict=True)]
                lines.append(f"| {source} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
