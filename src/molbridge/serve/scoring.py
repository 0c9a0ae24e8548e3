"""Scoring for the API: an uploaded prediction file or JSON pairs through the same engine as `molbridge eval`,
and FCD (tens of seconds) as a job the client polls.

An upload is written to a fresh private temporary directory (never a fixed path, never a client-named path) and
removed when scored; the report names the upload by the client's file name only.
"""

from __future__ import annotations

import logging
import math
import re
import tempfile
import threading
import uuid
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

from molbridge.errors import FileFormatError, MolbridgeError
from molbridge.eval.engine import score_file, score_pairs
from molbridge.eval.predictions import PredictionPair, PredictionSet

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScoreRequest:
    task: str
    convention: str
    fcd: bool
    bootstrap: int | None


def score_upload(data: bytes, filename: str, fmt: str, request: ScoreRequest, text_tokenizer: str | None) -> dict:
    """The engine's JSON report of an uploaded prediction file."""
    name = safe_name(filename)
    with tempfile.TemporaryDirectory(prefix="molbridge-upload-") as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        try:
            report, pairs = score_file(path, request.task, fmt=fmt, convention=request.convention,
                                       text_tokenizer=text_tokenizer, fcd=request.fcd, workers=1,
                                       bootstrap=request.bootstrap)
        except FileFormatError as err:  # name the upload as the client knows it, not our temporary path
            raise FileFormatError(name, err.line, err.reason) from None
    out = report.to_dict()
    out["file"] = name
    out["issues"] = [issue.replace(str(path), name) for issue in pairs.issues]
    return finite(out)


def score_json_pairs(pairs: list[tuple[str, str | None]], request: ScoreRequest, text_tokenizer: str | None) -> dict:
    """The engine's JSON report of (reference, prediction) pairs; a None prediction is scored invalid."""
    found = PredictionSet("request", "json", request.task,
                          [PredictionPair(f"pair {i}", ref, pred) for i, (ref, pred) in enumerate(pairs)])
    report = score_pairs(found, convention=request.convention, text_tokenizer=text_tokenizer, fcd=request.fcd,
                         workers=1, bootstrap=request.bootstrap)
    return finite(report.to_dict())


class JobsFull(MolbridgeError, RuntimeError):
    """Too many scoring jobs waiting; the client should retry later."""


class ScoreJobs:
    """Long scoring runs on one worker thread: at most `limit` unfinished at once, finished ones kept by id until
    `keep` newer jobs have pushed them out."""

    def __init__(self, limit: int, keep: int = 256) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="score-job")
        self._jobs: OrderedDict[str, Future] = OrderedDict()
        self._lock = threading.Lock()
        self._limit, self._keep = limit, keep

    def submit(self, fn, *args: Any) -> str:
        job_id = uuid.uuid4().hex
        with self._lock:
            unfinished = sum(1 for f in self._jobs.values() if not f.done())
            if unfinished >= self._limit:
                raise JobsFull(f"{unfinished} scoring jobs are waiting or running; try again later")
            self._jobs[job_id] = self._pool.submit(fn, *args)
            while len(self._jobs) > self._keep and next(iter(self._jobs.values())).done():
                self._jobs.popitem(last=False)
        return job_id

    def status(self, job_id: str) -> dict | None:
        """{"status": queued|running|done|failed, "report"|"error"}; None for an unknown id."""
        with self._lock:
            future = self._jobs.get(job_id)
        if future is None:
            return None
        if not future.done():
            return {"id": job_id, "status": "running" if future.running() else "queued"}
        err = future.exception()
        if isinstance(err, MolbridgeError):
            return {"id": job_id, "status": "failed", "error": type(err).__name__, "detail": str(err)}
        if err is not None:
            log.error("scoring job %s failed", job_id, exc_info=err)
            return {"id": job_id, "status": "failed", "error": "InternalError",
                    "detail": "the scoring job failed; the server's log has the details"}
        return {"id": job_id, "status": "done", "report": future.result()}

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def finite(value: Any) -> Any:
    """The report with NaN and infinities as None (JSON has no NaN; an empty group's mean is one)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


def safe_name(filename: str) -> str:
    """The upload's name for reports and the temporary file: letters, digits, `._-` only, at most 100 characters."""
    name = re.sub(r"[^A-Za-z0-9._-]", "_", PurePath(filename or "").name)[-100:].lstrip(".")
    return name or "upload"
