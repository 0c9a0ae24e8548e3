"""3D-MoIT instruction files (`[{instruction, input, output, task}]`, input = PubChem CID), lossless.

A record keeps the CID as its `input` (exactly as published) and as `meta.source_id`, so a later
join (a CID → SMILES table, then a computed conformer) can add the molecule. 3D-MoIT's property
tasks are our registered ones: "HOMO", "Molecular Weight", … become `computed_property` records
with the property and its value (the first number of the answer, as 3D-MoLM reads it) in
`meta.extra`, so they are prompted, balanced and scored (3D-MoLM's plausibility windows) exactly
like the ones molbridge builds; "Description" becomes `molecule_description`. The published task
name is kept (`meta.extra.published_task`) and written back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from molbridge.data.formats.common import Imported, Problem, read_json_items, require_fields, write_json_items
from molbridge.records import Record, RecordError, make_record
from molbridge.tasks.molecules import COMPUTED
from molbridge.tasks.numbers import parse_number

SOURCE = "3d-moit"
LICENSE = "Apache-2.0 (3D-MoIT, Li et al. 2024)"
_FIELDS = ("instruction", "input", "output", "task")
# 3D-MoIT's task → the computed property it asks for (SCF energy: 3D-MoLM's unit, 10^4 eV, stated in no answer)
PROPERTIES = {"Molecular Weight": "mol_weight", "LogP": "logp", "Topological Polar Surface Area": "tpsa",
              "Complexity": "bertz_complexity", "HOMO": "homo", "LUMO": "lumo", "HOMO-LUMO Gap": "gap",
              "SCF Energy": "scf_energy"}
DESCRIPTION = "Description"


def _task_and_extra(task: str, output: str) -> tuple[str, dict[str, Any]]:
    """Our task for a 3D-MoIT task name, and the extra meta that says which property and value it asks for."""
    if task == DESCRIPTION:
        return "molecule_description", {"published_task": task}
    if task not in PROPERTIES:
        return task, {}
    parsed = parse_number(output)
    if parsed is None:
        raise ValueError(f"a {task!r} answer without a number: {output[:80]!r}")
    name = PROPERTIES[task]
    unit = COMPUTED[name][0] if name in COMPUTED else ""
    return "computed_property", {"published_task": task, "property": name, "unit": unit, "value": parsed.value,
                                 "method": "3D-MoIT"}


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
            task, extra = _task_and_extra(fields["task"], fields["output"])
            result.records.append(make_record(
                id=f"{Path(path).stem}-{position}", task=task, instruction=fields["instruction"],
                input=fields["input"], output=fields["output"],
                meta={"source": SOURCE, "source_id": cid, "license": LICENSE,
                      "extra": {**extra, **({"fields": rest} if rest else {})}},
            ))
        except (ValueError, RecordError) as err:
            result.problems.append(Problem(where, str(err)))
    return result


def to_item(record: Record) -> dict[str, Any]:
    """The published item: the CID as input (a joined record's input is its SMILES), the published task name."""
    return {"instruction": record.instruction, "input": record.meta.source_id or record.input,
            "output": record.output, "task": record.meta.extra.get("published_task", record.task),
            **record.meta.extra.get("fields", {})}


def write_moit3d(path: str | Path, records: list[Record]) -> int:
    """Write records as a 3D-MoIT JSON list; returns the count."""
    return write_json_items(path, [to_item(r) for r in records], jsonl=False)
