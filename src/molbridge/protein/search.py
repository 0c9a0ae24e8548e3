"""Nearest protein sequences by MMseqs2 alignment (`mmseqs easy-search`, Debian package `mmseqs2`).

The protein counterpart of fingerprint search: each query's top-k pool sequences ranked by
alignment bit score (ties to the first pool sequence), with their sequence identity. Identical
pool sequences are searched once. A query MMseqs2 finds nothing for (no hit at sensitivity 7.5,
or an empty sequence) gets no neighbour rather than a random one.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from molbridge.errors import MissingResourceError, MolbridgeError

SENSITIVITY = 7.5  # MMseqs2's most sensitive preset: a baseline should find remote homologues across cluster splits


class ProteinSearchError(MolbridgeError, RuntimeError):
    """MMseqs2 failed on a search (its own message is kept)."""


@dataclass(frozen=True)
class Hits:
    """(queries, k) pool positions (-1: none), bit scores and identities (NaN: none)."""

    indices: np.ndarray
    bits: np.ndarray
    identity: np.ndarray


def nearest_sequences(pool: Sequence[str], queries: Sequence[str], k: int = 1, *, threads: int = 1,
                      exclude: Sequence[Sequence[int]] | None = None) -> Hits:
    """Top-k pool positions per query; `exclude[q]` lists pool positions query q may not return (itself)."""
    if shutil.which("mmseqs") is None:
        raise MissingResourceError("protein search needs MMseqs2: install Debian's mmseqs2 (`apt-get install mmseqs2`)")
    indices = np.full((len(queries), k), -1, np.int64)
    bits, identity = np.full((len(queries), k), np.nan), np.full((len(queries), k), np.nan)
    distinct: dict[str, list[int]] = defaultdict(list)  # sequence → pool positions, in pool order
    for position, sequence in enumerate(pool):
        if sequence:
            distinct[sequence].append(position)
    targets = list(distinct)
    asked = [q for q, sequence in enumerate(queries) if sequence]
    if not targets or not asked:
        return Hits(indices, bits, identity)
    ranked: dict[int, list[tuple[float, int, float]]] = defaultdict(list)
    for query, target, score, fident in _search([queries[q] for q in asked], targets, threads,
                                                extra=k + max((len(e) for e in exclude or ()), default=0)):
        q = asked[query]
        for position in distinct[targets[target]]:
            ranked[q].append((-score, position, fident))
    for q, hits in ranked.items():
        excluded = set(exclude[q]) if exclude else set()
        kept = [hit for hit in sorted(hits) if hit[1] not in excluded][:k]
        for column, (negative_bits, position, fident) in enumerate(kept):
            indices[q, column], bits[q, column], identity[q, column] = position, -negative_bits, fident
    return Hits(indices, bits, identity)


def _search(queries: list[str], targets: list[str], threads: int, extra: int) -> list[tuple[int, int, float, float]]:
    """(query row, target row, bit score, identity) of every alignment MMseqs2 reports."""
    with tempfile.TemporaryDirectory(prefix="molbridge-mmseqs-") as work:
        root = Path(work)
        (root / "q.fasta").write_text("".join(f">{i}\n{s}\n" for i, s in enumerate(queries)))
        (root / "t.fasta").write_text("".join(f">{i}\n{s}\n" for i, s in enumerate(targets)))
        command = ["mmseqs", "easy-search", str(root / "q.fasta"), str(root / "t.fasta"), str(root / "hits.m8"),
                   str(root / "tmp"), "--format-output", "query,target,bits,fident", "--threads", str(threads),
                   "--max-seqs", str(max(300, extra)), "-s", str(SENSITIVITY), "-v", "1"]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise ProteinSearchError(f"mmseqs easy-search failed: {done.stderr.strip()[-400:]}")
        rows = []
        for line in (root / "hits.m8").read_text().splitlines():
            query, target, score, fident = line.split("\t")
            rows.append((int(query), int(target), float(score), float(fident)))
    return rows
