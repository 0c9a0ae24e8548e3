"""`python -m molbridge` runs the CLI (same as the `molbridge` command)."""

from molbridge.cli.main import app

app()
