"""Dynamic batching of generation requests: one worker thread per run takes whatever requests are waiting (up to
a batch of examples, or after a short wait for more) and answers them in one `generate` call.

Why a thread and futures: generation is synchronous PyTorch work that must never run on the event loop (a slow
answer would stall molecule and scoring requests); a request whose client left is cancelled and skipped, so it
costs no generation.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)


@dataclass
class Job:
    items: list[Any]  # examples of one request, answered together
    max_new_tokens: int | None
    future: Future = field(default_factory=Future)


class Batcher:
    """Collects jobs for `answer(items, max_new_tokens)` into batches of at most `max_batch` items."""

    def __init__(self, name: str, answer: Callable[[list[Any], int | None], list[Any]], *, max_batch: int,
                 wait_s: float, on_batch: Callable[[int], None] | None = None) -> None:
        self.name, self._answer, self.max_batch, self.wait_s = name, answer, max_batch, wait_s
        self._on_batch = on_batch
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._thread = threading.Thread(target=self._work, name=f"generate-{name}", daemon=True)
        self._thread.start()

    def submit(self, items: list[Any], max_new_tokens: int | None) -> Future:
        job = Job(items, max_new_tokens)
        self._queue.put(job)
        return job.future

    @property
    def queued(self) -> int:
        """Requests waiting for the worker."""
        return self._queue.qsize()

    def close(self, timeout: float | None = None) -> None:
        """Answer what is queued, then stop the worker."""
        self._queue.put(None)
        self._thread.join(timeout)

    def _collect(self, first: Job) -> tuple[list[Job], bool]:
        """Jobs with the same token budget as `first`, up to `max_batch` items or `wait_s`; (jobs, stop asked)."""
        jobs, size, deadline, later = [first], len(first.items), time.monotonic() + self.wait_s, []
        stop = False
        while size < self.max_batch:
            try:
                job = self._queue.get(timeout=max(deadline - time.monotonic(), 0))
            except queue.Empty:
                break
            if job is None:
                stop = True
                break
            if job.max_new_tokens != first.max_new_tokens or size + len(job.items) > self.max_batch:
                later.append(job)
                break
            jobs.append(job)
            size += len(job.items)
        for job in later:
            self._queue.put(job)
        if stop:
            self._queue.put(None)
        return jobs, stop

    def _work(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                if self._queue.empty():
                    return
                self._queue.put(None)  # a job put back behind the stop: answer it first
                continue
            jobs, _ = self._collect(first)
            live = [job for job in jobs if job.future.set_running_or_notify_cancel()]
            if not live:
                continue
            items = [item for job in live for item in job.items]
            if self._on_batch is not None:
                self._on_batch(len(items))
            try:
                answers = self._answer(items, first.max_new_tokens)
            except Exception as err:  # the requests fail with the reason; the worker goes on
                log.exception("generation failed in run %s", self.name)
                for job in live:
                    job.future.set_exception(err)
                continue
            start = 0
            for job in live:
                job.future.set_result(answers[start:start + len(job.items)])
                start += len(job.items)
