"""`molbridge retrieve`: fingerprint indexes, neighbour files and training-free copy baselines."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from molbridge.cli.errors import user_errors

app = typer.Typer(help="Retrieval: indexes, neighbours (ICMA format) and copy baselines.", no_args_is_help=True)

TaskOpt = typer.Option(..., "--task", help="mol2text | text2mol")
PoolOpt = typer.Option(..., "--pool", help="ChEBI-20 TSV to retrieve from (e.g. validation.txt)")
RetrieverOpt = typer.Option(..., "--retriever", help="mol2text: morgan | maccs | rdk | random; text2mol: bm25 | random")
SeedOpt = typer.Option(0, "--seed", help="seed of the random retriever")
TiesOpt = typer.Option("bm25s", "--ties", help="BM25 exact ties: bm25s (library order, reproduces published "
                       "numbers; CPU-dependent) | lowest (first pool record, same on every machine)")


@app.command("baseline")
def baseline(
    task: str = TaskOpt, pool: Path = PoolOpt,
    test: Path = typer.Option(..., "--test", help="ChEBI-20 TSV to answer (e.g. test.txt)"),
    retriever: str = RetrieverOpt,
    out: Path = typer.Option(..., "--out", help="MolT5-format prediction file to write"),
    seed: int = SeedOpt, ties: str = TiesOpt,
) -> None:
    """Copy the nearest pool record's answer for every test record; score it with `molbridge eval`."""
    from molbridge.data.sources.chebi20 import read_chebi20
    from molbridge.eval.predictions import write_molt5
    from molbridge.retrieval.baselines import check_retriever, copy_predictions

    with user_errors():
        check_retriever(task, retriever)
        rows, issues = copy_predictions(task, retriever, read_chebi20(pool), read_chebi20(test), seed=seed, ties=ties)
        count = write_molt5(out, task, rows)  # type: ignore[arg-type]
    for issue in issues:
        typer.echo(f"issue: {issue}", err=True)
    typer.echo(f"wrote {count} {task} predictions ({retriever} copy) to {out}")


@app.command("neighbours")
def neighbours(
    task: str = TaskOpt, pool: Path = PoolOpt,
    queries: Path = typer.Option(..., "--queries", help="ChEBI-20 TSV whose records get neighbours"),
    retriever: str = RetrieverOpt,
    k: int = typer.Option(10, "--k", min=1, help="neighbours per query"),
    out: Path = typer.Option(..., "--out", help="neighbour file (query_CID, neighbour_CID, score)"),
    exclude_self: bool = typer.Option(True, help="never return a query's own CID (pool = queries)"),
    seed: int = SeedOpt, ties: str = TiesOpt,
) -> None:
    """Write ICMA's neighbour file: k pool neighbours per query record, best first."""
    from molbridge.data.sources.chebi20 import read_chebi20
    from molbridge.retrieval.baselines import retrieve
    from molbridge.retrieval.neighbours import from_search, write_neighbours

    with user_errors():
        pool_records, query_records = read_chebi20(pool), read_chebi20(queries)
        found = retrieve(task, retriever, pool_records, query_records, k, seed=seed, exclude_self=exclude_self,
                         ties=ties)
        result = from_search([q.cid for q in query_records], [p.cid for p in pool_records], found.indices, found.scores)
        write_neighbours(out, result)
    for issue in found.issues:
        typer.echo(f"issue: {issue}", err=True)
    typer.echo(f"wrote {k} {retriever} neighbours for {len(query_records)} queries to {out}")


@app.command("index")
def index(
    pool: Path = PoolOpt,
    out: Path = typer.Option(..., "--out", help="index file to write (memory-mappable)"),
    kind: str = typer.Option("morgan", "--kind", help="morgan | maccs | rdk"),
    radius: int = typer.Option(2, "--radius"), n_bits: int = typer.Option(2048, "--n-bits"),
) -> None:
    """Build a fingerprint index of a ChEBI-20 table's molecules."""
    from molbridge.data.sources.chebi20 import read_chebi20
    from molbridge.retrieval.fingerprint_index import FingerprintIndex

    with user_errors():
        records = read_chebi20(pool)
        built, failed = FingerprintIndex.from_smiles(
            [r.cid for r in records], [r.smiles for r in records], kind=kind,
            radius=radius if kind == "morgan" else None, n_bits=n_bits if kind == "morgan" else None)
        built.save(out)
    for cid, reason in failed:
        typer.echo(f"issue: CID {cid} not indexed: {reason}", err=True)
    typer.echo(f"indexed {len(built)} of {len(records)} molecules ({kind}) into {out}")


@app.command("query")
def query(
    index_file: Path = typer.Argument(..., help="index built by `molbridge retrieve index`"),
    smiles: list[str] = typer.Option(..., "--smiles", help="query SMILES (repeatable)"),
    k: int = typer.Option(10, "--k", min=1),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
) -> None:
    """Top-k most similar indexed molecules (exact Tanimoto) for each query SMILES."""
    from molbridge.retrieval.fingerprint_index import FingerprintIndex

    with user_errors():
        loaded = FingerprintIndex.load(index_file)
        scores, indices = loaded.query_smiles(smiles, k)
    hits = {s: [{"id": loaded.ids[i], "score": float(v)} for i, v in zip(row_i, row_s) if i >= 0]
            for s, row_i, row_s in zip(smiles, indices, scores)}
    if as_json:
        typer.echo(json.dumps(hits, indent=2))
        return
    for s, rows in hits.items():
        typer.echo(s)
        for rank, hit in enumerate(rows, start=1):
            typer.echo(f"  {rank:>3}  {hit['id']:<14} {hit['score']:.4f}")
