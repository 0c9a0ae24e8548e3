"""What reading a source reports besides its items, and the option types source configs share.

Readers never stop at a bad row: it becomes a `Problem` (where, why); counters (`counts`) and
short facts (`notes`, e.g. which clustering method ran) go to the dataset card.
"""

from __future__ import annotations

import os
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
    """A path a config names must exist when the config is read, not when the build reaches it.

    `~` and environment variables (`${MOL_INSTRUCTIONS_DATA}/uspto.csv`) are expanded, so one config
    serves every machine; an unset variable stays as written and the path is reported missing.
    """
    path = Path(os.path.expandvars(value)).expanduser()
    if not path.exists():
        raise ValueError(f"{value} does not exist" + (f" (read as {path})" if str(path) != value else ""))
    return str(path)


ExistingPath = Annotated[str, AfterValidator(_exists)]
