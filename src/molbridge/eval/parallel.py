"""A small process pool for CPU-bound scoring (RDKit, nltk), fed explicit chunks.

Scoring is Python and RDKit code that holds the GIL, so threads do not help. Pools fork, so a
pool started after the parent loaded a resource (WordNet) shares it copy-on-write. With one
worker everything runs in-process.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


def default_workers() -> int:
    """Usable cores (respects CPU affinity), or `$MOLBRIDGE_WORKERS` when set."""
    env = os.environ.get("MOLBRIDGE_WORKERS")
    if env:
        return max(1, int(env))
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


class Mapper(Protocol):
    def map(self, fn: Callable[[Any], T], chunks: Sequence[Any]) -> list[T]: ...


class _InProcess:
    def map(self, fn: Callable[[Any], T], chunks: Sequence[Any]) -> list[T]:
        return [fn(chunk) for chunk in chunks]


class _Pool:
    def __init__(self, pool) -> None:
        self._pool = pool

    def map(self, fn: Callable[[Any], T], chunks: Sequence[Any]) -> list[T]:
        return self._pool.map(fn, chunks, chunksize=1)


@contextmanager
def process_pool(workers: int | None = None) -> Iterator[Mapper]:
    """A mapper over `workers` processes (default: usable cores)."""
    workers = workers or default_workers()
    if workers <= 1:
        yield _InProcess()
        return
    method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
    with mp.get_context(method).Pool(workers) as pool:
        yield _Pool(pool)


def split(n_items: int, workers: int | None = None, per_worker: int = 4, min_chunk: int = 100) -> list[slice]:
    """Consecutive slices covering range(n_items), a few per worker for load balance."""
    workers = workers or default_workers()
    n_chunks = max(1, min(workers * per_worker, n_items // min_chunk))
    step = -(-n_items // n_chunks) if n_items else 1
    return [slice(s, min(n_items, s + step)) for s in range(0, n_items, step)]
