"""`molbridge setup`: prepare offline resources (WordNet for METEOR)."""

from __future__ import annotations

import typer

from molbridge.cli.errors import user_errors

app = typer.Typer(help="Prepare offline resources.", no_args_is_help=True)


@app.command("wordnet")
def wordnet() -> None:
    """Build an nltk-readable WordNet 3.0 from Debian's wordnet-base files (idempotent)."""
    from molbridge.eval.wordnet import load_wordnet, nltk_data_dir

    with user_errors():
        wn = load_wordnet()
        typer.echo(f"WordNet {wn.get_version()} ready in {nltk_data_dir()}")
