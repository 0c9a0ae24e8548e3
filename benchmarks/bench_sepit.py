"""SEPIT on 2 CPU cores: protein soft tokens vs the sequence as text, MoE vs dense at equal wall-clock.

    python benchmarks/bench_sepit.py [--budget-minutes 4] [--proteins 1500] [--yes-no 200] [--described 30]

On UniProt/GO proteins (one per 50%-identity MMseqs2 cluster, split by cluster), tasks
`protein_go_yes_no` (one true and one unrelated false GO function per protein) and
`protein_description`, SmolLM2-135M-Instruct with LoRA r 8:
(a) stage 1 (structure-aware ESM-2-architecture encoder, trained from scratch, 16 Q-Former queries as
    soft tokens) for one budget, then either (dense) stage 1 for a second budget or (MoE) stage 2 — stage
    1's adapter merged, 4 experts top-1, fresh adapter and routers — for the same second budget: equal
    wall-clock, equal activated parameters. Against: the sequence as text (LoRA, no encoder) for both
    budgets, and the majority class. Held-out yes/no accuracy (invalid = wrong) and description scores
    (the engine's default convention), with 95% bootstrap intervals.
(b) The encoder's MLM pre-training throughput (residues/s) for one minute.
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

from molbridge.apps.predict import predict
from molbridge.apps.scoring import score_predictions
from molbridge.apps.trained_runs import load_for_prediction
from molbridge.models.moe import parameter_counts
from molbridge.train.config import TrainConfig
from molbridge.train.examples import prediction_examples
from molbridge.train.loop import train
from report import built_dataset, write_section  # benchmarks/ is the script's directory, on sys.path

REPO = Path(__file__).resolve().parents[1]
COMMAND = "python benchmarks/bench_sepit.py"
TASKS = ["protein_go_yes_no", "protein_description"]
ENCODER = {"layers": 4, "hidden": 128, "heads": 4, "ffn": 256, "kernels": 64}
QFORMER = {"queries": 16, "hidden_size": 128, "layers": 2, "heads": 4, "intermediate_size": 256}
LORA = {"r": 8, "alpha": 32, "dropout": 0.05, "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj",
                                                                  "up_proj", "down_proj"]}


def dataset(work: Path, proteins: int) -> Path:
    return built_dataset(work / "data", "bench-sepit", [{"kind": "uniprot_go", "limit": proteins, "tasks": TASKS,
                                                         "cluster": {"min_seq_id": 0.5, "coverage": 0.8}}])


def run(data: Path, out: Path, budget: float, multimodal: dict | None, moe: dict | None = None) -> TrainConfig:
    config = TrainConfig(task="instructions", data={"dataset": str(data), "tasks": TASKS, "eval_examples": 0},
                         multimodal=multimodal, moe=moe, lora=LORA, max_length=512, batch_size=8,
                         learning_rate=5e-4, max_steps=20000, budget_minutes=budget, eval_every=0, save_every=50,
                         tensorboard=False, out=str(out))
    train(config)
    return config


def scored(config: TrainConfig, yes_no: int, described: int) -> dict:
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
            "llm_active": active, "majority": majority}


def mlm_throughput(data: Path, out: Path) -> dict:
    config = TrainConfig(task="instructions", data={"dataset": str(data), "tasks": TASKS[:1], "eval_examples": 0},
                         multimodal={"stage": "mlm", "encoder": "esm_structure", "encoder_settings": ENCODER},
                         max_length=1024, batch_size=8, learning_rate=5e-4, max_steps=20000, budget_minutes=1.0,
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
             f"--yes-no {args.yes_no} --described {args.described}` on {os.cpu_count()} cores, Python "
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
    majority = next(iter(results["systems"].values()))["majority"]
    lines.append(f"| majority class | | | | {majority:.3f} | | | |")
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
        results["systems"][name] = scored(config, args.yes_no, args.described)
        (work / "results.json").write_text(json.dumps(results, indent=1))
    results["mlm"] = mlm_throughput(data, work / "mlm")
    (work / "results.json").write_text(json.dumps(results, indent=1))
    write_section("bench_sepit", render(args, results), args.target)
    print(f"wrote {args.target}")


if __name__ == "__main__":
    main()
