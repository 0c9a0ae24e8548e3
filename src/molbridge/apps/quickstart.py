"""`molbridge quickstart`: the whole job on one machine — data → LoRA tuning → prediction → scores → report.

1. build the quickstart dataset (`configs/quickstart-data.yaml`; resumes, a rebuild is a no-op);
2. LoRA-tune the model on every task within `budget_minutes` (the cosine schedule is fitted to the budget),
   each prompt holding its `neighbours` nearest training records of the same group with their answers
   (retrieval-augmented prompts, `train.neighbours`; 0: plain prompts);
3. answer `per_task` held-out test records of each group, prompted as in training, greedily, decoding up to the
   length the group's training answers fit in (written chunk by chunk: resumes); an invalid answer is scored as
   such, not re-sampled (`molbridge predict --resample` does that, at the cost of another pass);
4. the copy baseline answers every one of the same records (a record it cannot answer is scored invalid);
5. score both with the engine (intervals, invalid answers counted);
6. write `metrics.json`, `predictions.jsonl`, `baseline.jsonl` and `report.html` (a verdict per group on top,
   the time of every phase) into `out`.
Every phase reports progress (stage "quickstart": phases done, and the phase's own events) and its time.
Every stage resumes: a rerun after an interruption redoes only what is missing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from molbridge.atomic import write_json
from molbridge.models.causal_lm import DEFAULT_LLM
from molbridge.progress import ProgressFn, report
from molbridge.train.config import TrainConfig

QUICKSTART_DATA = Path(__file__).resolve().parents[3] / "configs" / "quickstart-data.yaml"
PHASES = ("build", "train", "predict", "copy baseline", "score", "report")
# one batch holds a whole group of 12 (each group decodes to its own fitted length): decoding on a CPU is bound by
# reading the weights, so a step of 16 rows costs little more than one of 8, and half the batches are half the steps
GENERATION_BATCH = 16


def quickstart_config(out: Path, model: str, budget_minutes: float, seed: int, neighbours: int) -> TrainConfig:
    """The tuning settings: every task (at most 300 training records each: a few minutes see a few hundred
    examples in all), each prompt with `neighbours` retrieved examples, short sequences, budget-fitted."""
    return TrainConfig(model=model, task="instructions",
                       data={"dataset": str(out / "data"), "eval_examples": 16, "limit_per_task": 300,
                             "neighbours": neighbours},
                       max_length=384, batch_size=8, learning_rate=1e-3, warmup_ratio=0.05, max_steps=2000,
                       budget_minutes=budget_minutes, eval_every=0, save_every=10, seed=seed, out=str(out / "train"),
                       lora={"r": 16, "alpha": 32, "dropout": 0.05})


class _Phases:
    """Times each phase and reports it (stage "quickstart", phases done, the finished phase's time as note)."""

    def __init__(self, progress: ProgressFn | None) -> None:
        self.progress = progress
        self.seconds: dict[str, float] = {}

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        report(self.progress, "quickstart", len(self.seconds), len(PHASES), unit="phases", note=f"{name}…")
        started = time.perf_counter()
        yield
        self.seconds[name] = round(time.perf_counter() - started, 1)
        report(self.progress, "quickstart", len(self.seconds), len(PHASES), unit="phases",
               note=f"{name} took {self.seconds[name]:.0f} s", values={"seconds": self.seconds[name]})


def quickstart(out: Path, *, budget_minutes: float = 3.5, per_task: int = 12, neighbours: int = 2,
               model: str = DEFAULT_LLM, workers: int = 2, build_config: Path = QUICKSTART_DATA, seed: int = 0,
               progress: ProgressFn | None = None) -> dict:
    """Run every phase into `out`; returns the metrics written to metrics.json (with each phase's seconds)."""
    from molbridge.apps.copy_baseline import baseline_predictions
    from molbridge.apps.predict import predict_to_file, write_predictions
    from molbridge.apps.report import SCAFFOLD_NOTE, ReportPage, training_summary, write_report
    from molbridge.apps.scoring import score_predictions
    from molbridge.apps.summary import tally, verdicts
    from molbridge.data.build.config import load_config
    from molbridge.data.build.pipeline import build
    from molbridge.data.parquet_io import read_split
    from molbridge.train.examples import prediction_examples
    from molbridge.train.loop import train
    from molbridge.train.modeling import load_trained, model_identity

    out.mkdir(parents=True, exist_ok=True)
    phases = _Phases(progress)
    with phases.phase("build"):
        build(load_config(build_config), out / "data", workers=workers, progress=progress)
    config = quickstart_config(out, model, budget_minutes, seed, neighbours)
    with phases.phase("train"):
        result = train(config, progress=progress)
    with phases.phase("predict"):
        tuned, tokenizer, info = load_trained(out / "train")
        examples = prediction_examples(config, tokenizer, split="test", per_task=per_task)
        predictions = predict_to_file(out / "predictions.jsonl", tuned, tokenizer, examples, progress=progress,
                                      model_id=model_identity(info), batch_size=GENERATION_BATCH, seed=seed)
    with phases.phase("copy baseline"):
        baseline = baseline_predictions(predictions, read_split(out / "data", "train"),
                                        read_split(out / "data", "test"), progress)
        write_predictions(out / "baseline.jsonl", baseline)
    with phases.phase("score"):
        reports = score_predictions(predictions, progress=progress)
        baseline_reports = score_predictions(baseline, progress=progress, stage="score copy baseline")
    tasks = {p.group: p.task for p in predictions}
    found = verdicts(reports, baseline_reports, tasks)
    with phases.phase("report"):
        summary = training_summary(f"{model}, LoRA, {neighbours} retrieved examples per prompt", vars(result))
        write_report(out / "report.html", ReportPage(
            "molbridge quickstart", summary, SCAFFOLD_NOTE.format(n=per_task), reports, baseline_reports,
            predictions, out / "train" / "log.csv", {e.id: e.source for e in examples}, timings=phases.seconds))
    metrics = {
        "model": model, "budget_minutes": budget_minutes, "per_task": per_task, "neighbours": neighbours,
        "training": {k: v for k, v in vars(result).items() if k not in ("evaluations",)},
        "timings_s": dict(phases.seconds),
        "verdict": {"tally": tally(found), "groups": {v.group: {"metric": v.metric, "unit": v.unit,
                                                                "normalised": v.normalised, "winner": v.winner}
                                                      for v in found}},
        "tasks": {group: {"model": scored.to_dict(), "copy_baseline": baseline_reports[group].to_dict()}
                  for group, scored in reports.items()},
    }
    write_json(out / "metrics.json", json.loads(json.dumps(metrics, default=str)))
    return metrics
