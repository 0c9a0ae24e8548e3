"""Training-free baselines: answer each test record with its nearest pool record's answer.

Molecule → caption retrieves by molecule (fingerprint Tanimoto) and copies the pool caption;
caption → molecule retrieves by caption (BM25) and copies the pool SMILES; `gin` (a pre-trained
graph encoder, `molbridge retrieve pretrain-gin`) and `minilm` (the MiniLM sentence encoder)
retrieve by cosine of learned embeddings; `random` copies a seeded random pool record. On the ChEBI-20 val→test protocol, Morgan (radius 2, 2,048 bits,
ties to the first pool record) and BM25 (bm25s defaults, bm25s's own order among exactly tied
scores) reproduce ../shared/REFERENCE.md §C exactly. Copied SMILES are written as the table
stores them (ChEBI-20's doubled backslashes included), as that protocol did; RDKit reads them.
A test record whose query cannot be featurised still gets a row (an empty output, scored as
invalid) and an issue line; pool records that cannot be indexed are reported, not hidden.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from molbridge.cache import cache_dir
from molbridge.chem.batch import map_molecules
from molbridge.data.sources.chebi20 import ChEBI20Record
from molbridge.errors import ConventionError, MissingResourceError
from molbridge.retrieval.fingerprint_index import FingerprintIndex, FingerprintSpec

FINGERPRINT_RETRIEVERS = ("morgan", "maccs", "rdk")
RETRIEVERS = {"mol2text": (*FINGERPRINT_RETRIEVERS, "gin", "random"), "text2mol": ("bm25", "minilm", "random")}


def default_gin_dir() -> Path:
    """Where `molbridge retrieve pretrain-gin` puts its run (the encoder is in `encoder/`)."""
    return cache_dir() / "models" / "gin-moses"


@dataclass
class Retrieved:
    """Top-k pool positions and scores per query (-1 / NaN where a query got nothing)."""

    indices: np.ndarray
    scores: np.ndarray
    issues: list[str] = field(default_factory=list)


def check_retriever(task: str, retriever: str) -> None:
    if task not in RETRIEVERS:
        raise ConventionError(f"unknown task {task!r}; expected mol2text or text2mol")
    if retriever not in RETRIEVERS[task]:
        raise ConventionError(f"retriever {retriever!r} does not apply to {task}; use one of {', '.join(RETRIEVERS[task])}")


def retrieve(task: str, retriever: str, pool: Sequence[ChEBI20Record], queries: Sequence[ChEBI20Record],
             k: int = 1, *, seed: int = 0, exclude_self: bool = False, ties: str = "bm25s",
             encoder: str | Path | None = None) -> Retrieved:
    """Top-k pool records for each query record (by molecule for mol2text, by caption for text2mol).

    `ties` (BM25 only): "bm25s" keeps the library's order among exactly equal scores (it reproduces
    published numbers, but follows numpy's vectorised selection, which differs between CPUs);
    "lowest" gives them to the first pool record on every machine. `encoder`: the GIN encoder
    directory (default: the pre-trained one in the cache) or a sentence-transformers directory
    for `minilm` (default: the packaged MiniLM).
    """
    check_retriever(task, retriever)
    exclude = [q.cid for q in queries] if exclude_self else None
    if retriever == "random":
        return _random(len(pool), queries, k, seed, exclude, [p.cid for p in pool])
    if retriever == "bm25":
        from molbridge.retrieval.bm25 import BM25Index

        index = BM25Index.build([p.cid for p in pool], [p.description for p in pool])
        scores, indices = index.search([q.description for q in queries], k, exclude_ids=exclude, ties=ties)
        return Retrieved(indices, scores)
    if retriever == "gin":
        return _gin(pool, queries, k, exclude, encoder)
    if retriever == "minilm":
        return _minilm(pool, queries, k, exclude, encoder)
    return _fingerprints(retriever, pool, queries, k, exclude)


def _dense_search(pool: Sequence[ChEBI20Record], pool_rows: np.ndarray, pool_vectors: np.ndarray,
                  queries: Sequence[ChEBI20Record], query_rows: np.ndarray, query_vectors: np.ndarray, k: int,
                  exclude: list[str] | None) -> tuple[np.ndarray, np.ndarray]:
    """Cosine top-k of the embedded queries over the embedded pool, as pool positions."""
    from molbridge.retrieval.dense_index import DenseIndex

    indices = np.full((len(queries), k), -1, np.int64)
    scores = np.full((len(queries), k), np.nan)
    if len(pool_rows) and len(query_rows):
        index = DenseIndex.build([pool[i].cid for i in pool_rows], pool_vectors, metric="cosine")
        s, idx = index.search(query_vectors, k, exclude_ids=[exclude[i] for i in query_rows] if exclude else None)
        indices[query_rows] = np.append(pool_rows, -1)[idx]  # -1 (no neighbour) maps to the appended -1
        scores[query_rows] = s
    return indices, scores


def _gin(pool: Sequence[ChEBI20Record], queries: Sequence[ChEBI20Record], k: int, exclude: list[str] | None,
         encoder: str | Path | None) -> Retrieved:
    from molbridge.models.gin import GINEncoder, embed_smiles

    directory = Path(encoder) if encoder is not None else default_gin_dir() / "encoder"
    if encoder is None and not directory.is_dir():
        raise MissingResourceError(f"no pre-trained GIN encoder at {directory}; run `molbridge retrieve pretrain-gin` "
                                   "first (about 4 minutes on 2 cores) or pass --encoder DIR")
    model = GINEncoder.load(directory)
    in_pool, in_queries = embed_smiles(model, [p.smiles for p in pool]), embed_smiles(model, [q.smiles for q in queries])
    indices, scores = _dense_search(pool, in_pool.positions, in_pool.vectors, queries, in_queries.positions,
                                    in_queries.vectors, k, exclude)
    issues = [f"pool CID {pool[i].cid} not indexed: {reason}" for i, reason in in_pool.failures]
    issues += [f"query CID {queries[i].cid}: {reason}; no neighbour" for i, reason in in_queries.failures]
    return Retrieved(indices, scores, issues)


def _minilm(pool: Sequence[ChEBI20Record], queries: Sequence[ChEBI20Record], k: int, exclude: list[str] | None,
            encoder: str | Path | None) -> Retrieved:
    from molbridge.retrieval.text_encoder import TextEncoder

    model = TextEncoder.load(encoder)
    pool_rows = np.array([i for i, p in enumerate(pool) if p.description.strip()], np.int64)
    query_rows = np.array([i for i, q in enumerate(queries) if q.description.strip()], np.int64)
    indices, scores = _dense_search(pool, pool_rows, model.encode([pool[i].description for i in pool_rows]),
                                    queries, query_rows, model.encode([queries[i].description for i in query_rows]),
                                    k, exclude)
    issues = [f"pool CID {p.cid} not indexed: empty caption" for p in pool if not p.description.strip()]
    issues += [f"query CID {q.cid}: empty caption; no neighbour" for q in queries if not q.description.strip()]
    return Retrieved(indices, scores, issues)


def _fingerprints(kind: str, pool: Sequence[ChEBI20Record], queries: Sequence[ChEBI20Record], k: int,
                  exclude: list[str] | None) -> Retrieved:
    index, failed = FingerprintIndex.from_smiles([p.cid for p in pool], [p.smiles for p in pool], kind=kind)
    issues = [f"pool CID {cid} not indexed: {reason}" for cid, reason in failed]
    spec: FingerprintSpec = index.spec
    batch = map_molecules(spec.featurize, [q.smiles for q in queries])
    ok = [i for i, fp in enumerate(batch.values) if fp is not None]
    indices = np.full((len(queries), k), -1, np.int64)
    scores = np.full((len(queries), k), np.nan)
    if ok:
        s, idx = index.search([batch.values[i] for i in ok], k,
                              exclude_ids=[exclude[i] for i in ok] if exclude else None)
        # map index rows (valid pool molecules only) back to pool positions
        position = {cid: i for i, cid in enumerate(p.cid for p in pool)}
        pool_pos = np.array([position[cid] for cid in index.ids] + [-1], np.int64)
        indices[ok] = pool_pos[idx]  # -1 maps to the appended -1
        scores[ok] = s
    issues += [f"query CID {queries[i].cid}: {err.reason}; no neighbour"
               for i, err in enumerate(batch.errors) if err is not None]
    return Retrieved(indices, scores, issues)


def _random(n_pool: int, queries: Sequence[ChEBI20Record], k: int, seed: int, exclude: list[str] | None,
            pool_ids: list[str]) -> Retrieved:
    rng = np.random.default_rng(seed)
    indices = np.full((len(queries), k), -1, np.int64)
    for row, query in enumerate(queries):
        allowed = [i for i in range(n_pool) if not exclude or pool_ids[i] != query.cid]
        chosen = rng.choice(allowed, size=min(k, len(allowed)), replace=False) if allowed else []
        indices[row, : len(chosen)] = chosen
    return Retrieved(indices, np.where(indices >= 0, 0.0, np.nan))


def copy_predictions(task: str, retriever: str, pool: Sequence[ChEBI20Record], test: Sequence[ChEBI20Record],
                     *, seed: int = 0, ties: str = "bm25s", encoder: str | Path | None = None,
                     ) -> tuple[list[tuple[str, str, str]], list[str]]:
    """MolT5-format rows `(input, ground truth, output)` copying the nearest pool answer, and issues."""
    found = retrieve(task, retriever, pool, test, 1, seed=seed, ties=ties, encoder=encoder)
    rows = []
    for record, best in zip(test, found.indices[:, 0]):
        source, truth = ((record.smiles_raw, record.description) if task == "mol2text"
                         else (record.description, record.smiles_raw))
        if best < 0:
            output = ""
        else:
            output = pool[best].description if task == "mol2text" else pool[best].smiles_raw
        rows.append((source, truth, output))
    return rows, found.issues
