"""`molbridge quickstart`: the whole job on one machine — data → index → LoRA tuning → prediction → scores → report.

1. build the mini instruction dataset (`configs/mini-instructions.yaml`; resumes, a rebuild is a no-op);
2. index its training split (Morgan fingerprints / BM25) for the copy-the-nearest-answer baseline;
3. LoRA-tune the model on every task within `budget_minutes` (the cosine schedule is fitted to the budget);
4. answer `per_task` held-out test records of each task, prompted as in training, invalid molecules re-sampled once
   (written chunk by chunk: an interrupted run resumes its predictions);
5. score every task with the engine (intervals, invalid answers counted) next to the copy baseline, which answers
   every one of the same records (a record it cannot answer is scored invalid, never dropped);
6. write `metrics.json`, `predictions.jsonl`, `baseline.jsonl` and `report.html` into `out`.
Every stage resumes: a rerun after an interruption redoes only what is missing.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from molbridge.atomic import write_json
from molbridge.models.causal_lm import DEFAULT_LLM
from molbridge.progress import ProgressFn
from molbridge.train.config import TrainConfig

MINI_CONFIG = Path(__file__).resolve().parents[3] / "configs" / "mini-instructions.yaml"


def quickstart_config(out: Path, model: str, budget_minutes: float, seed: int) -> TrainConfig:
    """The tuning settings: every task, short sequences (proteins over 384 tokens are left out), budget-fitted."""
    return TrainConfig(model=model, task="instructions", data={"dataset": str(out / "data"), "eval_examples": 26},
                       max_length=384, batch_size=8, learning_rate=1e-3, warmup_ratio=0.05, max_steps=2000,
                       budget_minutes=budget_minutes, eval_every=0, save_every=10, seed=seed, out=str(out / "train"),
                       lora={"r": 16, "alpha": 32, "dropout": 0.05})


def quickstart(out: Path, *, budget_minutes: float = 5.0, per_task: int = 12, model: str = DEFAULT_LLM,
               workers: int = 2, build_config: Path = MINI_CONFIG, seed: int = 0,
               progress: ProgressFn | None = None) -> dict:
    """Run every stage into `out`; returns the metrics written to metrics.json. Progress: each stage's events."""
    from molbridge.apps.copy_baseline import baseline_predictions
    from molbridge.apps.predict import predict_to_file, write_predictions
    from molbridge.apps.report import SCAFFOLD_NOTE, ReportPage, training_summary, write_report
    from molbridge.apps.scoring import score_predictions
    from molbridge.data.build.config import load_config
    from molbridge.data.build.pipeline import build
    from molbridge.data.parquet_io import read_split
    from molbridge.train.examples import prediction_examples
    from molbridge.train.loop import train
    from molbridge.train.modeling import load_trained, model_identity

    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}

    started = time.perf_counter()
    build(load_config(build_config), out / "data", workers=workers, progress=progress)
    timings["build_s"] = time.perf_counter() - started

    config = quickstart_config(out, model, budget_minutes, seed)
    started = time.perf_counter()
    result = train(config, progress=progress)
    timings["train_s"] = time.perf_counter() - started

    started = time.perf_counter()
    tuned, tokenizer, info = load_trained(out / "train")
    examples = prediction_examples(config, tokenizer, split="test", per_task=per_task)
    predictions = predict_to_file(out / "predictions.jsonl", tuned, tokenizer, examples, progress=progress,
                                  model_id=model_identity(info), batch_size=8, resample=1,
                                  seed=seed)
    timings["predict_s"] = time.perf_counter() - started

    started = time.perf_counter()
    baseline = baseline_predictions(predictions, read_split(out / "data", "train"), read_split(out / "data", "test"))
    write_predictions(out / "baseline.jsonl", baseline)
    reports = score_predictions(predictions)
    baseline_reports = score_predictions(baseline)
    timings["index_and_score_s"] = time.perf_counter() - started

    metrics = {
        "model": model, "budget_minutes": budget_minutes, "per_task": per_task,
        "training": {k: v for k, v in vars(result).items() if k not in ("evaluations",)},
        "timings_s": {k: round(v, 1) for k, v in timings.items()},
        "tasks": {group: {"model": report.to_dict(), "copy_baseline": baseline_reports[group].to_dict()}
                  for group, report in reports.items()},
    }
    write_json(out / "metrics.json", json.loads(json.dumps(metrics, default=str)))
    summary = training_summary(f"{model}, LoRA", vars(result)) + " Time: " + ", ".join(
        f"{k[:-2]} {v:.0f} s" for k, v in timings.items()) + "."
    write_report(out / "report.html", ReportPage(
        "molbridge quickstart", summary, SCAFFOLD_NOTE.format(n=per_task), reports, baseline_reports, predictions,
        out / "train" / "log.csv", {e.id: e.source for e in examples}))
    return metrics
