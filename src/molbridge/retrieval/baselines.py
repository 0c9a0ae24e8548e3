"""Nearest pool records for any task, and the training-free baseline that copies their answers.

What is compared follows the task (`Task.query`): molecules (fingerprint Tanimoto: `morgan`,
`maccs`, `rdk`; or cosine of a pre-trained GIN graph encoder, `gin`) for tasks whose input is a
molecule (the record's own, or the one the task's `query_molecule` names: a forward reaction's reactants),
protein sequences (MMseqs2 alignment bit score, `mmseqs`) for tasks whose input is a protein, or the
input text (`bm25`; cosine of MiniLM sentence embeddings, `minilm`) for tasks
whose input is text; `random` copies a seeded random pool record. The copied answer is the pool
record's target (`Task.target`), or what the task's `copy_answer` reads from it (a yes/no
question: whether the neighbour has the asked GO term). On the ChEBI-20 val→test protocol, Morgan (radius 2, 2,048 bits,
ties to the first pool record) and BM25 reproduce ../shared/REFERENCE.md §C exactly. BM25 ties
go to the first pool record by default on every machine; `ties="bm25s"` keeps bm25s's own order
(§C's published .6883, but numpy's vectorised selection makes it differ between CPUs). A query
that cannot be featurised still gets a row (an empty answer, scored as invalid) and an issue;
pool records that cannot be indexed are reported, not hidden.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from molbridge.cache import cache_dir
from molbridge.chem.batch import map_molecules
from molbridge.errors import ConventionError, MissingResourceError
from molbridge.records import Record
from molbridge.retrieval.fingerprint_index import FingerprintIndex, FingerprintSpec
from molbridge.tasks import Task

# retriever → what it compares ("any": it compares nothing)
RETRIEVERS = {"morgan": "molecule", "maccs": "molecule", "rdk": "molecule", "gin": "molecule", "bm25": "text",
              "minilm": "text", "mmseqs": "protein", "random": "any"}


def default_gin_dir() -> Path:
    """Where `molbridge retrieve pretrain-gin` puts its run (the encoder is in `encoder/`)."""
    return cache_dir() / "models" / "gin-moses"


@dataclass
class Retrieved:
    """Top-k pool positions and scores per query (-1 / NaN where a query got nothing)."""

    indices: np.ndarray
    scores: np.ndarray
    issues: list[str] = field(default_factory=list)


def retrievers_for(task: Task) -> list[str]:
    return [name for name, compares in RETRIEVERS.items() if compares in (task.query, "any")]


def check_retriever(task: Task, retriever: str) -> None:
    """A retriever that compares what `task` is searched by (its molecule or its input text)."""
    if retriever not in retrievers_for(task):
        known = ", ".join(retrievers_for(task)) or "none"
        raise ConventionError(f"retriever {retriever!r} does not apply to {task.name} (searched by its {task.query}); "
                              f"use one of: {known}")


def retrieve(task: Task, retriever: str, pool: Sequence[Record], queries: Sequence[Record], k: int = 1, *,
             seed: int = 0, exclude_self: bool = False, ties: str = "lowest",
             encoder: str | Path | None = None) -> Retrieved:
    """Top-k pool records for each query record, by what `task` is searched by.

    `exclude_self` never returns a query's own record (same id). `encoder`: the GIN encoder
    directory (default: the pre-trained one in the cache) or a sentence-transformers directory
    for `minilm` (default: the packaged MiniLM).
    """
    check_retriever(task, retriever)
    exclude = [q.id for q in queries] if exclude_self else None
    pool_ids = [p.id for p in pool]
    if retriever == "random":
        return _random(pool_ids, queries, k, seed, exclude)
    if retriever == "mmseqs":
        return _mmseqs(pool, queries, k, exclude)
    if RETRIEVERS[retriever] == "text":
        pool_texts, query_texts = [task.source.get(p) for p in pool], [task.source.get(q) for q in queries]
        if retriever == "bm25":
            from molbridge.retrieval.bm25 import BM25Index, check_ties

            index = BM25Index.build(pool_ids, pool_texts)
            scores, indices = index.search(query_texts, k, exclude_ids=exclude, ties=check_ties(ties))
            return Retrieved(indices, scores)
        return _minilm(pool_ids, pool_texts, [q.id for q in queries], query_texts, k, exclude, encoder)
    pool_smiles, query_smiles = [task.molecule(p) for p in pool], [task.molecule(q) for q in queries]
    if retriever == "gin":
        return _gin(pool_ids, pool_smiles, [q.id for q in queries], query_smiles, k, exclude, encoder)
    return _fingerprints(retriever, pool_ids, pool_smiles, [q.id for q in queries], query_smiles, k, exclude)


def _dense_search(pool_ids: Sequence[str], pool_rows: np.ndarray, pool_vectors: np.ndarray, n_queries: int,
                  query_rows: np.ndarray, query_vectors: np.ndarray, k: int,
                  exclude: list[str] | None) -> tuple[np.ndarray, np.ndarray]:
    """Cosine top-k of the embedded queries over the embedded pool, as pool positions."""
    from molbridge.retrieval.dense_index import DenseIndex

    indices = np.full((n_queries, k), -1, np.int64)
    scores = np.full((n_queries, k), np.nan)
    if len(pool_rows) and len(query_rows):
        index = DenseIndex.build([pool_ids[i] for i in pool_rows], pool_vectors, metric="cosine")
        s, idx = index.search(query_vectors, k, exclude_ids=[exclude[i] for i in query_rows] if exclude else None)
        indices[query_rows] = np.append(pool_rows, -1)[idx]  # -1 (no neighbour) maps to the appended -1
        scores[query_rows] = s
    return indices, scores


def _gin(pool_ids: Sequence[str], pool_smiles: Sequence[str], query_ids: Sequence[str], query_smiles: Sequence[str],
         k: int, exclude: list[str] | None, encoder: str | Path | None) -> Retrieved:
    from molbridge.models.gin import GINEncoder, embed_smiles

    directory = Path(encoder) if encoder is not None else default_gin_dir() / "encoder"
    if encoder is None and not directory.is_dir():
        raise MissingResourceError(f"no pre-trained GIN encoder at {directory}; run `molbridge retrieve pretrain-gin` "
                                   "first (about 4 minutes on 2 cores) or pass --encoder DIR")
    model = GINEncoder.load(directory)
    in_pool, in_queries = embed_smiles(model, pool_smiles), embed_smiles(model, query_smiles)
    indices, scores = _dense_search(pool_ids, in_pool.positions, in_pool.vectors, len(query_ids), in_queries.positions,
                                    in_queries.vectors, k, exclude)
    issues = [f"pool record {pool_ids[i]} not indexed: {reason}" for i, reason in in_pool.failures]
    issues += [f"query {query_ids[i]}: {reason}; no neighbour" for i, reason in in_queries.failures]
    return Retrieved(indices, scores, issues)


def _minilm(pool_ids: Sequence[str], pool_texts: Sequence[str], query_ids: Sequence[str], query_texts: Sequence[str],
            k: int, exclude: list[str] | None, encoder: str | Path | None) -> Retrieved:
    from molbridge.retrieval.text_encoder import TextEncoder

    model = TextEncoder.load(encoder)
    pool_rows = np.array([i for i, t in enumerate(pool_texts) if t.strip()], np.int64)
    query_rows = np.array([i for i, t in enumerate(query_texts) if t.strip()], np.int64)
    indices, scores = _dense_search(pool_ids, pool_rows, model.encode([pool_texts[i] for i in pool_rows]),
                                    len(query_ids), query_rows, model.encode([query_texts[i] for i in query_rows]),
                                    k, exclude)
    issues = [f"pool record {i} not indexed: empty text" for i, t in zip(pool_ids, pool_texts) if not t.strip()]
    issues += [f"query {i}: empty text; no neighbour" for i, t in zip(query_ids, query_texts) if not t.strip()]
    return Retrieved(indices, scores, issues)


def _mmseqs(pool: Sequence[Record], queries: Sequence[Record], k: int, exclude: list[str] | None) -> Retrieved:
    from molbridge.protein.search import nearest_sequences

    pool_sequences = [p.modalities.protein_sequence or "" for p in pool]
    query_sequences = [q.modalities.protein_sequence or "" for q in queries]
    own: dict[str, list[int]] = {}
    for position, record in enumerate(pool):
        own.setdefault(record.id, []).append(position)
    hits = nearest_sequences(pool_sequences, query_sequences, k,
                             exclude=[own.get(rid, []) for rid in exclude] if exclude else None)
    issues = [f"pool record {p.id} not indexed: no protein sequence" for p, s in zip(pool, pool_sequences) if not s]
    issues += [f"query {q.id}: no protein sequence; no neighbour" for q, s in zip(queries, query_sequences) if not s]
    return Retrieved(hits.indices, hits.bits, issues)


@lru_cache(maxsize=64)
def _pool_index(kind: str, pool_ids: tuple[str, ...], pool_smiles: tuple[str, ...],
                ) -> tuple[FingerprintIndex, list[tuple[str, str]]]:
    """A pool's fingerprint index, kept for the process: one pool is searched by training, held-out and
    copy-baseline queries in turn (the quickstart's), and featurising it is most of a search's time."""
    return FingerprintIndex.from_smiles(list(pool_ids), list(pool_smiles), kind=kind)


def _fingerprints(kind: str, pool_ids: Sequence[str], pool_smiles: Sequence[str], query_ids: Sequence[str],
                  query_smiles: Sequence[str], k: int, exclude: list[str] | None) -> Retrieved:
    index, failed = _pool_index(kind, tuple(pool_ids), tuple(pool_smiles))
    issues = [f"pool record {rid} not indexed: {reason}" for rid, reason in failed]
    spec: FingerprintSpec = index.spec
    batch = map_molecules(spec.featurize, list(query_smiles))
    valid = [(i, fp) for i, fp in enumerate(batch.values) if fp is not None]
    ok = [i for i, _ in valid]
    indices = np.full((len(query_ids), k), -1, np.int64)
    scores = np.full((len(query_ids), k), np.nan)
    if ok:
        s, idx = index.search([fp for _, fp in valid], k,
                              exclude_ids=[exclude[i] for i in ok] if exclude else None)
        # map index rows (valid pool molecules only) back to pool positions
        position = {rid: i for i, rid in enumerate(pool_ids)}
        pool_pos = np.array([position[rid] for rid in index.ids] + [-1], np.int64)
        indices[ok] = pool_pos[idx]  # -1 maps to the appended -1
        scores[ok] = s
    issues += [f"query {query_ids[i]}: {err.reason}; no neighbour" for i, err in enumerate(batch.errors)
               if err is not None]
    return Retrieved(indices, scores, issues)


def _random(pool_ids: Sequence[str], queries: Sequence[Record], k: int, seed: int,
            exclude: list[str] | None) -> Retrieved:
    rng = np.random.default_rng(seed)
    indices = np.full((len(queries), k), -1, np.int64)
    for row, query in enumerate(queries):
        allowed = [i for i, rid in enumerate(pool_ids) if not exclude or rid != query.id]
        chosen: np.ndarray | list[int] = []
        if allowed:
            chosen = rng.choice(allowed, size=min(k, len(allowed)), replace=False)
        indices[row, : len(chosen)] = chosen
    return Retrieved(indices, np.where(indices >= 0, 0.0, np.nan))


def copied_answers(task: Task, found: Retrieved, pool: Sequence[Record], queries: Sequence[Record], *,
                   stored: bool = False) -> list[str]:
    """Each query's answer from its best pool record: the record's target, or the task's `copy_answer` of the
    two ("" where a query got none: scored invalid, never dropped)."""
    def answer(query: Record, best: int) -> str:
        if best < 0:
            return ""
        if task.copy_answer is not None:
            return task.copy_answer(query, pool[best])
        return task.target.get(pool[best], stored=stored)

    return [answer(query, int(best)) for query, best in zip(queries, found.indices[:, 0], strict=True)]


def copy_predictions(task: Task, retriever: str, pool: Sequence[Record], test: Sequence[Record], *, seed: int = 0,
                     ties: str = "lowest", encoder: str | Path | None = None,
                     ) -> tuple[list[tuple[str, str, str]], list[str]]:
    """MolT5-format rows `(input, ground truth, output)` copying the nearest pool answer, and issues.

    Texts are written as the source file stores them (ChEBI-20's doubled backslashes included), as
    the published protocol did; RDKit reads them either way."""
    found = retrieve(task, retriever, pool, test, 1, seed=seed, ties=ties, encoder=encoder)
    outputs = copied_answers(task, found, pool, test, stored=True)
    rows = [(task.source.get(r, stored=True), task.target.get(r, stored=True), output)
            for r, output in zip(test, outputs, strict=True)]
    return rows, found.issues
