"""`molbridge bench`: benchmark grids (ChEBI-20-MM's modality grid)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from molbridge.cli.errors import user_errors

app = typer.Typer(help="Benchmark grids: many models × inputs × tasks, resumable, in one report.",
                  no_args_is_help=True)


@app.command("mm")
def mm(
    config: Path = typer.Argument(..., help="grid config (YAML); see configs/chebi20-mm*.yaml"),
    out: Path = typer.Option(..., "--out", help="grid directory: a rerun finishes only the cells still missing"),
    overrides: list[str] = typer.Option([], "--set", help="override a config key: --set budget_minutes=1"),
    workers: int = typer.Option(1, "--workers", min=1, help="cells run at once, each in its own process"),
    scheduler: str | None = typer.Option(None, "--scheduler", help="a Dask scheduler address: cells run as its tasks"),
    as_json: bool = typer.Option(False, "--json", help="print results.json's summary as JSON"),
    quiet: bool = typer.Option(False, "--quiet", help="no progress bars"),
) -> None:
    """ChEBI-20-MM: which input modality suits which task — every cell trained within its budget, answered and
    scored next to its copy baseline; writes results.json, results.md, figures/ and report.html into OUT."""
    from molbridge.apps.mm_config import load_grid_config
    from molbridge.apps.mm_grid import run_grid
    from molbridge.cli.progress import progress_bars

    with user_errors(), progress_bars(not quiet and not as_json) as progress:
        results = run_grid(load_grid_config(config, overrides), out, workers=workers, scheduler=scheduler,
                           progress=progress)
    counts = results["cells"]
    if as_json:
        typer.echo(json.dumps({"cells": counts, "out": str(out)}))
        return
    typer.echo((out / "results.md").read_text())
    typer.echo(f"{counts['done']} cells done, {counts['failed']} failed, {counts['missing']} missing; "
               f"report: {out / 'report.html'}")
