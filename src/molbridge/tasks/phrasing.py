"""Instruction phrasings kept as data files, and a stable choice among them per record.

Why a hash and not a random generator: a record's phrasing then depends only on its id, so a
build gives the same dataset whatever the chunking, the number of workers or a resume point.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from molbridge.errors import MolbridgeError


class PhrasingError(MolbridgeError, ValueError):
    """A phrasing file that is missing, malformed, or too thin (fewer than the required phrasings)."""


MIN_PHRASINGS = 10
_directory: str | None = None  # a directory of (paraphrased) phrasing files that replaces the package's


def use_phrasings_dir(directory: str | None) -> None:
    """Read phrasing files from `directory` where it has one (None: the package's own files only)."""
    global _directory
    _directory = directory


def load_phrasings(family: str) -> dict[str, Any]:
    """The phrasings of `family`: `{dir}/{family}.json` when set and present, else the package's file."""
    return _load(family, _directory)


@cache
def _load(family: str, directory: str | None) -> dict[str, Any]:
    """Parse and check a phrasing file; lists named `*question*` need at least MIN_PHRASINGS entries."""
    override = Path(directory) / f"{family}.json" if directory else None
    try:
        if override is not None and override.is_file():
            text = override.read_text(encoding="utf-8")
        else:
            text = resources.files(__package__).joinpath("phrasings", f"{family}.json").read_text(encoding="utf-8")
        data = json.loads(text)
    except (FileNotFoundError, json.JSONDecodeError) as err:
        raise PhrasingError(f"phrasings/{family}.json: {err}") from None
    for key, value in data.items():
        if "question" in key and (not isinstance(value, list) or len(value) < MIN_PHRASINGS):
            raise PhrasingError(f"phrasings/{family}.json: {key!r} needs at least {MIN_PHRASINGS} phrasings")
    return data


def choose(options: Sequence[str], *key: str) -> str:
    """One of `options`, fixed by `key` (e.g. the record id and a slot name)."""
    digest = hashlib.sha256("\x1f".join(key).encode()).digest()
    return options[int.from_bytes(digest[:8], "big") % len(options)]
