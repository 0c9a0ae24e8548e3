"""ChEBI-20-MM as a build source (read in place from ../shared): every string modality of a molecule, the grid's
translations between them and captions, and its two PubChem properties as numbers, built, split, copied and
scored like any registered task."""

from __future__ import annotations

import pytest
import selfies
import yaml

from molbridge.apps.copy_baseline import copy_answers
from molbridge.apps.predict import Prediction
from molbridge.apps.scoring import score_predictions
from molbridge.chem.parse import canonical_smiles
from molbridge.data.build.config import load_config
from molbridge.data.build.pipeline import build
from molbridge.data.parquet_io import read_split
from molbridge.data.sources.chebi20 import read_chebi20_mm
from molbridge.records import Record
from molbridge.tasks import task_for
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
    properties = records_of("chebi20mm", row, ("pubchem_property",), path=str(table))
    assert {r.meta.extra["property"]: r.meta.extra["value"] for r in properties} == {
        k: v for k, v in (("polararea", row.polararea), ("xlogp", row.xlogp)) if v is not None}
    assert all(float(r.output) == r.meta.extra["value"] for r in properties)
    assert "Å²" in next(r.instruction for r in properties if r.meta.extra["property"] == "polararea")
    assert made["caption2selfies"].instruction != made["caption2inchi"].instruction


def test_a_build_of_the_grid_tasks_splits_molecules_and_has_copy_answers(tmp_path, table) -> None:
    config = tmp_path / "mm.yaml"
    config.write_text(yaml.safe_dump({
        "name": "mm", "split": {"method": "random", "fractions": [0.8, 0.1, 0.1], "seed": 0},
        "sources": [{"kind": "chebi20mm", "path": str(table), "limit": 60,
                     "tasks": [*GRID_TASKS, "pubchem_property"]}]}))
    build(load_config(config), tmp_path / "out")
    train, test = read_split(tmp_path / "out", "train"), read_split(tmp_path / "out", "test")
    assert {r.task for r in train} == {*GRID_TASKS, "pubchem_property"} and test

    def molecules(records: list[Record]) -> set[str]:
        return {r.modalities.smiles or "" for r in records}

    assert not molecules(train) & molecules(test)  # a molecule never spans splits
    copied = copy_answers(train, test)
    assert all(copied[r.id] for r in test)  # BM25 over captions and names, Morgan over molecules: always a neighbour
    rows = [Prediction(r.id, r.task, task_for(r.task).answer.name, task_for(r.task).group(r), r.output,
                       copied[r.id], copied[r.id], True, meta=dict(r.meta.extra)) for r in test]
    reports = score_predictions(rows)
    xlogp = reports["pubchem_property:xlogp"]
    assert xlogp.n == sum(r.meta.extra.get("property") == "xlogp" for r in test) and xlogp.values()["mae"] >= 0
