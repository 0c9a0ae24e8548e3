"""SEPIT on 2 CPU cores: protein soft tokens vs the sequence as text, MoE vs dense at equal wall-clock.

    python benchmarks/bench_sepit.py [--budget-minutes 4] [--proteins 1500] [--yes-no 200] [--described 30]
                                     [--soft-token-minutes 2]

On UniProt/GO proteins (one per 50%-identity MMseqs2 cluster, split by cluster), tasks
`protein_go_yes_no` (one true and one unrelated false GO function per protein) and
`protein_description`, SmolLM2-135M-Instruct with LoRA r 8:
(a) stage 1 (structure-aware ESM-2-architecture encoder, trained from scratch, 16 Q-Former queries as
    soft tokens) for one budget, then either (dense) stage 1 for a second budget or (MoE) stage 2 — stage
    1's adapter merged, 4 experts top-1, fresh adapter and routers — for the same second budget: equal
    wall-clock, equal activated parameters. Against: the sequence as text (LoRA, no encoder) for both
    budgets, the majority class, and the copy baseline (the nearest training protein by MMseqs2: its
    description; for a yes/no question, whether it has the asked term). Held-out yes/no accuracy
    (invalid = wrong) and description scores (the engine's default convention), with 95% bootstrap
    intervals, all on the same rows.
(b) Soft tokens per protein in stage 1: every residue through the MLP projector (SEPIT) vs 16 Q-Former
    queries, each trained from scratch for `--soft-token-minutes`: steps, proteins/s, LLM tokens per example.
(c) The encoder's MLM pre-training throughput (residues/s) for one minute.
UniProt/GO proteins have no structures offline, so sequence-only vs structure-biased cannot be compared
here: every protein reads with no bias (structure dropout irrelevant).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from datetime import date
from pathlib import Path

import torch

from molbridge.apps.copy_baseline import baseline_predictions
from molbridge.apps.predict import predict
from molbridge.apps.scoring import score_predictions
from molbridge.apps.trained_runs import load_for_prediction
from molbridge.data.parquet_io import read_split
from molbridge.models.moe import parameter_counts
from molbridge.train.config import TrainConfig
from molbridge.train.examples import prediction_examples
from molbridge.train.loop import train
from report import built_dataset, write_section  # benchmarks/ is the script's directory, on sys.path

REPO = Path(__file__).resolve().parents[1]
COMMAND = "python benchmarks/bench_sepit.py"
TASKS = ["protein_go_yes_no", "protein_description"]
ENCODER = {"layers": 4, "hidden": 128, "heads": 4, "ffn": 256, "kernels": 64}
BATCH = 8  # examples per training step, every system
QFORMER = {"queries": 16, "hidden_size": 128, "layers": 2, "heads": 4, "intermediate_size": 256}
LORA = {"r": 8, "alpha": 32, "dropout": 0.05, "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj",
                                                                  "up_proj", "down_proj"]}


def dataset(work: Path, proteins: int) -> Path:
    return built_dataset(work / "data", "bench-sepit", [{"kind": "uniprot_go", "limit": proteins, "tasks": TASKS,
                                                         "cluster": {"min_seq_id": 0.5, "coverage": 0.8}}])


def run(data: Path, out: Path, budget: float, multimodal: dict | None, moe: dict | None = None,
        max_length: int = 512) -> TrainConfig:
    config = TrainConfig(task="instructions", data={"dataset": str(data), "tasks": TASKS, "eval_examples": 0},
                         multimodal=multimodal, moe=moe, lora=LORA, max_length=max_length, batch_size=BATCH,
                         learning_rate=5e-4, max_steps=20000, budget_minutes=budget, eval_every=0, save_every=50,
                         tensorboard=False, out=str(out))
    train(config)
    return config


def scored(config: TrainConfig, yes_no: int, described: int) -> tuple[dict, list]:
    model, tokenizer, _, make = load_for_prediction(Path(config.out), config)
    examples = prediction_examples(config, tokenizer, split="test", build=make)
    chosen = [e for e in examples if e.task == "protein_go_yes_no"][:yes_no]
    chosen += [e for e in examples if e.task == "protein_description"][:described]
    predictions = predict(model, tokenizer, chosen, batch_size=8)
    reports = score_predictions(predictions)
    truth = [p.reference.strip().lower().rstrip(".") for p in predictions if p.task == "protein_go_yes_no"]
    majority = max(truth.count("yes"), truth.count("no")) / max(len(truth), 1)
    state = json.loads((Path(config.out) / "train_state.json").read_text())
    llm = getattr(model, "llm", model)
    total, active = parameter_counts(llm)
    return {"reports": {group: report.to_dict() for group, report in reports.items()},
            "steps": state["steps"], "tokens_per_s": state["real_tokens_per_s"], "llm_total": total,
            "llm_active": active, "majority": majority}, predictions


def copy_nearest(data: Path, predictions: list) -> dict:
    """The copy baseline on the rows the models answered."""
    rows = baseline_predictions(predictions, read_split(data, "train"), read_split(data, "test"))
    return {"reports": {group: report.to_dict() for group, report in score_predictions(rows).items()},
            "answered": sum(bool(r.raw) for r in rows), "rows": len(rows)}


def soft_token_cost(data: Path, work: Path, minutes: float) -> dict:
    """Stage 1 from scratch with every residue as a soft token (MLP) vs 16 Q-Former queries, same budget."""
    costs = {}
    for name, projector, settings in (("every residue (MLP, as SEPIT)", "mlp", {}),
                                    (f"{QFORMER['queries']} Q-Former queries", "qformer", QFORMER)):
        multimodal = {"stage": "llm", "encoder": "esm_structure", "encoder_settings": ENCODER,
                      "projector": projector, "projector_settings": settings, "train_encoder": True}
        out = work / f"soft-{projector}"
        run(data, out, minutes, multimodal, max_length=1200)  # room for every residue
        state = json.loads((out / "train_state.json").read_text())
        costs[name] = {"steps": state["steps"], "seconds": state["seconds"],
                       "examples_per_s": state["steps"] * BATCH / state["seconds"],
                       "tokens_per_example": state["real_tokens"] / max(state["steps"] * BATCH, 1),
                       "left_out": state["left_out"]}
    return costs


def mlm_throughput(data: Path, out: Path) -> dict:
    config = TrainConfig(task="instructions", data={"dataset": str(data), "tasks": TASKS[:1], "eval_examples": 0},
                         multimodal={"stage": "mlm", "encoder": "esm_structure", "encoder_settings": ENCODER},
                         max_length=1024, batch_size=BATCH, learning_rate=5e-4, max_steps=20000, budget_minutes=1.0,
                         eval_every=0, save_every=50, tensorboard=False, out=str(out))
    result = train(config)
    return {"steps": result.steps, "seconds": result.seconds, "residues_per_s": result.real_tokens_per_s}


def _metric(report: dict, name: str) -> str:
    value = report["details"].get(name) if "details" in report else None
    if not value or value.get("value") is None:
        return "—"
    return f"{value['value']:.3f} [{value['ci_low']:.3f}, {value['ci_high']:.3f}]"


def render(args, results: dict) -> str:
    lines = ["## SEPIT on CPU (`benchmarks/bench_sepit.py`)\n",
             f"Run {date.today()} with `{COMMAND} --budget-minutes {args.budget_minutes} --proteins {args.proteins} "
             f"--yes-no {args.yes_no} --described {args.described} "
             f"--soft-token-minutes {args.soft_token_minutes}` on {os.cpu_count()} cores, Python "
             f"{platform.python_version()}, torch {torch.__version__}. Budget: {args.budget_minutes} minutes a "
             f"stage; every system trains for {2 * args.budget_minutes} minutes in all. Encoder: ESM-2 architecture "
             f"{ENCODER['layers']} × {ENCODER['hidden']} from scratch, Q-Former with {QFORMER['queries']} queries; "
             "SmolLM2-135M-Instruct, LoRA r 8. Held-out proteins share no 50%-identity cluster with training.\n",
             "| system | steps (last run) | LLM params total / active | yes/no N | yes/no accuracy | "
             "description N | BLEU-4 | ROUGE-L |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for system, row in results["systems"].items():
        yes_no = row["reports"].get("protein_go_yes_no", {})
        text = row["reports"].get("protein_description", {})
        lines.append(f"| {system} | {row['steps']} | {row['llm_total'] / 1e6:.1f} M / {row['llm_active'] / 1e6:.1f} M "
                     f"| {yes_no.get('n', 0)} | {_metric(yes_no, 'accuracy')} | {text.get('n', 0)} | "
                     f"{_metric(text, 'bleu4')} | {_metric(text, 'rougeL')} |")
    copied = results["copy"]
    yes_no, text = copied["reports"].get("protein_go_yes_no", {}), copied["reports"].get("protein_description", {})
    lines.append(f"| copy the nearest training protein (MMseqs2) | | | {yes_no.get('n', 0)} | "
                 f"{_metric(yes_no, 'accuracy')} | {text.get('n', 0)} | {_metric(text, 'bleu4')} | "
                 f"{_metric(text, 'rougeL')} |")
    majority = next(iter(results["systems"].values()))["majority"]
    lines.append(f"| majority class | | | | {majority:.3f} | | | |")
    hit = yes_no.get("details", {}).get("accuracy", {})
    lines += ["", f"The copy baseline found a training protein for {copied['answered']} of {copied['rows']} rows "
              "(a row without a hit is counted wrong); on the yes/no rows with a hit its accuracy is "
              f"{hit.get('valid_only', float('nan')):.3f} (n = {hit.get('n_valid', 0)}).", "",
              f"Soft tokens per protein, stage 1 from scratch for {args.soft_token_minutes} minutes each "
              "(same encoder, LLM and LoRA):", "",
              "| soft tokens | steps | proteins/s | LLM tokens per example | left out (too long) |",
              "|---|---:|---:|---:|---:|"]
    for name, cost in results["soft_tokens"].items():
        lines.append(f"| {name} | {cost['steps']} | {cost['examples_per_s']:.2f} | "
                     f"{cost['tokens_per_example']:.0f} | {cost['left_out']} |")
    mlm = results["mlm"]
    lines += ["", f"Encoder MLM pre-training: {mlm['steps']} steps in {mlm['seconds']:.0f} s, "
              f"{mlm['residues_per_s']:,.0f} residues/s.", ""]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget-minutes", type=float, default=4.0)
    parser.add_argument("--proteins", type=int, default=1500)
    parser.add_argument("--yes-no", type=int, default=200)
    parser.add_argument("--described", type=int, default=30)
    parser.add_argument("--soft-token-minutes", type=float, default=2.0)
    parser.add_argument("--work", type=Path, default=REPO / "runs" / "bench-sepit")
    parser.add_argument("--target", type=Path, default=REPO / "BENCHMARKS.md")
    args = parser.parse_args()
    work, budget = args.work, args.budget_minutes
    work.mkdir(parents=True, exist_ok=True)
    data = dataset(work, args.proteins)
    soft = {"stage": "llm", "encoder": "esm_structure", "encoder_settings": ENCODER, "projector": "qformer",
            "projector_settings": QFORMER, "train_encoder": True}
    run(data, work / "stage1", budget, soft)
    after = {"stage": "llm", "projector": "qformer", "init_from": str(work / "stage1" / "final")}
    systems = {
        "sequence as text (LoRA)": run(data, work / "text", 2 * budget, None),
        "stage 1, then stage 1 again (dense)": run(data, work / "dense", budget, after),
        "stage 1, then stage 2 (MoE 4 × top-1)": run(data, work / "moe", budget, after,
                                                     {"experts": 4, "top_k": 1, "balance_weight": 0.01}),
    }
    results: dict = {"systems": {}}
    for name, config in systems.items():  # written as each finishes: a later failure keeps what was measured
        results["systems"][name], predictions = scored(config, args.yes_no, args.described)
        results.setdefault("copy", copy_nearest(data, predictions))
        (work / "results.json").write_text(json.dumps(results, indent=1))
    results["soft_tokens"] = soft_token_cost(data, work, args.soft_token_minutes)
    (work / "results.json").write_text(json.dumps(results, indent=1))
    results["mlm"] = mlm_throughput(data, work / "mlm")
    (work / "results.json").write_text(json.dumps(results, indent=1))
    write_section("bench_sepit", render(args, results), args.target)
    print(f"wrote {args.target}")


if __name__ == "__main__":
    main()
