"""Records as sharded Parquet that Hugging Face `datasets.load_dataset("parquet", ...)` reads, and back.

One fixed Arrow schema for every shard: the text fields, `modalities` as a struct (the
conformer a struct of atom symbols and an N×3 coordinate list), and `meta` as a struct whose
`extra` is a JSON string. Why JSON for `extra`: each task keeps different extra fields, and
Parquet shards (and `datasets`) need one schema across all of them. Shards are written
atomically (`molbridge.atomic`), so a shard on disk is always complete.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from molbridge.atomic import atomic_path
from molbridge.errors import FileFormatError
from molbridge.records import Record

_POINT = pa.list_(pa.float64(), 3)
SCHEMA = pa.schema([
    ("id", pa.string()), ("task", pa.string()), ("instruction", pa.string()), ("input", pa.string()),
    ("output", pa.string()),
    ("modalities", pa.struct([
        ("smiles", pa.string()), ("selfies", pa.string()), ("inchi", pa.string()), ("iupac", pa.string()),
        ("caption", pa.string()), ("protein_sequence", pa.string()),
        ("conformer", pa.struct([("atoms", pa.list_(pa.string())), ("coords", pa.list_(_POINT)),
                                 ("energy", pa.float64()), ("method", pa.string())])),
        ("protein_coords", pa.list_(_POINT)), ("image", pa.string()),
    ])),
    ("meta", pa.struct([("source", pa.string()), ("source_id", pa.string()), ("split", pa.string()),
                        ("license", pa.string()), ("extra", pa.string())])),
])


def _row(record: Record, split: str | None) -> dict:
    row = record.model_dump()
    row["meta"]["extra"] = json.dumps(row["meta"]["extra"], ensure_ascii=False, sort_keys=True)
    row["meta"]["split"] = split
    return row


def records_table(records: Sequence[Record], splits: Sequence[str | None] | None = None) -> pa.Table:
    """Records as rows of the shard schema; `splits`, when given, replaces each record's `meta.split`.

    Why the override: a build decides the split after the record is made, and writing it into the row
    costs nothing where a copy of the (frozen) record costs two model copies."""
    chosen = splits if splits is not None else [r.meta.split for r in records]
    return pa.Table.from_pylist([_row(r, split) for r, split in zip(records, chosen, strict=True)], schema=SCHEMA)


def write_table(path: str | Path, table: pa.Table) -> int:
    """Write rows of the shard schema as one Parquet shard, atomically; returns the number of rows."""
    with atomic_path(path) as tmp:
        pq.write_table(table.combine_chunks(), tmp, compression="zstd")
    return table.num_rows


def write_shard(path: str | Path, records: Sequence[Record]) -> int:
    """Write one Parquet shard atomically; returns the number of records."""
    return write_table(path, records_table(records))


def read_shard(path: str | Path) -> Iterator[Record]:
    """The records of one shard, validated; a file that is not a molbridge shard raises FileFormatError."""
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as err:
        raise FileFormatError(str(path), None, f"not a readable Parquet file: {err}") from None
    if not table.schema.equals(SCHEMA):
        raise FileFormatError(str(path), None, "Parquet schema is not molbridge's record schema")
    for row in table.to_pylist():
        row["meta"]["extra"] = json.loads(row["meta"]["extra"])
        yield Record.model_validate(row)


def read_split(dataset: str | Path, split: str) -> list[Record]:
    """Every record of one split of a built dataset (its `data/{split}-*.parquet` shards, in order)."""
    return [r for shard in sorted((Path(dataset) / "data").glob(f"{split}-*.parquet")) for r in read_shard(shard)]
