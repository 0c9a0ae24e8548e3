"""`molbridge quickstart`: the whole job on one machine — data → index → LoRA tuning → prediction → scores → report.

1. build the mini instruction dataset (`configs/mini-instructions.yaml`; resumes, a rebuild is a no-op);
2. index its training split (Morgan fingerprints / BM25) for the copy-the-nearest-answer baseline;
3. LoRA-tune the model on every task within `budget_minutes` (the cosine schedule is fitted to the budget);
4. answer `per_task` held-out test records of each task, prompted as in training, invalid molecules re-sampled once;
5. score every task with the engine (intervals, invalid answers counted) next to the copy baseline;
6. write `metrics.json`, `predictions.jsonl`, `baseline.jsonl` and `report.html` into `out`.
Every stage resumes: a rerun after an interruption redoes only what is missing.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import replace
from pathlib import Path

from molbridge.models.causal_lm import DEFAULT_LLM
from molbridge.train.config import TrainConfig

log = logging.getLogger(__name__)

MINI_CONFIG = Path(__file__).resolve().parents[3] / "configs" / "mini-instructions.yaml"


def quickstart_config(out: Path, model: str, budget_minutes: float, seed: int) -> TrainConfig:
    """The tuning settings: every task, short sequences (proteins over 384 tokens are left out), budget-fitted."""
    return TrainConfig(model=model, task="instructions", data={"dataset": str(out / "data"), "eval_examples": 26},
                       max_length=384, batch_size=8, learning_rate=1e-3, warmup_ratio=0.05, max_steps=2000,
                       budget_minutes=budget_minutes, eval_every=0, save_every=10, seed=seed, out=str(out / "train"),
                       lora={"r": 16, "alpha": 32, "dropout": 0.05})


def quickstart(out: Path, *, budget_minutes: float = 5.0, per_task: int = 12, model: str = DEFAULT_LLM,
               workers: int = 2, build_config: Path = MINI_CONFIG, seed: int = 0, show_progress: bool = True) -> dict:
    """Run every stage into `out`; returns the metrics written to metrics.json."""
    from molbridge.data.build.config import load_config
    from molbridge.data.build.pipeline import build
    from molbridge.train.loop import train
    from molbridge.train.modeling import load_trained
    from molbridge.train.predict import predict, write_predictions
    from molbridge.train.report import write_report
    from molbridge.train.scoring import score_predictions

    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}

    started = time.perf_counter()
    build(load_config(build_config), out / "data", workers=workers)
    timings["build_s"] = time.perf_counter() - started

    config = quickstart_config(out, model, budget_minutes, seed)
    started = time.perf_counter()
    result = train(config, show_progress=show_progress)
    timings["train_s"] = time.perf_counter() - started

    started = time.perf_counter()
    tuned, tokenizer, _ = load_trained(out / "train")
    from molbridge.train.examples import prediction_examples

    examples = prediction_examples(config, tokenizer, split="test", per_task=per_task)
    predictions = predict(tuned, tokenizer, examples, batch_size=8, resample=1, seed=seed)
    write_predictions(out / "predictions.jsonl", predictions)
    timings["predict_s"] = time.perf_counter() - started

    started = time.perf_counter()
    baseline = _baseline(out / "data", predictions)
    write_predictions(out / "baseline.jsonl", baseline)
    reports = score_predictions(predictions)
    baseline_reports = score_predictions(baseline)
    timings["index_and_score_s"] = time.perf_counter() - started

    metrics = {
        "model": model, "budget_minutes": budget_minutes, "per_task": per_task,
        "training": {k: v for k, v in vars(result).items() if k not in ("evaluations",)},
        "timings_s": {k: round(v, 1) for k, v in timings.items()},
        "tasks": {group: {"model": report.to_dict(), "copy_baseline": baseline_reports[group].to_dict()
                          if group in baseline_reports else None} for group, report in reports.items()},
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2, default=str) + "\n")
    write_report(out / "report.html", metrics, reports, baseline_reports, predictions, out / "train" / "log.csv",
                 {e.id: e.source for e in examples})
    return metrics


def _baseline(dataset: Path, predictions):
    """The copy baseline's answer for each predicted test record that has one (scored the same way)."""
    from molbridge.data.parquet_io import read_shard
    from molbridge.train.copy_baseline import copy_answers
    from molbridge.train.extract import extract, is_valid

    wanted = {p.id for p in predictions}
    train = [r for shard in sorted((dataset / "data").glob("train-*.parquet")) for r in read_shard(shard)]
    test = [r for shard in sorted((dataset / "data").glob("test-*.parquet")) for r in read_shard(shard)
            if r.id in wanted]
    copied = copy_answers(train, test)
    rows = []
    for p in predictions:
        if p.id in copied:
            answer = extract(p.kind, copied[p.id])
            rows.append(replace(p, prediction=answer, raw=copied[p.id], valid=is_valid(p.kind, answer), attempts=1))
    return rows
