"""Retrieval quality on ChEBI-20 val→test: retrievers × predictors, scored by the engine; writes BENCHMARKS.md.

    python benchmarks/bench_retrieval_quality.py [--shared ../shared] [--subset 100] [--ks 2 4]

Protocol (../shared/REFERENCE.md §C): ChEBI-20 validation is the retrieval pool, test is scored.
Predictors: *copy* (the nearest pool record's answer) on the full test set and on a fixed seeded
test subset, and SmolLM2-135M-Instruct *in context* (greedy, ICMA chat prompt, the top-k
retrieved examples, most similar last) with k = 2 and 4 on that subset. Every prediction file is
scored by `molbridge.eval.engine.score_file` under the MolT5 convention (SciBERT tokens for
captions) with 1,000-resample bootstrap 95% intervals; invalid molecules count as invalid.

The GIN retriever needs the pre-trained encoder (`molbridge retrieve pretrain-gin`, ~4 min).
Prediction files are kept under `--work`, named by a hash of molbridge's source code and every
setting of the row (`report.cache_key`); a rerun of the same code and settings reuses them (the
LLM rows take minutes each on 2 cores), so a killed run resumes, and a row computed by other code
is never reused. Each row's date is the day its predictions were computed. `--fresh` recomputes
everything.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import time
from datetime import date
from pathlib import Path

from molbridge.data.formats.chebi20_tables import records_from_chebi20
from molbridge.eval.engine import score_file
from molbridge.eval.predictions import write_molt5
from molbridge.retrieval.baselines import copy_predictions, retrieve
from molbridge.retrieval.icl import IclSettings, fixed_subset, icl_predictions
from molbridge.tasks import TASKS
from report import cache_key, write_section  # benchmarks/ is the script's directory, hence on sys.path

REPO = Path(__file__).resolve().parents[1]
COMMAND = "python benchmarks/bench_retrieval_quality.py"
RETRIEVERS = {"mol2text": ("random", "morgan", "maccs", "gin"), "text2mol": ("random", "bm25", "minilm")}
COLUMNS = {"mol2text": ("bleu2", "bleu4", "rougeL", "meteor"),
           "text2mol": ("bleu", "exact_match", "validity", "maccs_fts", "morgan_fts")}
CANDIDATES = 10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path(os.environ.get("MOLBRIDGE_SHARED", REPO.parent / "shared")))
    parser.add_argument("--subset", type=int, default=100, help="fixed seeded test subset for the LLM rows")
    parser.add_argument("--ks", type=int, nargs="*", default=[2, 4], help="in-context examples (none: copy only)")
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--work", type=Path, default=Path("/tmp/molbridge-bench/quality"))
    parser.add_argument("--fresh", action="store_true", help="ignore prediction files of an earlier run")
    parser.add_argument("--target", type=Path, default=REPO / "BENCHMARKS.md")
    args = parser.parse_args()
    logging.getLogger("rdkit").setLevel(logging.ERROR)  # RDKit's per-molecule warnings on valid molecules

    data = args.shared / "data"
    pool = records_from_chebi20(data / "chebi20" / "validation.txt")
    test = records_from_chebi20(data / "chebi20" / "test.txt")
    subset = fixed_subset(test, args.subset, seed=0)
    tokenizer_dir = str(data / "tokenizers" / "scibert_scivocab_uncased")
    args.work.mkdir(parents=True, exist_ok=True)
    llm = None
    rows: list[tuple[str, str, str, int, dict, float, str]] = []

    def run(task: str, retriever: str, predictor: str, records, make) -> None:
        key = cache_key(task=task, retriever=retriever, predictor=predictor, records=[r.id for r in records],
                        candidates=CANDIDATES, max_new_tokens=args.max_new_tokens)
        path = args.work / f"{task}-{retriever}-{predictor.replace(' ', '_')}-{len(records)}-{key}.tsv"
        made = path.with_suffix(".json")
        if args.fresh or not path.exists() or not made.exists():
            started = time.perf_counter()
            predictions, _ = make(records)
            write_molt5(path, TASKS.get(task).molt5 or "mol2text", predictions)
            made.write_text(json.dumps({"seconds": time.perf_counter() - started, "date": str(date.today())}))
        timing = json.loads(made.read_text())
        report, _ = score_file(path, task, text_tokenizer=tokenizer_dir, bootstrap=1000)
        rows.append((task, retriever, predictor, report.n, report.metrics, timing["seconds"], timing["date"]))
        print(f"{task:9} {retriever:7} {predictor:12} N={report.n:5} "
              + " ".join(f"{c}={report.metrics[c].value:.4f}" for c in COLUMNS[task]), file=sys.stderr, flush=True)

    for task, retrievers in RETRIEVERS.items():
        for retriever in retrievers:
            def copy(records, task=task, retriever=retriever):
                return copy_predictions(TASKS.get(task), retriever, pool, records, ties="lowest")

            run(task, retriever, "copy", test, copy)
            run(task, retriever, "copy", subset, copy)
            for k in args.ks:
                if llm is None:
                    from molbridge.models.causal_lm import load_causal_lm
                    llm = load_causal_lm()

                def in_context(records, task=task, retriever=retriever, k=k, llm=llm):
                    spec = TASKS.get(task)
                    found = retrieve(spec, retriever, pool, records, CANDIDATES, ties="lowest")
                    # molecule answers in completion style: asked in a chat turn, SmolLM2 answers in prose
                    style = "completion" if spec.answer.family == "molecule" else "chat"
                    settings = IclSettings(k=k, style=style, max_new_tokens=args.max_new_tokens, batch_size=4)
                    model, tokenizer = llm
                    return icl_predictions(spec, pool, records, found, model, tokenizer, settings)

                run(task, retriever, f"SmolLM2 k={k}", subset, in_context)

    write_section("bench_retrieval_quality", render(rows, args, len(test), len(subset)), args.target)
    print(f"wrote {args.target}", file=sys.stderr)


def render(rows, args, n_test: int, n_subset: int) -> str:
    import rdkit
    import torch
    import transformers

    lines = [
        "## Retrieval quality on ChEBI-20 val→test (`benchmarks/bench_retrieval_quality.py`)", "",
        f"Run {date.today()} with `{COMMAND} --subset {args.subset}` on {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, rdkit {rdkit.__version__}, torch {torch.__version__}, transformers "
        f"{transformers.__version__}.",
        f"Pool: ChEBI-20 validation (3,301); scored: the full test set ({n_test:,}) and a fixed subset of "
        f"{n_subset} test records (`fixed_subset(test, {args.subset}, seed=0)`). MolT5 convention (SciBERT "
        "tokens, fingerprint similarities over valid outputs), 95% bootstrap intervals in brackets. "
        "BM25 ties go to the first pool record (`--ties lowest`). In-context rows: SmolLM2-135M-Instruct "
        f"(dequantised Q4_1 GGUF), greedy, at most {args.max_new_tokens} new tokens cut at the first newline, "
        f"ICMA's prompt with the top-k of {CANDIDATES} retrieved examples, most similar last: in a chat turn for "
        "molecule → caption, in completion style (ending in an open \"Molecule:\") for caption → molecule, "
        "where the chat turn makes SmolLM2 answer in prose (validity 0 on a 50-record trial). Seconds: "
        "retrieval + generation for that row on this machine, while other jobs shared the 2 cores; date: the day "
        "the row's predictions were computed (by this code: cached predictions are keyed by a hash of the source).",
        "",
    ]
    for task in RETRIEVERS:
        columns = COLUMNS[task]
        lines += [f"**{TASKS.get(task).description}**", "",
                  "| retriever | predictor | N | " + " | ".join(columns) + " | s | date |",
                  "|---|---|---:|" + "---:|" * len(columns) + "---:|---|"]
        for row_task, retriever, predictor, n, metrics, seconds, made in rows:
            if row_task != task:
                continue
            cells = [_cell(metrics[c]) for c in columns]
            lines.append(f"| {retriever} | {predictor} | {n:,} | " + " | ".join(cells) + f" | {seconds:.0f} | {made} |")
        lines.append("")
    return "\n".join(lines) + "\n"


def _cell(metric) -> str:
    if metric.ci_low is None:
        return f"{metric.value:.3f}"
    return f"{metric.value:.3f} [{metric.ci_low:.3f}, {metric.ci_high:.3f}]"


if __name__ == "__main__":
    main()
