"""What every importer returns, and the helpers they share (JSON containers).

Importers never stop at a bad record: a record that is not an object, lacks a field or fails
the schema becomes a `Problem` naming its position and the reason, and every good record is
kept. Only a file that cannot be read at all (not JSON, wrong container) raises
`FileFormatError`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from molbridge.atomic import write_text
from molbridge.data.tables import read_text
from molbridge.errors import FileFormatError
from molbridge.records import Record


@dataclass(frozen=True)
class Problem:
    """A record that could not be imported: where it is (`file:line` or `file[#n]`) and why."""

    where: str
    reason: str


@dataclass
class Imported:
    """The records read from a file, in file order, and the records that were not."""

    records: list[Record] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def read_json_items(path: str | Path) -> tuple[list[tuple[str, Any]], bool]:
    """`(where, item)` for each element of a JSON list or each line of a JSONL file; and whether it was JSONL.

    A JSONL line that is not JSON is returned as a `Problem`-worthy item: `(where, JSONDecodeError)`.
    """
    text = read_text(path)
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as err:
            raise FileFormatError(str(path), err.lineno, f"not valid JSON: {err.msg}") from None
        return [(f"{path}[#{i}]", item) for i, item in enumerate(items)], False
    out: list[tuple[str, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            out.append((f"{path}:{number}", json.loads(line)))
        except json.JSONDecodeError as err:
            out.append((f"{path}:{number}", err))
    if not out and stripped:
        raise FileFormatError(str(path), None, "neither a JSON list nor JSON lines")
    return out, True


def require_fields(item: Any, names: Iterable[str]) -> dict[str, Any]:
    """`item` as a dict whose `names` are strings; raises ValueError saying which field is wrong."""
    if isinstance(item, json.JSONDecodeError):
        raise ValueError(f"not JSON: {item.msg}")
    if not isinstance(item, dict):
        raise ValueError(f"expected a JSON object, got {type(item).__name__}")
    for name in names:
        if name not in item:
            raise ValueError(f"missing field {name!r}")
        if not isinstance(item[name], str):
            raise ValueError(f"field {name!r} is {type(item[name]).__name__}, not a string")
    return item


def write_json_items(path: str | Path, items: list[dict[str, Any]], *, jsonl: bool | None = None) -> int:
    """Write a JSON list (or JSONL when `jsonl`, default: by the `.jsonl` suffix), atomically."""
    path = Path(path)
    lines = path.suffix.lower() == ".jsonl" if jsonl is None else jsonl
    if lines:
        text = "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items)
    else:
        text = json.dumps(items, ensure_ascii=False, indent=2) + "\n"
    write_text(path, text)
    return len(items)
