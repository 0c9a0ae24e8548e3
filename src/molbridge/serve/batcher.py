"""Dynamic batching of generation requests: one worker thread per run takes whatever requests are waiting (up to
a batch of examples, or after a short wait for more) and answers them in one `generate` call.

Why a thread and futures: generation is synchronous PyTorch work that must never run on the event loop (a slow
answer would stall molecule and scoring requests); a request whose client left is cancelled and skipped, so it
costs no generation. Each request is prepared (prompted, tokenised) on the same thread, so the run's tokenizer is
never used from two threads at once, and a request that cannot be prepared fails alone.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)


@dataclass
class Job:
    request: Any  # what `prepare` turns into items
    size: int  # items it will make (the batch budget counts them)
    max_new_tokens: int | None
    future: Future = field(default_factory=Future)
    items: list[Any] = field(default_factory=list)


class Batcher:
    """Collects jobs for `answer(items, max_new_tokens)` into batches of at most `max_batch` items."""

    def __init__(self, name: str, answer: Callable[[list[Any], int | None], list[Any]], *, max_batch: int,
                 wait_s: float, prepare: Callable[[Any], list[Any]] = list,
                 on_batch: Callable[[int], None] | None = None) -> None:
        self.name, self._answer, self._prepare, self.max_batch, self.wait_s = name, answer, prepare, max_batch, wait_s
        self._on_batch = on_batch
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._held: deque[Job] = deque()  # taken from the queue but not fitting the last batch: served first
        self._waiting = 0  # items submitted and not yet taken into a batch
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._work, name=f"generate-{name}", daemon=True)
        self._thread.start()

    def submit(self, request: Any, size: int, max_new_tokens: int | None) -> Future:
        job = Job(request, size, max_new_tokens)
        with self._lock:
            self._waiting += size
        self._queue.put(job)
        return job.future

    @property
    def waiting(self) -> int:
        """Items waiting for the worker."""
        return self._waiting

    def close(self, timeout: float | None = None) -> None:
        """Answer what is queued (within `timeout`), then stop the worker."""
        self._queue.put(None)
        self._thread.join(timeout)

    def _next(self, timeout: float | None) -> Job | None:
        if self._held:
            return self._held.popleft()
        return self._queue.get(timeout=timeout) if timeout is None or timeout > 0 else self._queue.get_nowait()

    def _taken(self, job: Job) -> None:
        with self._lock:
            self._waiting -= job.size

    def _collect(self, first: Job) -> list[Job]:
        """Jobs with the same token budget as `first`, up to `max_batch` items or `wait_s`, in arrival order."""
        jobs, size, deadline = [first], first.size, time.monotonic() + self.wait_s
        while size < self.max_batch:
            try:
                job = self._next(max(deadline - time.monotonic(), 0))
            except queue.Empty:
                break
            if job is None:  # stop asked: answer what is here, then stop after the rest
                self._queue.put(None)
                break
            if job.max_new_tokens != first.max_new_tokens or size + job.size > self.max_batch:
                self._held.appendleft(job)
                break
            self._taken(job)
            jobs.append(job)
            size += job.size
        return jobs

    def _ready(self, job: Job) -> bool:
        """Start the job (False if its client left) and prepare its items (a failure fails the job alone)."""
        if not job.future.set_running_or_notify_cancel():
            return False
        try:
            job.items = self._prepare(job.request)
        except Exception as err:
            job.future.set_exception(err)
            return False
        return True

    def _work(self) -> None:
        while True:
            first = self._next(None)
            if first is None:
                if self._held or not self._queue.empty():
                    self._queue.put(None)  # jobs behind the stop: answer them first
                    continue
                return
            self._taken(first)
            live = [job for job in self._collect(first) if self._ready(job)]
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
