"""ChEBI-20-MM as a build source (read in place from ../shared): every string modality of a molecule, and the
grid's translations between them and captions built, split and copied like any registered task."""

from __future__ import annotations

import pytest
import selfies
import yaml

from molbridge.apps.copy_baseline import copy_answers
from molbridge.chem.parse import canonical_smiles
from molbridge.data.build.config import load_config
from molbridge.data.build.pipeline import build
from molbridge.data.parquet_io import read_split
from molbridge.data.sources.chebi20 import read_chebi20_mm
from molbridge.records import Record
from tests.conftest import SHARED_DATA, records_of, require

GRID_TASKS = ("selfies2caption", "inchi2caption", "iupac2caption", "caption2selfies", "caption2inchi")


@pytest.fixture(scope="module")
def table():
    return require(SHARED_DATA / "chebi20-mm" / "test.csv")


def test_a_row_gives_each_translation_from_its_own_modalities(table) -> None:
    row = next(r for r in read_chebi20_mm(table) if r.iupac_name)
    made = {r.task: r for r in records_of("chebi20mm", row, GRID_TASKS, path=str(table))}
    assert set(made) == set(GRID_TASKS)
    assert made["iupac2caption"].input == row.iupac_name and made["iupac2caption"].output == row.description
    assert canonical_smiles(selfies.decoder(made["caption2selfies"].output)) == canonical_smiles(row.smiles)
    assert made["caption2inchi"].output.startswith("InChI=1S/") and made["inchi2caption"].output == row.description
    assert made["selfies2caption"].meta.extra["xlogp"] == row.xlogp
    assert made["caption2selfies"].instruction != made["caption2inchi"].instruction


def test_a_build_of_the_grid_tasks_splits_molecules_and_has_copy_answers(tmp_path, table) -> None:
    config = tmp_path / "mm.yaml"
    config.write_text(yaml.safe_dump({
        "name": "mm", "split": {"method": "random", "fractions": [0.8, 0.1, 0.1], "seed": 0},
        "sources": [{"kind": "chebi20mm", "path": str(table), "limit": 60, "tasks": list(GRID_TASKS)}]}))
    build(load_config(config), tmp_path / "out")
    train, test = read_split(tmp_path / "out", "train"), read_split(tmp_path / "out", "test")
    assert {r.task for r in train} == set(GRID_TASKS) and test

    def molecules(records: list[Record]) -> set[str]:
        return {r.modalities.smiles or "" for r in records}

    assert not molecules(train) & molecules(test)  # a molecule never spans splits
    copied = copy_answers(train, test)
    assert all(copied[r.id] for r in test)  # BM25 over captions and names, Morgan over molecules: always a neighbour
