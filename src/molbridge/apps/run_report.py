"""`molbridge predict RUN --report PAGE`: the quickstart's report page for any trained run.

A run that answers (text or soft-token, e.g. 3D-MoLM stages 2 and 3) shows its scores next to the
copy baseline's on the same records (the nearest training record's answer, from the run's dataset),
its loss curve and example answers; a stage-1 run (no LLM) shows its retrieval table and loss curve.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from molbridge.apps.predict import Prediction
from molbridge.apps.report import ReportPage, training_summary, write_report
from molbridge.eval.results import MetricReport
from molbridge.train.config import TrainConfig

STATE = "train_state.json"  # the loop's summary of a finished or interrupted run


def describe_run(run: Path, config: TrainConfig) -> str:
    """What was trained, how far: model, method, the multimodal assembly, and the loop's summary."""
    model = f"{config.model}, {config.method}"
    m = config.multimodal
    if m is not None:
        encoder = f"{m.encoder} encoder ({'trained' if m.train_encoder else 'frozen'})"
        model = (f"stage 1: {encoder} and Q-Former, no LLM" if m.stage == "qformer" else
                 f"{model}, soft tokens from a {encoder} through a {m.projector} projector")
    state = run / STATE
    if not state.is_file():
        return f"{model}; the run left no {STATE} (not finished, or not a molbridge run)."
    return training_summary(model, json.loads(state.read_text(encoding="utf-8")))


def _baselines(config: TrainConfig, split: str, predictions: Sequence[Prediction]) -> dict[str, MetricReport]:
    """The copy baseline scored on the same records, for a run trained on a built dataset (else none)."""
    from molbridge.apps.copy_baseline import baseline_predictions
    from molbridge.apps.scoring import score_predictions
    from molbridge.data.parquet_io import read_split

    if config.data.dataset is None or not Path(config.data.dataset).is_dir():
        return {}
    held_out = read_split(config.data.dataset, split)
    known = {r.id for r in held_out}
    answered = [p for p in predictions if p.id in known]
    if not answered:
        return {}
    return score_predictions(baseline_predictions(answered, read_split(config.data.dataset, "train"), held_out))


def answers_report(path: Path, run: Path, config: TrainConfig, split: str, predictions: Sequence[Prediction],
                   reports: Mapping[str, MetricReport], sources: Mapping[str, str]) -> None:
    """The page of a run that answers: scores and the copy baseline's, loss curve, examples."""
    scoring = (f"Scored on the run's {split!r} records with the molbridge scoring engine (each task's convention); "
               "brackets are 95% bootstrap intervals; invalid answers are counted and scored, never dropped. The "
               "copy baseline answers each record with its nearest training record's answer (same task).")
    write_report(path, ReportPage(f"molbridge run {run.name}", describe_run(run, config), scoring, reports,
                                  _baselines(config, split, predictions), predictions, run / "log.csv", sources))


def retrieval_report(path: Path, run: Path, config: TrainConfig, split: str,
                     reports: Mapping[str, MetricReport]) -> None:
    """The page of a stage-1 run: molecule ↔ text retrieval in both directions, in-batch and full, ± re-ranking."""
    scoring = (f"Molecule ↔ text retrieval on the run's {split!r} pairs: acc1 and R@20 in both directions (m2t, t2m), "
               "in batches of 64 and over the whole split, by the Q-Former similarity and re-ranked by the "
               "matching head; brackets are 95% bootstrap intervals.")
    write_report(path, ReportPage(f"molbridge run {run.name}", describe_run(run, config), scoring, reports,
                                  log_csv=run / "log.csv"))
