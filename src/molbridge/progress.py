"""The one progress policy: the library reports, only the command line draws.

Long jobs (building, training, generating, scoring, downloading) take an optional `progress`
callback and call it with a `Progress` event as work completes; they also log each event at
DEBUG. They never print or draw: a notebook, a server or a test passes its own callback, and
the CLI turns events into bars (`molbridge.cli.progress`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

log = logging.getLogger("molbridge.progress")


@dataclass(frozen=True)
class Progress:
    """`done` of `total` units of one stage of a job (total None: unknown); `note` adds a live detail for people,
    `values` the same numbers for programs (e.g. the loss)."""

    stage: str
    done: int
    total: int | None = None
    unit: str = "items"
    note: str = ""
    values: Mapping[str, float] = field(default_factory=dict)


ProgressFn = Callable[[Progress], None]


def report(progress: ProgressFn | None, stage: str, done: int, total: int | None = None, *, unit: str = "items",
           note: str = "", values: Mapping[str, float] | None = None) -> None:
    """Send one event to `progress` (when given) and to the debug log."""
    event = Progress(stage, done, total, unit, note, dict(values or {}))
    log.debug("%s: %s/%s %s %s", stage, done, total if total is not None else "?", unit, note)
    if progress is not None:
        progress(event)
