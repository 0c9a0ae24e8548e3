"""`molbridge predict` and `molbridge quickstart`: the applications that join training, prediction and scoring."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from molbridge.cli.errors import user_errors


def predict(
    run: Path = typer.Argument(..., help="a `molbridge train` run directory"),
    out: Path = typer.Option(..., "--out", help="JSONL prediction file (ChEBI-20 runs also get MolT5 TSVs beside it)"),
    split: str = typer.Option("test", "--split", help="dataset split to answer (instruction runs)"),
    test: Path | None = typer.Option(None, "--test",
                                     help="ChEBI-20 TSV to answer (sft / icma runs; default: data.eval)"),
    per_task: int | None = typer.Option(None, "--per-task", help="at most this many examples per task (a seeded "
                                        "subset for ChEBI-20)"),
    beams: int = typer.Option(1, "--beams", help="beam width (1 = greedy)"),
    resample: int = typer.Option(0, "--resample", help="re-sample invalid molecule answers up to this many times"),
    max_new_tokens: int | None = typer.Option(None, "--max-new-tokens", help="default: by answer kind"),
    batch_size: int = typer.Option(8, "--batch-size"),
    score: bool = typer.Option(True, "--score/--no-score", help="print engine scores per task"),
    convention: str | None = typer.Option(None, "--convention", help="convention of text answers' printed scores "
                                          "(default: each task's; see `molbridge eval conventions`)"),
    bertscore_model: str | None = typer.Option(None, "--bertscore-model", help="a BERT-family model directory: "
                                               "also BERTScore P/R/F1 for text answers (SEPIT: PubMedBERT)"),
    report: Path | None = typer.Option(None, "--report", help="also write an HTML report here: scores next to the "
                                       "copy baseline's, the loss curve, examples (stage 1: the retrieval table)"),
    quiet: bool = typer.Option(False, "--quiet", help="no progress bars"),
) -> None:
    """Answer held-out examples with a trained model, prompted exactly as in training (resumes an interrupted run).

    A multimodal run encodes each record's molecule again; a stage-1 run (no LLM) is scored by molecule ↔ text
    retrieval instead (in-batch 64 and full split, with and without re-ranking), written to OUT as JSON."""
    from molbridge.apps.predict import molt5_tables, predict_to_file
    from molbridge.apps.scoring import score_predictions
    from molbridge.apps.trained_runs import is_stage1, load_for_prediction, run_config
    from molbridge.cli.progress import progress_bars
    from molbridge.eval.scorers import TextScoring
    from molbridge.train.examples import prediction_examples

    with user_errors(), progress_bars(not quiet) as progress:
        config = run_config(run)
        if is_stage1(run):
            _retrieval(run, config, split, out, per_task, report, progress)
            return
        model, tokenizer, model_id, build = load_for_prediction(run, config)
        examples = prediction_examples(config, tokenizer, split=split, test=str(test) if test else None,
                                       per_task=per_task, build=build)
        predictions = predict_to_file(out, model, tokenizer, examples, model_id=model_id,
                                      progress=progress, max_new_tokens=max_new_tokens, batch_size=batch_size,
                                      num_beams=beams, resample=resample)
        text = TextScoring(convention=convention, bertscore_model=bertscore_model)
        reports = score_predictions(predictions, text) if score or report else {}
        if report is not None:
            from molbridge.apps.run_report import answers_report

            answers_report(report, run, config, split, predictions, reports, {e.id: e.source for e in examples})
    for path in [out, *molt5_tables(out, predictions), *([report] if report else [])]:
        typer.echo(f"wrote {path}")
    for group, scores in (reports if score else {}).items():
        typer.echo(f"{group}: " + json.dumps({k: round(v, 4) for k, v in scores.values().items()}))


def _retrieval(run: Path, config, split: str, out: Path, limit: int | None, page: Path | None, progress) -> None:
    from molbridge.apps.run_report import retrieval_report
    from molbridge.apps.trained_runs import stage1_retrieval
    from molbridge.atomic import write_json

    reports = stage1_retrieval(run, config, split, limit=limit, progress=progress)
    write_json(out, {name: report.to_dict() for name, report in reports.items()})
    typer.echo(f"wrote {out}")
    if page is not None:
        retrieval_report(page, run, config, split, reports)
        typer.echo(f"wrote {page}")
    for name, report in reports.items():
        typer.echo(f"{name}: " + json.dumps({k: round(v, 4) for k, v in report.values().items()}))


def quickstart(
    out: Path = typer.Option(Path("runs/quickstart"), "--out", help="directory for data, model, predictions, report"),
    budget_minutes: float = typer.Option(3.5, "--budget-minutes", help="training time budget"),
    per_task: int = typer.Option(12, "--per-task", help="held-out test records answered per task group"),
    neighbours: int = typer.Option(2, "--neighbours", help="nearest training records (with their answers) in each "
                                   "prompt; 0: plain prompts"),
    model: str = typer.Option("smollm2-135m-instruct", "--model", help="causal LM: the bundled SmolLM2, a local "
                              "directory or a hub id"),
    workers: int = typer.Option(2, "--workers", help="worker processes for the data build"),
    quiet: bool = typer.Option(False, "--quiet", help="no progress bars"),
) -> None:
    """Build the quickstart dataset, LoRA-tune SmolLM2 within a budget, predict, score every task next to the copy
    baseline, write report.html; prints the verdict per task group and each phase's time."""
    from molbridge.apps.quickstart import quickstart as run
    from molbridge.cli.progress import progress_bars

    with user_errors(), progress_bars(not quiet) as progress:
        metrics = run(out, budget_minutes=budget_minutes, per_task=per_task, neighbours=neighbours, model=model,
                      workers=workers, progress=progress)
    for group, verdict in metrics["verdict"]["groups"].items():
        scores = metrics["tasks"][group]
        model_value, copy_value = scores["model"].get(verdict["metric"]), scores["copy_baseline"].get(verdict["metric"])
        typer.echo(f"{group}: {verdict['metric']} ({verdict['unit']}) model {_shown(model_value)} vs copy "
                   f"{_shown(copy_value)}: {verdict['winner']}")
    counts = metrics["verdict"]["tally"]
    typer.echo(f"model wins {counts['model']}, ties {counts['tie']}, loses {counts['copy']} of "
               f"{len(metrics['verdict']['groups'])} task groups")
    timings = metrics["timings_s"]
    typer.echo("time per phase: " + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items())
               + f" (total {sum(timings.values()):.0f} s)")
    typer.echo(f"wrote {out / 'report.html'} and {out / 'metrics.json'}")


def _shown(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else "—"
