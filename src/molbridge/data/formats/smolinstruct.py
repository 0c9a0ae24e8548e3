"""SMolInstruct / LlaSMol records (`{input, output, ...}` with `<SMILES>…</SMILES>`-style tags), lossless.

Tags mark the payload inside natural text: `<SMILES>`, `<IUPAC>`, `<MOLFORMULA>`, `<NUMBER>`,
`<BOOLEAN>`. The first SMILES and IUPAC name found (input first, then output) become the
record's modalities; the texts stay exactly as given. Every other field (task, split,
raw_input, core-tag columns, ...) is kept in `meta.extra` and written back. Both a JSON list and
JSON lines are read; the writer picks by the file suffix (`.jsonl`: lines).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from molbridge.data.formats.common import Imported, Problem, read_json_items, require_fields, write_json_items
from molbridge.records import Modalities, Record, RecordError, make_record

SOURCE = "smolinstruct"
LICENSE = "CC BY 4.0 (SMolInstruct, Yu et al. 2024)"
TAGS = ("SMILES", "IUPAC", "MOLFORMULA", "NUMBER", "BOOLEAN")
_TAGGED = {tag: re.compile(rf"<{tag}>\s*(.*?)\s*</{tag}>", re.S) for tag in TAGS}


def tagged(text: str, tag: str) -> list[str]:
    """Every payload of `<tag>…</tag>` in `text`, stripped."""
    return _TAGGED[tag].findall(text)


def read_smolinstruct(path: str | Path, *, task: str | None = None) -> Imported:
    """Records of a SMolInstruct file; task from each item's `task` field, else `task`."""
    result = Imported()
    items, _ = read_json_items(path)
    for position, (where, item) in enumerate(items):
        try:
            fields = require_fields(item, ("input", "output"))
            name = fields.get("task") if isinstance(fields.get("task"), str) else task
            if not name:
                raise ValueError("no 'task' field and no task given")
            text = fields["input"] + "\n" + fields["output"]
            smiles, iupac = tagged(text, "SMILES"), tagged(text, "IUPAC")
            rest = {k: v for k, v in fields.items() if k not in ("input", "output")}
            split = rest.get("split") if isinstance(rest.get("split"), str) else None
            result.records.append(make_record(
                id=f"{Path(path).stem}-{position}", task=name, input=fields["input"], output=fields["output"],
                modalities=Modalities(smiles=smiles[0] if smiles else None, iupac=iupac[0] if iupac else None),
                meta={"source": SOURCE, "split": split, "license": LICENSE, "extra": {"fields": rest} if rest else {}},
            ))
        except (ValueError, RecordError) as err:
            result.problems.append(Problem(where, str(err)))
    return result


def to_item(record: Record) -> dict[str, Any]:
    fields = dict(record.meta.extra.get("fields", {}))
    return {"input": record.input, "output": record.output, **fields}


def write_smolinstruct(path: str | Path, records: list[Record]) -> int:
    """Write records as SMolInstruct items (JSON list, or JSONL for a `.jsonl` path); returns the count."""
    return write_json_items(path, [to_item(r) for r in records])
