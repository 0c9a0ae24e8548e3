"""The `molbridge` command: one entry point, one module per command group."""

from __future__ import annotations

import logging

import typer

from molbridge import __version__
from molbridge.cli import (
    apps_cmd,
    bench_cmd,
    data_cmd,
    eval_cmd,
    models_cmd,
    retrieve_cmd,
    serve_cmd,
    setup_cmd,
    tasks_cmd,
    train_cmd,
)

app = typer.Typer(
    name="molbridge",
    help="Language models on biomolecules: data, retrieval, training and exact scoring.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(bench_cmd.app, name="bench")
app.add_typer(data_cmd.app, name="data")
app.add_typer(eval_cmd.app, name="eval")
app.add_typer(models_cmd.app, name="models")
app.add_typer(retrieve_cmd.app, name="retrieve")
app.add_typer(setup_cmd.app, name="setup")
app.command("train")(train_cmd.train)
app.command("predict")(apps_cmd.predict)
app.command("quickstart")(apps_cmd.quickstart)
app.command("tasks")(tasks_cmd.tasks)
app.command("serve")(serve_cmd.serve)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"molbridge {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log progress and RDKit messages."),
) -> None:
    """molbridge — see `molbridge COMMAND --help`."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    # RDKit warns about many valid molecules (stereo, hydrogens); batch commands would drown in it.
    # Errors still show, and --verbose shows everything. RDKit sets its logger's level when first
    # imported, so import it (with our routing) before setting ours, or a later import undoes it.
    import molbridge.chem  # noqa: F401

    logging.getLogger("rdkit").setLevel(logging.INFO if verbose else logging.ERROR)
