"""What reading a source reports besides its items, and the option types source configs share.

Readers never stop at a bad row: it becomes a `Problem` (where, why); counters (`counts`) and
short facts (`notes`, e.g. which clustering method ran) go to the dataset card.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator

from molbridge.data.formats.common import Problem


@dataclass
class Reading:
    problems: list[Problem] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)
    notes: dict[str, str] = field(default_factory=dict)


def _exists(value: str) -> str:
    """A path a config names must exist when the config is read, not when the build reaches it."""
    if not Path(value).expanduser().exists():
        raise ValueError(f"{value} does not exist")
    return str(Path(value).expanduser())


ExistingPath = Annotated[str, AfterValidator(_exists)]
