"""ChEBI-20 (TSV) and ChEBI-20-MM (CSV) tables as records, and back, without loss.

Each row becomes a molecule–caption record (task `mol_caption`, empty instruction fields) whose
modalities hold the unescaped SMILES, the caption and, for ChEBI-20-MM, InChI, IUPAC name and
SELFIES; polar surface area and XLogP go to `meta.extra["properties"]`. The stored SMILES text
(ChEBI-20 doubles backslashes) is kept in `meta.extra["smiles_raw"]` when it differs, so the
written table equals the read one. The readers are strict (a malformed row names its line):
these tables are references.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from molbridge.atomic import write_text
from molbridge.data.sources.chebi20 import (
    CHEBI20_COLUMNS,
    CHEBI20_MM_COLUMNS,
    LICENSE,
    ChEBI20Record,
    read_chebi20,
    read_chebi20_mm,
)
from molbridge.records import Modalities, Record, RecordError, make_record

TASK = "mol_caption"


def _record(row: ChEBI20Record, source: str, split: str | None, **modalities) -> Record:
    extra = {"smiles_raw": row.smiles_raw} if row.smiles_raw != row.smiles else {}
    return make_record(id=f"{source}:{row.cid}", task=TASK,
                       modalities=Modalities(smiles=row.smiles, caption=row.description, **modalities),
                       meta={"source": source, "source_id": row.cid, "split": split, "license": LICENSE,
                             "extra": extra})


def records_from_chebi20(path: str | Path, *, split: str | None = None) -> list[Record]:
    """A ChEBI-20 split as records (split defaults to the file stem: train/validation/test)."""
    split = split or Path(path).stem
    return [_record(row, "chebi20", split) for row in read_chebi20(path)]


def records_from_chebi20_mm(path: str | Path, *, split: str | None = None) -> list[Record]:
    """A ChEBI-20-MM split as records, with InChI, IUPAC name, SELFIES and the two properties."""
    split = split or Path(path).stem
    out = []
    for row in read_chebi20_mm(path):
        record = _record(row, "chebi20-mm", split, inchi=row.inchi or None, iupac=row.iupac_name or None,
                         selfies=row.selfies)
        properties = {k: v for k, v in (("polararea", row.polararea), ("xlogp", row.xlogp)) if v is not None}
        if properties:
            record = record.model_copy(update={"meta": record.meta.model_copy(
                update={"extra": {**record.meta.extra, "properties": properties}})})
        out.append(record)
    return out


def _stored_smiles(record: Record) -> str:
    return record.meta.extra.get("smiles_raw") or record.modalities.smiles or ""


def _cid(record: Record) -> str:
    return record.meta.source_id or record.id


def write_chebi20(path: str | Path, records: list[Record]) -> int:
    """Write `CID, SMILES, description` (tab-separated, unquoted, as MolT5's files)."""
    lines = ["\t".join(CHEBI20_COLUMNS)]
    for record in records:
        values = [_cid(record), _stored_smiles(record), record.modalities.caption or ""]
        if any(ch in value for value in values for ch in "\t\r\n"):
            raise RecordError(f"record {record.id!r}: a tab or line break in a field cannot be written unquoted")
        lines.append("\t".join(values))
    write_text(path, "\n".join(lines) + "\n")
    return len(records)


def _number(value) -> str:
    return "" if value is None else repr(float(value))


def write_chebi20_mm(path: str | Path, records: list[Record]) -> int:
    """Write ChEBI-20-MM's eight CSV columns (minimal quoting); numbers in shortest round-trip form."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CHEBI20_MM_COLUMNS)
    for record in records:
        m, props = record.modalities, record.meta.extra.get("properties", {})
        writer.writerow([_cid(record), _stored_smiles(record), m.caption or "", _number(props.get("polararea")),
                         _number(props.get("xlogp")), m.inchi or "", m.iupac or "", m.selfies or ""])
    write_text(path, buffer.getvalue())
    return len(records)
