"""The build's fast path (facts from the read-back molecule, QC checks and splits in the worker, Arrow rows, dedup in
the main process) writes exactly the records of the plain reference path: every record made one by one, then
`QualityControl.filter` and `assign_splits`, which parse each SMILES themselves."""

from __future__ import annotations

import gzip
import itertools
from pathlib import Path

import pytest

from molbridge.data.build.config import BuildConfig
from molbridge.data.build.pipeline import build
from molbridge.data.build.units import item_records
from molbridge.data.parquet_io import read_shard
from molbridge.data.qc import QCConfig, QualityControl
from molbridge.data.sources.moses import iter_moses
from molbridge.data.splits import assign_splits
from molbridge.errors import InvalidMolecule
from molbridge.tasks import SOURCES

TASKS = ["computed_property", "smiles2selfies", "smiles2inchi"]
# every QC outcome: duplicates written differently, stereoisomers (near duplicates), an element outside the set,
# a charge beyond the limit, too many heavy atoms, an unreadable SMILES, an acyclic molecule (its own scaffold group)
CRAFTED = ["CCO", "OCC", "C[C@H](N)C(=O)O", "C[C@@H](N)C(=O)O", "C[Sn](C)C", "[NH4+].[NH4+].[NH4+]",
           "C" * 40, "C1CC", "CCCCCC(=O)O", "c1ccccc1O", "Oc1ccccc1"]


def write_source(path: Path) -> Path:
    smiles = CRAFTED + [s for _, s in itertools.islice(iter_moses(), 60)] + CRAFTED[:4]
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write("SMILES\n" + "\n".join(smiles) + "\n")
    return path


def reference(config: BuildConfig) -> tuple[list[str], dict]:
    """The records and QC report the plain way: make each item's records, filter, assign splits."""
    options = config.sources[0]
    source = SOURCES.get(options.kind)
    records = []
    for item in source.read(options, None):
        try:
            records += item_records(source, options, item)[0]
        except InvalidMolecule:
            continue
    qc = QualityControl(config.qc)
    kept = assign_splits(qc.filter(records), config.split.method, config.split.fractions, config.split.seed)
    return sorted(r.model_dump_json() for r in kept), qc.report.to_dict()


@pytest.mark.parametrize("method", ["random", "scaffold"])
def test_build_writes_the_records_of_the_reference_path(tmp_path, method):
    config = BuildConfig(name="same", chunk_size=7, qc=QCConfig(max_heavy_atoms=30),
                         split={"method": method, "fractions": [0.5, 0.25, 0.25], "seed": 3},
                         sources=[{"kind": "moses", "path": str(write_source(tmp_path / "train.csv.gz")),
                                   "tasks": TASKS}])
    card = build(config, tmp_path / "out")
    built = sorted(r.model_dump_json() for shard in sorted((tmp_path / "out" / "data").glob("*.parquet"))
                   for r in read_shard(shard))
    expected, report = reference(config)
    assert built == expected
    assert card["qc"] == report
    assert set(report["dropped"]) == {"duplicate", "near_duplicate", "element", "charge", "too_large"}
    assert {split for split, n in card["splits"].items() if n} == {"train", "validation", "test"}
