"""Neighbour files in ICMA's format: `query_CID \\t neighbour_CID \\t score`, k rows per query.

ICMA and MolReGPT ship retrieval results as such files (`{split}_10_shot_{task}_{method}.txt`)
so that prompting and tuning can be rerun without recomputing retrieval. Rows of one query
are contiguous and ordered best first. Writes are atomic (temp file + rename).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from molbridge.atomic import write_text
from molbridge.data.tables import read_text
from molbridge.errors import FileFormatError


@dataclass(frozen=True)
class Neighbours:
    """Per query id, its neighbour ids and scores, best first."""

    by_query: dict[str, list[tuple[str, float]]]

    def ids(self, query: str) -> list[str]:
        return [n for n, _ in self.by_query[query]]


def from_search(query_ids: Sequence[str], pool_ids: Sequence[str], indices: np.ndarray,
                scores: np.ndarray) -> Neighbours:
    """Neighbours from a top-k search result; padded slots (index -1) are left out."""
    out: dict[str, list[tuple[str, float]]] = {}
    for q, row_idx, row_scores in zip(query_ids, indices, scores):
        out[q] = [(pool_ids[int(i)], float(s)) for i, s in zip(row_idx, row_scores) if i >= 0]
    return Neighbours(out)


def write_neighbours(path: str | Path, neighbours: Neighbours) -> None:
    """Write ICMA's three-column file (no header), atomically."""
    write_text(path, "".join(f"{query}\t{neighbour}\t{score!r}\n" for query, rows in neighbours.by_query.items()
                             for neighbour, score in rows))


def read_neighbours(path: str | Path) -> Neighbours:
    """Read a neighbour file; malformed lines raise `FileFormatError` with the line number."""
    out: dict[str, list[tuple[str, float]]] = {}
    last = None
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 3:
            raise FileFormatError(str(path), number, f"expected 3 tab-separated fields, got {len(fields)}")
        query, neighbour, text = (f.strip() for f in fields)
        try:
            score = float(text)
        except ValueError:
            raise FileFormatError(str(path), number, f"score is not a number: {text!r}") from None
        if not query or not neighbour or math.isnan(score):
            raise FileFormatError(str(path), number, "empty id or NaN score")
        if query in out and query != last:
            raise FileFormatError(str(path), number, f"rows of query {query!r} are not contiguous")
        out.setdefault(query, []).append((neighbour, score))
        last = query
    if not out:
        raise FileFormatError(str(path), None, "no neighbour rows")
    return Neighbours(out)
