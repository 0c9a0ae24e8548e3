"""Mol-Instructions JSON (`[{instruction, input, output, metadata: {task, split}}]`), read and written losslessly.

Molecules in Mol-Instructions are SELFIES. When a record's input (or else its output) is a
SELFIES string that decodes to a valid molecule, the record's modalities carry it and the
SMILES it decodes to; when it is a protein sequence (fenced in ``` lines in the protein tasks),
they carry the sequence. Downstream QC, splits and retrieval then see the molecule or protein;
the text fields stay exactly as published. Keys beyond the schema (in the item or its metadata) are kept in
`meta.extra` and written back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from molbridge.chem.parse import from_selfies
from molbridge.data.formats.common import Imported, Problem, read_json_items, require_fields, write_json_items
from molbridge.errors import InvalidMolecule
from molbridge.records import AMINO_ACIDS, Modalities, Record, RecordError, make_record

SOURCE = "mol-instructions"
LICENSE = "CC BY 4.0 (Mol-Instructions, Fang et al. 2024)"
_FIELDS = ("instruction", "input", "output")
_MIN_PROTEIN = 20  # shorter runs of capitals are words and formulas, not proteins


def _molecule(text: str) -> dict[str, str]:
    """SELFIES and SMILES of `text` if it is one SELFIES molecule, else nothing."""
    candidate = text.strip()
    if not (candidate.startswith("[") and candidate.endswith("]")) or " " in candidate:
        return {}
    try:
        return {"selfies": candidate, "smiles": from_selfies(candidate)}
    except InvalidMolecule:
        return {}


def _protein(text: str) -> dict[str, str]:
    """The protein sequence of `text` if it is one (Mol-Instructions fences it in ``` lines), else nothing."""
    candidate = "".join(text.replace("`", " ").split())
    if len(candidate) >= _MIN_PROTEIN and candidate.isupper() and not set(candidate) - AMINO_ACIDS:
        return {"protein_sequence": candidate}
    return {}


def read_mol_instructions(path: str | Path) -> Imported:
    """Records of one Mol-Instructions task file; ids are `{file stem}-{position}`."""
    result = Imported()
    items, _ = read_json_items(path)
    for position, (where, item) in enumerate(items):
        try:
            fields = require_fields(item, _FIELDS)
            metadata = fields.get("metadata")
            if not isinstance(metadata, dict) or not isinstance(metadata.get("task"), str):
                raise ValueError("metadata must be an object with a string 'task'")
            extra: dict[str, Any] = {}
            if rest := {k: v for k, v in fields.items() if k not in (*_FIELDS, "metadata")}:
                extra["fields"] = rest
            if rest := {k: v for k, v in metadata.items() if k not in ("task", "split")}:
                extra["metadata"] = rest
            molecule = (_molecule(fields["input"]) or _molecule(fields["output"]) or _protein(fields["input"])
                        or _protein(fields["output"]))
            result.records.append(make_record(
                id=f"{Path(path).stem}-{position}", task=metadata["task"],
                **{name: fields[name] for name in _FIELDS}, modalities=Modalities(**molecule),
                meta={"source": SOURCE, "split": metadata.get("split"), "license": LICENSE, "extra": extra},
            ))
        except (ValueError, RecordError) as err:
            result.problems.append(Problem(where, str(err)))
    return result


def to_item(record: Record) -> dict[str, Any]:
    """The Mol-Instructions object of a record (key order as published)."""
    extra = record.meta.extra
    metadata: dict[str, Any] = {"task": record.task}
    if record.meta.split is not None:
        metadata["split"] = record.meta.split
    metadata.update(extra.get("metadata", {}))
    return {"instruction": record.instruction, "input": record.input, "output": record.output,
            "metadata": metadata, **extra.get("fields", {})}


def write_mol_instructions(path: str | Path, records: list[Record]) -> int:
    """Write records as a Mol-Instructions JSON list; returns the count."""
    return write_json_items(path, [to_item(r) for r in records], jsonl=False)
