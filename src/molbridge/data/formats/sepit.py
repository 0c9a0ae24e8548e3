"""SEPIT conversations (JSONL `{id, conversation: [{role, content}, ...]}`, optional `response`), lossless.

A one-question conversation (user, then assistant) becomes `instruction` / `output`; any other
shape keeps its whole turn list in `meta.extra["conversation"]` and uses its first user and
first assistant turns as instruction and output. SEPIT's inference files add `response` (the
model's answer), kept in `meta.extra`. Protein sequences and structures live in SEPIT's HDF5
file, keyed by the same id (the `sepit` source joins a sequence file by it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from molbridge.data.formats.common import Imported, Problem, read_json_items, require_fields, write_json_items
from molbridge.records import Record, RecordError, make_record

SOURCE = "sepit"
LICENSE = "see SEPIT-Data (UniProt CC BY 4.0, PDB/AlphaFold DB CC BY 4.0)"
ROLES = ("user", "assistant")


def _turns(conversation: Any) -> list[dict[str, str]]:
    if not isinstance(conversation, list) or not conversation:
        raise ValueError("conversation must be a non-empty list of turns")
    for n, turn in enumerate(conversation):
        if not isinstance(turn, dict) or set(turn) != {"role", "content"} or turn["role"] not in ROLES \
                or not isinstance(turn["content"], str):
            raise ValueError(f"turn {n} must be {{role: user|assistant, content: str}}, got {turn!r}")
    return conversation


def read_sepit(path: str | Path, *, task: str = "protein_qa") -> Imported:
    """Records of a SEPIT JSONL file (stage 1/2 or QA test); `task` names what the file holds.

    Ids are `{file stem}-{position}`: a SEPIT `id` names the protein (its key in SEPIT's HDF5 file), and
    one protein has several conversations; it is kept as `meta.source_id`."""
    result = Imported()
    items, _ = read_json_items(path)
    for position, (where, item) in enumerate(items):
        try:
            fields = require_fields(item, ("id",))
            turns = _turns(fields.get("conversation"))
            first = {role: next((t["content"] for t in turns if t["role"] == role), "") for role in ROLES}
            extra: dict[str, Any] = {}
            if [t["role"] for t in turns] != list(ROLES):
                extra["conversation"] = turns
            if rest := {k: v for k, v in fields.items() if k not in ("id", "conversation")}:
                extra["fields"] = rest
            result.records.append(make_record(
                id=f"{Path(path).stem}-{position}", task=task, instruction=first["user"], output=first["assistant"],
                meta={"source": SOURCE, "source_id": fields["id"], "license": LICENSE, "extra": extra},
            ))
        except (ValueError, RecordError) as err:
            result.problems.append(Problem(where, str(err)))
    return result


def to_item(record: Record) -> dict[str, Any]:
    turns = record.meta.extra.get("conversation") or [{"role": "user", "content": record.instruction},
                                                     {"role": "assistant", "content": record.output}]
    return {"id": record.meta.source_id or record.id, "conversation": turns, **record.meta.extra.get("fields", {})}


def write_sepit(path: str | Path, records: list[Record]) -> int:
    """Write records as SEPIT JSONL; returns the count."""
    return write_json_items(path, [to_item(r) for r in records], jsonl=True)
