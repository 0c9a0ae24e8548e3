"""Progress bars on stderr for library progress events (`molbridge.progress`): the only place that draws."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from molbridge.progress import Progress as Event
from molbridge.progress import ProgressFn


@contextmanager
def progress_bars(enabled: bool = True) -> Iterator[ProgressFn | None]:
    """A callback drawing one bar per stage (None when disabled, e.g. `--quiet` or `--json`)."""
    if not enabled:
        yield None
        return
    columns = (TextColumn("{task.description:<10}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[unit]}"), TimeElapsedColumn(), TimeRemainingColumn(),
               TextColumn("{task.fields[note]}"))
    with Progress(*columns, console=Console(stderr=True)) as bars:
        stages: dict[str, TaskID] = {}

        def update(event: Event) -> None:
            if event.stage not in stages:
                stages[event.stage] = bars.add_task(event.stage, total=event.total, unit=event.unit, note=event.note)
            bars.update(stages[event.stage], completed=event.done, total=event.total, note=event.note)

        yield update
