"""`molbridge tasks`: what the registry holds — every task and source, and which sources feed which tasks."""

from __future__ import annotations

import json

import typer


def tasks(as_json: bool = typer.Option(False, "--json", help="print one JSON object")) -> None:
    """List the registered tasks (answer kind, scorer, copy baseline) and sources (licence, tasks they feed)."""
    from molbridge.data import sources  # noqa: F401  (registers the sources)
    from molbridge.tasks import SOURCES, TASKS, fed_by

    feeds = {s.name: [t.name for t in fed_by(s)] if not s.imported else ["its own task names"] for s in SOURCES}
    listing = {
        "tasks": {t.name: {"description": t.description, "answer": t.answer.name, "scorer": t.family,
                           "copy_baseline": t.copy, "consumes": list(t.consumes), "split_group": t.split_group,
                           "phrasings": t.phrasings,
                           "built": t.build is not None} for t in TASKS},
        "sources": {s.name: {"description": s.description, "license": s.license, "imported": s.imported,
                             "remote": s.remote, "feeds": feeds[s.name]} for s in SOURCES},
    }
    if as_json:
        typer.echo(json.dumps(listing, indent=2))
        return
    typer.echo("tasks:")
    for name, t in listing["tasks"].items():
        typer.echo(f"  {name:<21} {t['answer']:<8} scored as {t['scorer']:<15} copy {t['copy_baseline'] or '—':<7} "
                   f"{t['description']}")
    typer.echo("sources:")
    for name in listing["sources"]:
        typer.echo(f"  {name:<17} feeds {', '.join(feeds[name])}")
