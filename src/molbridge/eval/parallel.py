"""Chunked work over a fork-started process pool, sharing read-only inputs copy-on-write.

Scoring is CPU-bound Python and RDKit code that holds the GIL, so threads do not help. Forked
workers inherit the already-loaded inputs (token lists, molecules' strings) and resources
(WordNet, RDKit), so only index ranges go in and compact per-item arrays come back.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_PAYLOAD: Any = None
_FN: Callable[[Any, int, int], Any] | None = None


def default_workers() -> int:
    """Usable cores (respects CPU affinity), or `$MOLBRIDGE_WORKERS` when set."""
    env = os.environ.get("MOLBRIDGE_WORKERS")
    if env:
        return max(1, int(env))
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def _run(bounds: tuple[int, int]) -> Any:
    assert _FN is not None
    return _FN(_PAYLOAD, *bounds)


def chunked_map(
    fn: Callable[[Any, int, int], T], payload: Any, n_items: int, *, workers: int | None = None,
    min_chunk: int = 200,
) -> list[T]:
    """`fn(payload, start, stop)` over consecutive chunks of `range(n_items)`, results in order.

    Runs in-process when one worker suffices, the input is small, or fork is unavailable.
    """
    global _PAYLOAD, _FN
    workers = workers or default_workers()
    n_chunks = min(workers * 4, max(1, n_items // min_chunk))
    if workers <= 1 or n_chunks <= 1 or "fork" not in mp.get_all_start_methods():
        return [fn(payload, 0, n_items)]
    step = -(-n_items // n_chunks)
    bounds = [(s, min(n_items, s + step)) for s in range(0, n_items, step)]
    # The Rust tokenizers library warns after a fork once its thread pool has run; workers do
    # not tokenize, so state that explicitly instead of printing the warning.
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    _PAYLOAD, _FN = payload, fn
    try:
        with mp.get_context("fork").Pool(min(workers, len(bounds))) as pool:
            return pool.map(_run, bounds, chunksize=1)
    finally:
        _PAYLOAD, _FN = None, None
