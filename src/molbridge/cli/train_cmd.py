"""`molbridge train`: fine-tune a causal LM (or T5) with LoRA or fully, resumably, on one or many processes."""

from __future__ import annotations

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
