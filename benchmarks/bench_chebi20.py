"""ChEBI-20 val→test: SFT- and ICMA-tuned SmolLM2-135M vs the copy baselines, with intervals; BENCHMARKS.md.

    python benchmarks/bench_chebi20.py [--subset 50] [--budget-minutes 10]

Protocol (../shared/REFERENCE.md §C): the 3,300 validation records are the training set and the
retrieval pool, the test set is scored. Both models are LoRA adapters (r 16) on SmolLM2-135M-Instruct
trained for the same wall-clock budget on both directions at once: SFT with ICMA's one-line request,
ICMA with each record's 2 nearest other validation records in the prompt (Morgan for molecule →
caption, BM25 for caption → molecule). Predictions are greedy, on a fixed seeded subset of the
test set (the same subset as `bench_retrieval_quality.py --subset`); the copy baselines (nearest
validation record's answer) are scored on that subset too, and on all 3,300 test records for
reference. Scores: MolT5's convention (SciBERT tokenizer for captions), 95% bootstrap intervals.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import torch

from molbridge.apps.predict import predict, write_predictions
from molbridge.data.formats.chebi20_tables import records_from_chebi20
from molbridge.eval.conventions import get_convention
from molbridge.eval.engine import score_file
from molbridge.eval.mol_metrics import score_text2mol
from molbridge.eval.text_metrics import score_mol2text
from molbridge.retrieval.baselines import copy_predictions
from molbridge.retrieval.icl import fixed_subset
from molbridge.tasks import TASKS
from molbridge.train.config import TrainConfig
from molbridge.train.examples import prediction_examples
from molbridge.train.loop import train
from molbridge.train.modeling import load_trained
from report import (
    write_section,  # benchmarks/ is the script's directory, hence on sys.path
)

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MOLBRIDGE_SHARED", REPO.parent / "shared")) / "data"
SCIBERT = SHARED / "tokenizers" / "scibert_scivocab_uncased"
COMMAND = "python benchmarks/bench_chebi20.py"
MOL2TEXT = ("bleu2", "bleu4", "rouge1", "rouge2", "rougeL", "meteor")
TEXT2MOL = ("bleu", "exact_match", "levenshtein", "validity", "maccs_fts", "morgan_fts")


def tuned(task: str, args, work: Path) -> tuple[dict, dict]:
    """Train one model for the budget, predict the subset, score both directions."""
    config = TrainConfig(task=task, data={"train": str(SHARED / "chebi20" / "validation.txt"),
                                          "eval": str(SHARED / "chebi20" / "test.txt"), "eval_examples": 0, "k": 2},
                         max_length=512, batch_size=8, learning_rate=5e-4, warmup_ratio=0.05, max_steps=5000,
                         budget_minutes=args.budget_minutes, eval_every=0, save_every=20, tensorboard=False,
                         out=str(work / task))
    result = train(config)
    model, tokenizer, _ = load_trained(work / task)
    examples = prediction_examples(config, tokenizer, test=str(SHARED / "chebi20" / "test.txt"),
                                   per_task=args.subset)
    started = time.perf_counter()
    predictions = predict(model, tokenizer, examples, max_new_tokens=128, batch_size=8)
    predict_s = time.perf_counter() - started
    paths = write_predictions(work / f"{task}.jsonl", predictions)
    scores = {}
    for path in paths[1:]:
        direction = path.suffixes[-2].lstrip(".")
        report, _ = score_file(path, direction, convention="molt5", text_tokenizer=str(SCIBERT))
        scores[direction] = report
    info = {"steps": result.steps, "train_s": result.seconds, "tokens_per_s": result.real_tokens_per_s,
            "examples": result.train_examples, "left_out": result.left_out, "predict_s": predict_s,
            "epochs": result.steps * 8 / max(result.train_examples, 1)}
    return scores, info


def copies(test, pool) -> dict:
    """Each direction's copy baseline (its task's copy retriever), scored by its task's scorer family."""
    conv = get_convention("molt5", text_tokenizer=str(SCIBERT))
    score = {"text": score_mol2text, "molecule": score_text2mol}
    out = {}
    for direction in ("mol2text", "text2mol"):
        task = TASKS.get(direction)
        rows, _ = copy_predictions(task, task.copy or "random", pool, test)
        out[direction] = score[task.family]([r[1] for r in rows], [r[2] for r in rows], conv)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subset", type=int, default=50)
    parser.add_argument("--budget-minutes", type=float, default=10.0)
    parser.add_argument("--target", type=Path, default=REPO / "BENCHMARKS.md")
    args = parser.parse_args()
    pool = records_from_chebi20(SHARED / "chebi20" / "validation.txt")
    test = records_from_chebi20(SHARED / "chebi20" / "test.txt")
    subset = fixed_subset(test, args.subset, seed=0)
    rows = {"copy (Morgan / BM25), full test": copies(test, pool), "copy (Morgan / BM25), subset": copies(subset, pool)}
    infos = {}
    work = Path(tempfile.mkdtemp(prefix="molbridge-bench-chebi20-"))
    try:
        for task in ("sft", "icma"):
            scores, info = tuned(task, args, work)
            rows[f"SmolLM2-135M + LoRA, {task.upper()}, subset"] = scores
            infos[task] = info
            print(task, info, {d: r.values() for d, r in scores.items()}, file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    write_section("bench_chebi20", render(args, rows, infos), args.target)
    print(f"wrote {args.target}", file=sys.stderr)


def _cell(report, name: str) -> str:
    m = report.metrics[name]
    if m.value != m.value:  # NaN: no valid molecule to compare
        return "—"
    ci = f" [{m.ci_low:.3f}, {m.ci_high:.3f}]" if m.ci_low is not None else ""
    return f"{m.value:.3f}{ci}"


def render(args, rows: dict, infos: dict) -> str:
    lines = [
        "## ChEBI-20 val→test: tuned SmolLM2 vs copy baselines (`benchmarks/bench_chebi20.py`)", "",
        f"Run {date.today()} with `{COMMAND} --subset {args.subset} --budget-minutes {args.budget_minutes:g}` on "
        f"{os.cpu_count()} cores (CPU only), Python {platform.python_version()}, torch {torch.__version__}. Training "
        "set and pool: ChEBI-20 validation (3,300); scored: a fixed seeded subset of "
        f"{args.subset} test records (seed 0), each model trained for the same {args.budget_minutes:g}-minute budget "
        "on both directions. MolT5 convention (SciBERT captions), 95% bootstrap intervals; invalid SMILES lower "
        "validity, and the fingerprint similarities are MolT5's valid-only values.", "",
        "Training: " + "; ".join(
            f"{task.upper()} {i['steps']} steps ({i['epochs']:.2f} epochs of {i['examples']:,} examples, "
            f"{i['left_out']} over 512 tokens left out), {i['tokens_per_s']:.0f} real tokens/s, prediction "
            f"{i['predict_s']:.0f} s" for task, i in infos.items()) + ".", "",
        "Molecule → caption:", "",
        "| system | N | " + " | ".join(MOL2TEXT) + " |", "|---|---:|" + "---:|" * len(MOL2TEXT),
    ]
    for name, scores in rows.items():
        r = scores["mol2text"]
        lines.append(f"| {name} | {r.n} | " + " | ".join(_cell(r, m) for m in MOL2TEXT) + " |")
    lines += ["", "Caption → molecule:", "", "| system | N | " + " | ".join(TEXT2MOL) + " |",
              "|---|---:|" + "---:|" * len(TEXT2MOL)]
    for name, scores in rows.items():
        r = scores["text2mol"]
        lines.append(f"| {name} | {r.n} | " + " | ".join(_cell(r, m) for m in TEXT2MOL) + " |")
    raw = {name: {d: r.values() for d, r in scores.items()} for name, scores in rows.items()}
    lines += ["", "<details><summary>raw values</summary>", "", "```json", json.dumps(raw, indent=1, default=str),
              "```", "</details>", ""]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
