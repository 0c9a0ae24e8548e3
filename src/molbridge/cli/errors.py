"""Turn molbridge's typed errors into one readable line and exit code 2 (no traceback)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer

from molbridge.errors import MolbridgeError


@contextmanager
def user_errors() -> Iterator[None]:
    try:
        yield
    except MolbridgeError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from None
