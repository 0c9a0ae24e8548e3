"""RDKit's C++ log, routed into Python logging so applications (not RDKit) decide where it goes.

RDKit writes parse and sanitisation errors to its own C++ log and only returns ``None``.
Routing that log into the ``"rdkit"`` Python logger lets callers filter, silence or
collect it with ordinary logging configuration, and lets the parser quote RDKit's own
reason in :class:`~molbridge.errors.InvalidMolecule` instead of guessing.

RDKit configures the ``"rdkit"`` logger itself on import (its own stderr handler,
level WARNING, ``propagate=False``); we deliberately leave that configuration alone.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from rdkit import rdBase

RDKIT_LOGGER_NAME = "rdkit"

# RDKit prefixes every line with a wall-clock stamp such as "[12:07:28] "; it is noise in a reason.
_TIMESTAMP = re.compile(r"^\[\d{2}:\d{2}:\d{2}\]\s*")
_enable_lock = threading.Lock()
_enabled = False


def enable_python_logging() -> None:
    """Route RDKit's log to the ``"rdkit"`` Python logger; safe to call any number of times."""
    global _enabled
    with _enable_lock:
        if not _enabled:
            rdBase.LogToPythonLogger()
            _enabled = True


def _clean_message(message: str) -> str:
    """One RDKit log line without its timestamp prefix or trailing newline."""
    return _TIMESTAMP.sub("", message).strip()


class _CollectingHandler(logging.Handler):
    """Appends messages logged by one thread, so concurrent parses do not read each other's reasons."""

    def __init__(self, sink: list[str], thread_id: int) -> None:
        super().__init__(level=logging.NOTSET)
        self._sink = sink
        self._thread_id = thread_id

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread is not None and record.thread != self._thread_id:
            return
        try:
            text = _clean_message(record.getMessage())
        except Exception:  # logging's own contract: a broken record must not break the caller
            self.handleError(record)
            return
        if text:
            self._sink.append(text)


@contextmanager
def capture_rdkit_messages() -> Iterator[list[str]]:
    """Yield a list that collects the RDKit messages this thread emits inside the block.

    A temporary handler is added to the ``"rdkit"`` logger and removed on exit; the
    logger's level, its other handlers and propagation are untouched, so nothing is lost
    for anyone else, and nested blocks each see every message of their inner blocks.
    Messages below the logger's level (WARNING unless the application changed it) are
    filtered by logging before any handler sees them, so they are not collected either.
    Relies on the routing that importing :mod:`molbridge.chem` switches on.
    """
    messages: list[str] = []
    handler = _CollectingHandler(messages, threading.get_ident())
    logger = logging.getLogger(RDKIT_LOGGER_NAME)
    logger.addHandler(handler)
    try:
        yield messages
    finally:
        logger.removeHandler(handler)


@contextmanager
def divert_rdkit_messages() -> Iterator[list[str]]:
    """Collect this thread's RDKit messages *instead of* printing them, inside the block.

    For batch jobs over model outputs (thousands of expected parse errors) that count failure
    kinds (`parse.failure_kind`) rather than print a wall of stderr. Only the ``"rdkit"`` logger's own
    handlers are swapped out, and only for the duration of the block.
    """
    enable_python_logging()
    logger = logging.getLogger(RDKIT_LOGGER_NAME)
    messages: list[str] = []
    saved = logger.handlers[:]
    logger.handlers = [_CollectingHandler(messages, threading.get_ident())]
    try:
        yield messages
    finally:
        logger.handlers = saved
