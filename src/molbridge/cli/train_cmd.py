"""`molbridge train` and `molbridge predict`: fine-tune a causal LM (or T5) and generate from the result."""

from __future__ import annotations

import json
import os
from pathlib import Path

import typer

from molbridge.cli.errors import user_errors


def train(
    config: Path = typer.Argument(..., help="training config (YAML); see configs/train-*.yaml"),
    out: Path | None = typer.Option(None, "--out", help="run directory (default: the config's `out`)"),
    overrides: list[str] = typer.Option([], "--set", help="override a config key: --set max_steps=20"),
    quiet: bool = typer.Option(False, "--quiet", help="no progress bar"),
) -> None:
    """Train, resume an interrupted run, or report a finished one (same settings = no-op).

    On GPUs: `accelerate launch --multi_gpu -m molbridge train CONFIG` (or torchrun).
    """
    from molbridge.apps.scoring import generation_scores
    from molbridge.cli.progress import progress_bars
    from molbridge.train.config import load_train_config
    from molbridge.train.loop import train as run

    with user_errors(), progress_bars(not quiet and os.environ.get("RANK", "0") == "0") as progress:
        settings = load_train_config(config, overrides, out=str(out) if out else None)
        result = run(settings, progress=progress, generation_scores=generation_scores)
    if os.environ.get("RANK", "0") != "0":
        return  # one summary per distributed run, from rank 0
    typer.echo(f"{result.stopped}: {result.steps}/{result.planned_steps} steps, {result.real_tokens:,} real / "
               f"{result.padded_tokens:,} padded tokens, {result.real_tokens_per_s:,.0f} real tokens/s; "
               f"loss {result.final_loss:.4f}" + (f", eval loss {result.eval_loss:.4f}" if result.eval_loss else "")
               + f"; model in {Path(result.out) / 'final'}")


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
    convention: str | None = typer.Option(None, "--convention", help="text convention of the printed scores "
                                          "(default: each task's; see `molbridge eval conventions`)"),
    quiet: bool = typer.Option(False, "--quiet", help="no progress bars"),
) -> None:
    """Answer held-out examples with a trained model, prompted exactly as in training (resumes an interrupted run)."""
    from molbridge.apps.predict import predict_to_file
    from molbridge.apps.scoring import score_predictions
    from molbridge.cli.progress import progress_bars
    from molbridge.train.config import TrainConfig
    from molbridge.train.examples import prediction_examples
    from molbridge.train.modeling import load_trained, model_identity

    with user_errors(), progress_bars(not quiet) as progress:
        config = _run_config(run, TrainConfig)
        model, tokenizer, info = load_trained(run)
        examples = prediction_examples(config, tokenizer, split=split, test=str(test) if test else None,
                                       per_task=per_task)
        predictions = predict_to_file(out, model, tokenizer, examples, model_id=model_identity(info),
                                      progress=progress, max_new_tokens=max_new_tokens, batch_size=batch_size,
                                      num_beams=beams, resample=resample)
        reports = score_predictions(predictions, convention=convention) if score else {}
    tables = (out.with_name(f"{out.stem}.{task}.tsv") for task in dict.fromkeys(p.task for p in predictions))
    written = [out, *(path for path in tables if path.is_file())]
    for path in written:
        typer.echo(f"wrote {path}")
    for group, report in reports.items():
        typer.echo(f"{group}: " + json.dumps({k: round(v, 4) for k, v in report.values().items()}))


def _run_config(run: Path, model):
    from molbridge.config_files import load_yaml_config
    from molbridge.train.config import TrainConfigError

    path = run / "config.yaml"
    if not path.is_file():
        raise TrainConfigError(f"{run}: not a training run directory (no config.yaml)")
    return load_yaml_config(path, model, TrainConfigError)


def quickstart(
    out: Path = typer.Option(Path("runs/quickstart"), "--out", help="directory for data, model, predictions, report"),
    budget_minutes: float = typer.Option(5.0, "--budget-minutes", help="training time budget"),
    per_task: int = typer.Option(12, "--per-task", help="held-out test records answered per task"),
    model: str = typer.Option("smollm2-135m-instruct", "--model", help="causal LM: the bundled SmolLM2, a local "
                              "directory or a hub id"),
    workers: int = typer.Option(2, "--workers", help="worker processes for the data build"),
    quiet: bool = typer.Option(False, "--quiet", help="no progress bars"),
) -> None:
    """Build the mini dataset, LoRA-tune SmolLM2 within a budget, predict, score every task, write report.html."""
    from molbridge.apps.quickstart import quickstart as run
    from molbridge.cli.progress import progress_bars

    with user_errors(), progress_bars(not quiet) as progress:
        metrics = run(out, budget_minutes=budget_minutes, per_task=per_task, model=model, workers=workers,
                      progress=progress)
    for group, scores in metrics["tasks"].items():
        shown = {k: round(v, 3) for k, v in scores["model"].items() if isinstance(v, float)}
        typer.echo(f"{group}: {json.dumps(shown)}")
    typer.echo(f"wrote {out / 'report.html'} and {out / 'metrics.json'}")
