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
from typing import Any

from molbridge.errors import MolbridgeError


class PhrasingError(MolbridgeError, ValueError):
    """A phrasing file that is missing, malformed, or too thin (fewer than the required phrasings)."""


MIN_PHRASINGS = 10


@cache
def load_phrasings(family: str) -> dict[str, Any]:
    """The phrasing file `phrasings/{family}.json` of this package; lists named `*question*` need 10+."""
    try:
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
