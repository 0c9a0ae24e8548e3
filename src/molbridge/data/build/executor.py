"""Run build chunks in order: in this process, on a local process pool, or on a Dask cluster.

Results come back in submission order with at most `window` chunks in flight, so memory stays
bounded however long the source is, and the main process commits chunks one after another
(which is what makes a build resumable and its output independent of the worker count).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import Any

from molbridge.chem.rdkit_log import RDKIT_LOGGER_NAME as RDKIT_LOGGER


def run_ordered(fn: Callable[..., Any], calls: Iterable[tuple], *, workers: int = 1,
                scheduler: str | None = None) -> Iterator[Any]:
    """`fn(*args)` for each args tuple, yielded in order."""
    if scheduler:
        yield from _dask(fn, calls, scheduler)
    elif workers <= 1:
        for args in calls:
            yield fn(*args)
    else:
        level = logging.getLogger(RDKIT_LOGGER).level  # the application's choice (the CLI's --verbose)
        with ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_rdkit_log_level,
                                 initargs=(level,)) as pool:
            yield from _windowed(lambda args: pool.submit(fn, *args), lambda f: f.result(), calls, 2 * workers)


def _rdkit_log_level(level: int) -> None:
    """In a spawned worker: RDKit's logger at the parent's level (RDKit resets it to WARNING on import, which
    would print a warning per stereo-incomplete InChI from every worker)."""
    import molbridge.chem  # noqa: F401  (routes RDKit's log into Python logging first)

    logging.getLogger(RDKIT_LOGGER).setLevel(level)


def _dask(fn: Callable[..., Any], calls: Iterable[tuple], scheduler: str) -> Iterator[Any]:
    from distributed import Client

    with Client(scheduler) as client:
        window = 2 * max(1, sum(client.nthreads().values()))
        yield from _windowed(lambda args: client.submit(fn, *args, pure=False), lambda f: f.result(), calls, window)


def _windowed(submit: Callable, result: Callable, calls: Iterable[tuple], window: int) -> Iterator[Any]:
    pending: deque = deque()
    for args in calls:
        pending.append(submit(args))
        if len(pending) >= window:
            yield result(pending.popleft())
    while pending:
        yield result(pending.popleft())
