"""`molbridge data`: build instruction datasets from real sources, and audit splits for leakage."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from molbridge.cli.errors import user_errors

app = typer.Typer(help="Instruction data: build datasets, audit splits for leakage.", no_args_is_help=True)
KEYS = ("identical_inchikey", "shared_connectivity", "identical_caption", "identical_protein", "identical_subject")


@app.command("audit")
def audit_cmd(
    a: str = typer.Argument(..., help="the reference split: a ChEBI-20(-MM) table or a build split DIR:train"),
    b: str = typer.Argument(..., help="the split checked against it, e.g. test.txt or DIR:test"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object with every shared record"),
    show: int = typer.Option(10, "--show", min=0, help="shared records listed per key in the readable output"),
) -> None:
    """Count the records of B whose InChIKey, connectivity block, caption, protein or subject occurs in A; list them."""
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
    from molbridge.cli.progress import progress_bars
    from molbridge.data.build.config import load_config
    from molbridge.data.build.pipeline import build

    with user_errors(), progress_bars() as progress:
        card = build(load_config(config, overrides), out, workers=workers, scheduler=scheduler, progress=progress)
    dropped = sum(card["qc"].get("dropped", {}).values())
    unused = sum(e["reading"] + e["build"] for e in card["problems"].values())
    typer.echo(f"built {card['records']} records ({', '.join(f'{k} {v}' for k, v in card['splits'].items())}) "
               f"into {out}; QC dropped {dropped}, {unused} source items unusable; see {out / 'card.md'}")


@app.command("fetch")
def fetch_cmd(
    what: str | None = typer.Argument(None, help="uniprot-go (Debian) or a remote dataset, e.g. chebi20; see --list"),
    show: bool = typer.Option(False, "--list", help="list remote datasets: source, revision, trust, files, licence"),
    dest: Path | None = typer.Option(None, "--dest", help="download directory (default: the molbridge cache)"),
    endpoint: str | None = typer.Option(None, "--endpoint", help="server to download from: a mirror or a test server"),
) -> None:
    """Download data into the molbridge cache: remote datasets (pinned, checksummed, resumable) or Debian packages."""
    from molbridge.cli.progress import progress_bars
    from molbridge.data import remote
    from molbridge.data.fetch import UNIPROT_GO, fetch_debian
    from molbridge.errors import MissingResourceError

    if show:
        typer.echo(f"{'name':<18} {'source':<52} {'trust':<27} {'files':<18} licence")
        for d in remote.DATASETS.values():
            source = f"{d.kind}:{d.repo}@{d.revision[:12] if d.pinned else d.revision}"
            files = f"{len(d.files)} file{'s' * (len(d.files) > 1)}" if d.files else "listed by the hub"
            typer.echo(f"{d.name:<18} {source:<52} {d.trust:<27} {files:<18} {d.licence}")
        debian, packages = "debian:" + ",".join(UNIPROT_GO), f"{len(UNIPROT_GO)} packages"
        typer.echo(f"{'uniprot-go':<18} {debian:<52} {'apt':<27} {packages:<18} see the packages' copyright files")
        return
    with user_errors(), progress_bars() as progress:
        if what is None:
            raise MissingResourceError("name the data to fetch, or see what there is with: molbridge data fetch --list")
        if what == "uniprot-go":
            if dest is not None or endpoint is not None:
                raise typer.BadParameter("--dest and --endpoint apply to remote datasets, not to uniprot-go")
            for package in UNIPROT_GO:
                typer.echo(f"{package}: {fetch_debian(package)}")
            return
        if what not in remote.DATASETS:
            raise MissingResourceError(f"unknown data {what!r}; available: uniprot-go, {', '.join(remote.DATASETS)}")
        path = remote.fetch_dataset(what, dest=dest, endpoint=endpoint, progress=progress)
    typer.echo(f"{what}: {path}")


@app.command("paraphrase")
def paraphrase_cmd(
    family: str = typer.Argument(..., help="a phrasing family of the registered tasks (`molbridge tasks --json`)"),
    out_dir: Path = typer.Option(..., "--out-dir", help="directory for the extended file (use as phrasings_dir:)"),
    model: str = typer.Option("smollm2-135m-instruct", "--model", help="causal LM: directory, hub id or the default"),
    rounds: int = typer.Option(1, "--rounds", min=1, help="rewrites asked per phrasing"),
) -> None:
    """Expand a family's phrasings with a local chat model; kept rewrites are checked and listed as generated."""
    from molbridge.models.causal_lm import load_causal_lm, reply_function
    from molbridge.tasks import TASKS
    from molbridge.tasks.paraphrase import paraphrase_family, write_family
    from molbridge.tasks.phrasing import PhrasingError

    with user_errors():
        families = list(dict.fromkeys(t.phrasings for t in TASKS if t.phrasings))
        if family not in families:
            raise PhrasingError(f"no registered task is phrased from {family!r}; families: {', '.join(families)}")
        reply = reply_function(*load_causal_lm(model), chat_template=False)
        data, rejected = paraphrase_family(family, reply, rounds=rounds)
        path = write_family(out_dir, family, data)
    kept = sum(len(v) for v in data["generated"].values())
    typer.echo(f"kept {kept} generated phrasings, rejected {sum(rejected.values())} {rejected}; wrote {path}")
