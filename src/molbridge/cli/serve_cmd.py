"""`molbridge serve`: the REST API and the web page on uvicorn."""

from __future__ import annotations

from pathlib import Path

import typer

from molbridge.cli.errors import user_errors

RunOpt = typer.Option([], "--run", help="[NAME=]DIR of a `molbridge train` run to answer with (repeatable)")
IndexOpt = typer.Option([], "--index", help="[NAME=]PATH of a fingerprint, BM25 or dense index (repeatable)")
DatasetOpt = typer.Option([], "--dataset", help="[NAME=]DIR of a `molbridge data build` output (repeatable)")


def _named(values: list[str], what: str) -> dict[str, Path]:
    """NAME=PATH or PATH (named by its last component); a name given twice or a missing path is an error."""
    from molbridge.serve.guards import ServeSettingsError

    found: dict[str, Path] = {}
    for value in values:
        name, sep, path = value.partition("=")
        target = Path(path if sep else name)
        name = name if sep else target.name
        if not target.exists():
            raise ServeSettingsError(f"--{what} {value}: {target} does not exist")
        if name in found:
            raise ServeSettingsError(f"--{what}: the name {name!r} is given twice")
        found[name] = target
    return found


def serve(
    run: list[str] = RunOpt, index: list[str] = IndexOpt, dataset: list[str] = DatasetOpt,
    host: str = typer.Option("127.0.0.1", "--host", help="address to bind (any other than loopback needs a token)"),
    port: int = typer.Option(8000, "--port"),
    token_file: Path | None = typer.Option(None, "--token-file", help="file holding the bearer token clients send"),
    cors_origin: list[str] = typer.Option([], "--cors-origin", help="origin allowed cross-site (repeatable)"),
    text_tokenizer: str | None = typer.Option(None, "--text-tokenizer", help="tokenizer of text scoring"),
    max_body_mb: float = typer.Option(8.0, "--max-body-mb", help="largest request body"),
    timeout_s: float = typer.Option(120.0, "--timeout-s", help="per-request time limit"),
    rate_per_minute: float = typer.Option(600.0, "--rate-per-minute", help="requests per client per minute"),
    generation_batch: int = typer.Option(16, "--generation-batch", help="examples answered together"),
) -> None:
    """Serve the API (/v1, OpenAPI page at /docs, /metrics) and the web page (/) until interrupted.

    Every run and index loads before the server listens: one that cannot load stops it with the reason."""
    import uvicorn

    from molbridge.serve.app import create_app
    from molbridge.serve.state import ServeSettings, load_state

    with user_errors():
        token = _token(token_file)
        settings = ServeSettings(runs=_named(run, "run"), indexes=_named(index, "index"),
                                 datasets=_named(dataset, "dataset"), host=host, port=port, token=token,
                                 cors_origins=cors_origin, text_tokenizer=text_tokenizer,
                                 max_body_bytes=int(max_body_mb * 1024 * 1024), request_timeout_s=timeout_s,
                                 rate_per_minute=rate_per_minute, generation_batch=generation_batch)
        state = load_state(settings)
    typer.echo(f"molbridge serving {len(state.runs)} run(s), {len(state.indexes)} index(es) on http://{host}:{port}/",
               err=True)
    uvicorn.run(create_app(state), host=host, port=port, log_level="warning", proxy_headers=False,
                timeout_graceful_shutdown=int(timeout_s) + 5)  # in-flight requests may take the whole time limit


def _token(path: Path | None) -> str | None:
    from molbridge.serve.guards import ServeSettingsError

    if path is None:
        return None
    try:
        token = path.read_text(encoding="utf-8").strip()
    except OSError as err:
        raise ServeSettingsError(f"--token-file {path}: {err.strerror}") from None
    if len(token) < 16:
        raise ServeSettingsError(f"--token-file {path}: the token must be at least 16 characters")
    return token
