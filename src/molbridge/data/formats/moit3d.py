"""3D-MoIT instruction files (`[{instruction, input, output, task}]`, input = PubChem CID), lossless.

The conformers live in 3D-MoIT's LMDB files, keyed by CID; a record keeps the CID as its
`input` (exactly as published) and as `meta.source_id`, so a later join can add the conformer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from molbridge.data.formats.common import Imported, Problem, read_json_items, require_fields, write_json_items
from molbridge.records import Record, RecordError, make_record

SOURCE = "3d-moit"
LICENSE = "Apache-2.0 (3D-MoIT, Li et al. 2024)"
_FIELDS = ("instruction", "input", "output", "task")


def read_moit3d(path: str | Path) -> Imported:
    """Records of one 3D-MoIT instruction file; ids are `{file stem}-{position}`."""
    result = Imported()
    items, _ = read_json_items(path)
    for position, (where, item) in enumerate(items):
        try:
            fields = require_fields(item, _FIELDS)
            cid = fields["input"].strip()
            if not cid.isdigit():
                raise ValueError(f"input must be a PubChem CID, got {fields['input']!r}")
            rest = {k: v for k, v in fields.items() if k not in _FIELDS}
            result.records.append(make_record(
                id=f"{Path(path).stem}-{position}", task=fields["task"], instruction=fields["instruction"],
                input=fields["input"], output=fields["output"],
                meta={"source": SOURCE, "source_id": cid, "license": LICENSE,
                      "extra": {"fields": rest} if rest else {}},
            ))
        except (ValueError, RecordError) as err:
            result.problems.append(Problem(where, str(err)))
    return result


def to_item(record: Record) -> dict[str, Any]:
    return {"instruction": record.instruction, "input": record.input, "output": record.output,
            "task": record.task, **record.meta.extra.get("fields", {})}


def write_moit3d(path: str | Path, records: list[Record]) -> int:
    """Write records as a 3D-MoIT JSON list; returns the count."""
    return write_json_items(path, [to_item(r) for r in records], jsonl=False)
