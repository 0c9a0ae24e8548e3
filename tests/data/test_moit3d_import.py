"""3D-MoIT files as 3D-MoLM's stage-3 data: its property tasks are our `computed_property` (scored with
3D-MoLM's windows), a CID → SMILES table puts the molecule in the prompt, and conformers are computed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from molbridge.data.build.config import ConfigError
from molbridge.data.formats.moit3d import PROPERTIES, read_moit3d
from molbridge.tasks import task_for
from tests.data.test_imported_splits import build_from, records

ANSWERS = {"Molecular Weight": "The Molecular Weight for the input molecule is 46.07 g/mol.",
           "LogP": "The LogP for the input molecule is -0.0014.",
           "Topological Polar Surface Area": "The Topological Polar Surface Area for the input molecule is 20.23 Å².",
           "Complexity": "The Complexity for the input molecule is 2.8.",
           "HOMO": "The HOMO for the input molecule is -7.152 eV.",
           "LUMO": "The LUMO for the input molecule is 1.046 eV.",
           "HOMO-LUMO Gap": "The HOMO-LUMO Gap for the input molecule is 8.198 eV.",
           "SCF Energy": "The SCF Energy for the input molecule is -0.4218 10^4 eV."}


def moit_items(cids=("702", "2244")) -> list[dict]:
    items = [{"instruction": f"What is the {task} of this molecule?", "input": cid, "output": answer, "task": task}
             for cid in cids for task, answer in ANSWERS.items()]
    return items + [{"instruction": "Describe this molecule.", "input": cid, "output": "A small molecule.",
                     "task": "Description"} for cid in cids]


def test_every_property_task_is_a_computed_property_with_its_value_and_window(tmp_path) -> None:
    path = tmp_path / "3d_computed_properties_unit.json"
    path.write_text(json.dumps(moit_items(("702",))))
    imported = read_moit3d(path)
    assert not imported.problems
    by_task = {r.meta.extra["published_task"]: r for r in imported.records}
    assert set(by_task) == set(PROPERTIES) | {"Description"}
    for name, record in by_task.items():
        if name == "Description":
            assert record.task == "molecule_description"
            continue
        task = task_for(record.task)
        assert record.task == "computed_property" and task.group(record) == f"computed_property:{PROPERTIES[name]}"
        assert task.scorer.windows[PROPERTIES[name]]  # 3D-MoLM's plausibility window of that property
    assert by_task["HOMO"].meta.extra["value"] == -7.152 and by_task["SCF Energy"].meta.extra["value"] == -0.4218


def test_a_cid_table_puts_the_smiles_in_the_prompt_and_conformers_are_computed(tmp_path) -> None:
    table = tmp_path / "cid-smiles.tsv"
    table.write_text("CID\tSMILES\n702\tCCO\n2244\tCC(=O)Oc1ccccc1C(=O)O\n")
    items = moit_items(("702", "2244", "999"))  # 999 is not in the table
    items.append({"instruction": "What is the HOMO?", "input": "702", "output": "not computed", "task": "HOMO"})
    out, card = build_from(tmp_path, "moit3d", items, cid_table=str(table), conformers=True)
    rows = records(out)
    joined = [r for r in rows if r.meta.source_id in ("702", "2244")]
    assert len(joined) == 18 and {r.input for r in joined} == {"CCO", "CC(=O)Oc1ccccc1C(=O)O"}
    assert all(r.modalities.conformer is not None and r.modalities.conformer.method for r in joined)
    aspirin = next(r for r in joined if r.input.startswith("CC(=O)"))
    assert [a for a in aspirin.modalities.conformer.atoms if a != "H"].count("C") == 9  # heavy atoms of aspirin
    missing = [r for r in rows if r.meta.source_id == "999"]
    assert len(missing) == 9 and all(r.modalities.conformer is None and r.input == "999" for r in missing)
    problems = card["problems"]["0"]
    assert problems["counts"] == {"cid_without_smiles": 9}
    assert any("answer without a number" in reason for _, reason in problems["examples"])


def test_conformers_for_an_import_without_its_table_are_refused(tmp_path) -> None:
    with pytest.raises(ConfigError, match="cid_table"):
        build_from(tmp_path, "moit3d", moit_items(), conformers=True)


def test_the_shipped_3d_moit_config_is_valid_once_its_files_exist(tmp_path) -> None:
    import yaml

    from molbridge.data.build.config import load_config

    config = yaml.safe_load((Path(__file__).resolve().parents[2] / "configs" / "3dmolm-moit-data.yaml").read_text())
    (tmp_path / "moit.json").write_text(json.dumps(moit_items()))
    (tmp_path / "cids.tsv").write_text("702\tCCO\n")
    for source in config["sources"]:
        source.update(path=str(tmp_path / "moit.json"), cid_table=str(tmp_path / "cids.tsv"))
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(config))
    loaded = load_config(tmp_path / "c.yaml")
    assert all(s.conformers and s.joins() == {"smiles"} for s in loaded.sources)
