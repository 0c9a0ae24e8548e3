"""Parquet shards: lossless round trip, Hugging Face datasets reads them, damaged files are named."""

from __future__ import annotations

import pytest

from molbridge.data.parquet_io import read_shard, write_shard
from molbridge.errors import FileFormatError
from molbridge.records import make_record

RECORDS = [
    make_record(id="a", task="computed_property", instruction="What is the LogP?", input="CCO", output="-0.0014",
                modalities={"smiles": "CCO", "conformer": {"atoms": ["C", "C", "O"], "coords": [[0, 0, 0], [1.5, 0, 0],
                                                                                                 [2, 1, 0]]}},
                meta={"source": "qm9", "split": "train", "extra": {"property": "logp", "value": -0.0014}}),
    make_record(id="b", task="protein_function", output="ATP binding", modalities={"protein_sequence": "MKV"},
                meta={"source": "uniprot", "extra": {"go": ["GO:0005524"]}}),
]


def test_round_trip_is_lossless(tmp_path):
    write_shard(tmp_path / "train-00000.parquet", RECORDS)
    assert list(read_shard(tmp_path / "train-00000.parquet")) == RECORDS
    assert not list(tmp_path.glob(".*tmp"))


def test_hugging_face_datasets_loads_the_shards(tmp_path):
    import datasets

    write_shard(tmp_path / "train-00000.parquet", RECORDS[:1])
    write_shard(tmp_path / "train-00001.parquet", RECORDS[1:])
    ds = datasets.load_dataset("parquet", data_files={"train": str(tmp_path / "train-*.parquet")},
                               cache_dir=str(tmp_path / "hf"))["train"]
    assert ds.num_rows == 2 and ds[0]["modalities"]["conformer"]["atoms"] == ["C", "C", "O"]
    assert ds[1]["modalities"]["protein_sequence"] == "MKV" and ds[1]["meta"]["source"] == "uniprot"


def test_damaged_or_foreign_files_are_named(tmp_path):
    (tmp_path / "x.parquet").write_bytes(b"not parquet")
    with pytest.raises(FileFormatError, match="x.parquet"):
        list(read_shard(tmp_path / "x.parquet"))
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"id": ["a"]}), tmp_path / "y.parquet")
    with pytest.raises(FileFormatError, match="schema"):
        list(read_shard(tmp_path / "y.parquet"))
