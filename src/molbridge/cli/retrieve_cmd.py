"""`molbridge retrieve`: indexes, neighbour files, GIN pre-training and training-free predictors."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from molbridge.cli.errors import user_errors

app = typer.Typer(help="Retrieval: indexes, neighbours (ICMA format), GIN pre-training, copy and in-context "
                  "baselines.", no_args_is_help=True)

TaskOpt = typer.Option(..., "--task", help="a task with a ChEBI-20 layout: mol2text | text2mol")
PoolOpt = typer.Option(..., "--pool", help="ChEBI-20 TSV to retrieve from (e.g. validation.txt)")
RetrieverOpt = typer.Option(..., "--retriever", help="by molecule (mol2text): morgan | maccs | rdk | gin | random; "
                            "by caption (text2mol): bm25 | minilm | random")
SeedOpt = typer.Option(0, "--seed", help="seed of the random retriever")
TiesOpt = typer.Option("lowest", "--ties", help="BM25 exact ties: lowest (first pool record, the same on every "
                       "machine) | bm25s (the library's order: REFERENCE.md §C's .6883, but it differs between CPUs)")
EncoderOpt = typer.Option(None, "--encoder", help="gin: encoder directory (default: the one `retrieve "
                          "pretrain-gin` wrote); minilm: a sentence-transformers directory (default: packaged MiniLM)")


def chebi20_task(name: str):
    """The registered task `name`, which must read ChEBI-20's modality columns (it has a MolT5 layout)."""
    from molbridge.errors import ConventionError
    from molbridge.tasks import TASKS

    spec = TASKS.get(name)
    if spec.molt5 is None:
        layouts = ", ".join(t.name for t in TASKS if t.molt5)
        raise ConventionError(f"task {name!r} does not read ChEBI-20 tables; these commands take {layouts}")
    return spec


@app.command("baseline")
def baseline(
    task: str = TaskOpt, pool: Path = PoolOpt,
    test: Path = typer.Option(..., "--test", help="ChEBI-20 TSV to answer (e.g. test.txt)"),
    retriever: str = RetrieverOpt,
    out: Path = typer.Option(..., "--out", help="MolT5-format prediction file to write"),
    seed: int = SeedOpt, ties: str = TiesOpt, encoder: Path | None = EncoderOpt,
) -> None:
    """Copy the nearest pool record's answer for every test record; score it with `molbridge eval`."""
    from molbridge.data.formats.chebi20_tables import records_from_chebi20
    from molbridge.eval.predictions import write_molt5
    from molbridge.retrieval.baselines import check_retriever, copy_predictions

    with user_errors():
        spec = chebi20_task(task)
        check_retriever(spec, retriever)
        rows, issues = copy_predictions(spec, retriever, records_from_chebi20(pool), records_from_chebi20(test),
                                        seed=seed, ties=ties, encoder=encoder)
        count = write_molt5(out, spec.molt5, rows)
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
    seed: int = SeedOpt, ties: str = TiesOpt, encoder: Path | None = EncoderOpt,
) -> None:
    """Write ICMA's neighbour file: k pool neighbours per query record, best first."""
    from molbridge.data.formats.chebi20_tables import records_from_chebi20
    from molbridge.retrieval.baselines import retrieve
    from molbridge.retrieval.icl import subject_id
    from molbridge.retrieval.neighbours import from_search, write_neighbours

    with user_errors():
        pool_records, query_records = records_from_chebi20(pool), records_from_chebi20(queries)
        found = retrieve(chebi20_task(task), retriever, pool_records, query_records, k, seed=seed,
                         exclude_self=exclude_self, ties=ties, encoder=encoder)
        result = from_search([subject_id(q) for q in query_records], [subject_id(p) for p in pool_records],
                             found.indices, found.scores)
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


@app.command("pretrain-gin")
def pretrain_gin_cmd(
    out: Path | None = typer.Option(None, "--out", help="run directory (default: the cache's gin-moses, which "
                                    "the gin retriever uses); rerun with the same settings to resume"),
    molecules: int = typer.Option(200_000, "--molecules", min=2, help="seeded MOSES training subset"),
    steps: int = typer.Option(1000, "--steps", min=0, help="total optimiser steps (~4 min on 2 cores); a finished "
                              "run rerun is a no-op, a larger value continues it"),
    minutes: float = typer.Option(60.0, "--minutes", min=0.0, help="wall-clock cap of this call; rerun to resume"),
    batch_size: int = typer.Option(256, "--batch-size", min=2),
    seed: int = SeedOpt,
) -> None:
    """Pre-train the GIN graph encoder (contrastive, MOSES) for `--retriever gin`; seeded and resumable.

    A fixed step count, not a time budget, is the default, so the same command gives the same
    encoder on every machine; `--minutes` only caps one call (rerun it to continue).
    """
    from molbridge.cli.progress import progress_bars
    from molbridge.data.sources.moses import read_moses_smiles
    from molbridge.retrieval.baselines import default_gin_dir
    from molbridge.retrieval.graph_pretrain import pretrain_gin

    with user_errors(), progress_bars() as progress:
        smiles = read_moses_smiles(molecules, seed=seed)
        result = pretrain_gin(smiles, out or default_gin_dir(), max_minutes=minutes, max_steps=steps,
                              batch_size=batch_size, seed=seed, progress=progress)
    resumed = f", resumed from step {result.resumed_from}" if result.resumed_from else ""
    typer.echo(f"pre-trained {result.steps} steps{resumed} on {result.molecules} molecules ({result.invalid} "
               f"invalid skipped), loss {result.final_loss:.4f}, {result.seconds:.0f} s; "
               f"encoder in {result.encoder_dir}")


@app.command("icl")
def icl(
    task: str = TaskOpt, pool: Path = PoolOpt,
    test: Path = typer.Option(..., "--test", help="ChEBI-20 TSV to answer"),
    out: Path = typer.Option(..., "--out", help="MolT5-format prediction file to write"),
    retriever: str | None = typer.Option(None, "--retriever", help="as for `baseline` (or give --neighbours)"),
    neighbours_file: Path | None = typer.Option(None, "--neighbours", help="ICMA neighbour file instead of retrieving"),
    k: int = typer.Option(2, "--k", min=0, help="examples in each prompt"),
    candidates: int = typer.Option(10, "--candidates", min=1, help="retrieved candidates the selector picks from"),
    selector: str = typer.Option("top", "--selector", help="top | random_walk | mmr"),
    style: str | None = typer.Option(None, "--style", help="chat (the model's chat template) | completion "
                                     "(default: completion for tasks answering a molecule, where a chat model "
                                     "answers in prose; chat otherwise)"),
    model: str = typer.Option("smollm2-135m-instruct", "--model", help="causal LM: directory, hub id or the default"),
    subset: int | None = typer.Option(None, "--subset", min=1, help="answer a seeded random subset of this size"),
    max_prompt_tokens: int = typer.Option(1536, "--max-prompt-tokens", min=1),
    max_new_tokens: int = typer.Option(128, "--max-new-tokens", min=1),
    batch_size: int = typer.Option(4, "--batch-size", min=1),
    seed: int = SeedOpt, ties: str = TiesOpt, encoder: Path | None = EncoderOpt,
) -> None:
    """Answer test records in context: retrieve, select k examples, prompt the LLM greedily, extract."""
    from molbridge.cli.progress import progress_bars
    from molbridge.data.formats.chebi20_tables import records_from_chebi20
    from molbridge.eval.predictions import write_molt5
    from molbridge.models.causal_lm import load_causal_lm
    from molbridge.retrieval.baselines import check_retriever, retrieve
    from molbridge.retrieval.icl import IclSettings, IclSettingsError, fixed_subset, from_neighbours, icl_predictions
    from molbridge.retrieval.neighbours import read_neighbours

    with user_errors(), progress_bars() as progress:
        spec = chebi20_task(task)
        style = style or ("completion" if spec.answer.family == "molecule" else "chat")
        settings = IclSettings(k=k, selector=selector, style=style, max_prompt_tokens=max_prompt_tokens,
                               max_new_tokens=max_new_tokens, batch_size=batch_size, seed=seed)
        settings.check()
        if (retriever is None) == (neighbours_file is None):
            raise IclSettingsError("give exactly one of --retriever and --neighbours")
        if retriever is not None:
            check_retriever(spec, retriever)
        pool_records, test_records = records_from_chebi20(pool), fixed_subset(records_from_chebi20(test), subset, seed)
        depth = max(candidates, k)
        if retriever is not None:
            found = retrieve(spec, retriever, pool_records, test_records, depth, seed=seed, ties=ties, encoder=encoder)
        else:
            assert neighbours_file is not None  # exactly one of the two was given (checked above)
            found = from_neighbours(read_neighbours(neighbours_file), pool_records, test_records, depth)
        llm, tokenizer = load_causal_lm(model)
        rows, issues = icl_predictions(spec, pool_records, test_records, found, llm, tokenizer, settings,
                                       progress=progress)
        count = write_molt5(out, spec.molt5, rows)
    for issue in issues:
        typer.echo(f"issue: {issue}", err=True)
    typer.echo(f"wrote {count} {task} in-context predictions (k={k}, {selector}) to {out}")
