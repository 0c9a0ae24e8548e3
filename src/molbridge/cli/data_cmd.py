"""`molbridge data`: build instruction datasets from real sources, and audit splits for leakage."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from molbridge.cli.errors import user_errors

app = typer.Typer(help="Instruction data: build datasets, audit splits for leakage.", no_args_is_help=True)
KEYS = ("identical_inchikey", "shared_connectivity", "identical_caption")


@app.command("audit")
def audit_cmd(
    a: str = typer.Argument(..., help="the reference split: a ChEBI-20(-MM) table or a build split DIR:train"),
    b: str = typer.Argument(..., help="the split checked against it, e.g. test.txt or DIR:test"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object with every shared record"),
    show: int = typer.Option(10, "--show", min=0, help="shared records listed per key in the readable output"),
) -> None:
    """Count the records of B whose InChIKey, connectivity block or caption occurs in A, and list them."""
    from molbridge.data.audit import audit, read_items

    with user_errors():
        report = audit(read_items(a), read_items(b))
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
        return
    typer.echo(f"A {a}: {report.n_a} records ({report.invalid_molecules_a} invalid molecules)")
    typer.echo(f"B {b}: {report.n_b} records ({report.invalid_molecules_b} invalid molecules)")
    for key in KEYS:
        count = getattr(report, key)
        extra = f" ({report.distinct_shared_blocks} distinct blocks)" if key == "shared_connectivity" else ""
        typer.echo(f"{key}: {count} of {report.n_b} records of B{extra}")
        for item in report.shared[key][:show]:
            shown = item.key if len(item.key) <= 60 else item.key[:57] + "..."
            typer.echo(f"  {item.id}  ~ A {', '.join(item.in_a)}  [{shown}]")
        if count > show:
            typer.echo(f"  ... {count - show} more (--json lists all)")


@app.command("build")
def build_cmd(
    config: Path = typer.Argument(..., help="build config (YAML), e.g. configs/mini-instructions.yaml"),
    out: Path = typer.Option(..., "--out", help="output directory; rerun with the same config to resume"),
    workers: int = typer.Option(1, "--workers", min=1, help="local worker processes"),
    scheduler: str | None = typer.Option(None, "--scheduler", help="Dask scheduler address (tcp://host:8786)"),
    overrides: list[str] = typer.Option([], "--set", help="override a config value: KEY=VALUE (repeatable)"),
) -> None:
    """Build sources → tasks → QC → split → sharded Parquet + dataset card (card.md, card.json, plots/)."""
    from molbridge.data.build.config import load_config
    from molbridge.data.build.pipeline import build

    def report(done) -> None:
        typer.echo(f"source {done.source} chunk {done.chunk}: {done.records} records kept ({done.total} in all)",
                   err=True)

    with user_errors():
        card = build(load_config(config, overrides), out, workers=workers, scheduler=scheduler, progress=report)
    dropped = sum(card["qc"].get("dropped", {}).values())
    unused = sum(e["reading"] + e["build"] for e in card["problems"].values())
    typer.echo(f"built {card['records']} records ({', '.join(f'{k} {v}' for k, v in card['splits'].items())}) "
               f"into {out}; QC dropped {dropped}, {unused} source items unusable; see {out / 'card.md'}")


@app.command("fetch")
def fetch_cmd(
    what: str = typer.Argument(..., help="uniprot-go: UniProt proteins with GO annotations + GO terms (Debian)"),
) -> None:
    """Download data packages into the molbridge cache (apt-get download + dpkg -x; no system install)."""
    from molbridge.data.fetch import UNIPROT_GO, fetch_debian
    from molbridge.errors import MissingResourceError

    with user_errors():
        if what != "uniprot-go":
            raise MissingResourceError(f"unknown data {what!r}; available: uniprot-go")
        for package in UNIPROT_GO:
            typer.echo(f"{package}: {fetch_debian(package)}")


@app.command("paraphrase")
def paraphrase_cmd(
    family: str = typer.Argument(..., help="phrasing family: properties | descriptions | translation | protein"),
    out_dir: Path = typer.Option(..., "--out-dir", help="directory for the extended file (use as phrasings_dir:)"),
    model: str = typer.Option("smollm2-135m-instruct", "--model", help="causal LM: directory, hub id or the default"),
    rounds: int = typer.Option(1, "--rounds", min=1, help="rewrites asked per phrasing"),
) -> None:
    """Expand a family's phrasings with a local chat model; kept rewrites are checked and listed as generated."""
    from molbridge.data.tasks.paraphrase import paraphrase_family, write_family
    from molbridge.models.causal_lm import load_causal_lm, reply_function

    with user_errors():
        reply = reply_function(*load_causal_lm(model), chat_template=False)
        data, rejected = paraphrase_family(family, reply, rounds=rounds)
        path = write_family(out_dir, family, data)
    kept = sum(len(v) for v in data["generated"].values())
    typer.echo(f"kept {kept} generated phrasings, rejected {sum(rejected.values())} {rejected}; wrote {path}")
