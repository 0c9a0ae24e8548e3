"""`molbridge data build` end to end on tiny real configs: output, card, resume after kill -9, Dask, bad configs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from molbridge.cli.main import app
from molbridge.data.build.config import ConfigError, load_config
from molbridge.data.build.pipeline import BuildError, build
from molbridge.data.parquet_io import read_shard

runner = CliRunner()
TINY = {
    "name": "tiny", "description": "test build", "chunk_size": 10,
    "sources": [{"kind": "qm9", "limit": 30, "tasks": ["property_prediction", "computed_property"]},
                {"kind": "chebi_classes", "limit": 25, "tasks": ["molecule_description", "molecule_design"]},
                {"kind": "b3db", "limit": 15, "tasks": ["smiles2iupac", "iupac2smiles"]}],
    "split": {"method": "scaffold", "fractions": [0.6, 0.2, 0.2]},
}


def write_config(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data))
    return path


def all_ids(out: Path) -> list[str]:
    return [r.id for shard in sorted((out / "data").glob("*.parquet")) for r in read_shard(shard)]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, dict]:
    tmp = tmp_path_factory.mktemp("build")
    config = load_config(write_config(tmp / "tiny.yaml", TINY))
    return tmp / "out", build(config, tmp / "out")


def test_build_writes_shards_a_card_and_plots(built):
    out, card = built
    ids = all_ids(out)
    assert len(ids) == len(set(ids)) == card["records"] > 300
    assert set(card["tasks"]) == {"property_prediction", "computed_property", "molecule_description",
                                  "molecule_design", "smiles2iupac", "iupac2smiles"}
    assert card["qc"]["seen"] == card["qc"]["kept"] + sum(card["qc"]["dropped"].values())
    assert json.loads((out / "card.json").read_text()) == card
    text = (out / "card.md").read_text()
    assert "## Quality control" in text and "licence CC0" in text and "![molecular weight" in text
    assert all((out / path).stat().st_size > 1000 for path in card["plots"].values())
    for card_file in (out / "card.json", out / "card.md"):  # package files by package-relative path, never /root/...
        text = card_file.read_text()
        assert "site-packages" not in text and str(Path.home()) + "/" not in text


def test_hugging_face_loads_the_build(built):
    import datasets

    out, card = built
    ds = datasets.load_dataset("parquet", data_files={s: str(out / "data" / f"{s}-*.parquet")
                                                      for s in ("train", "validation", "test")},
                               cache_dir=str(out / ".hf"))
    assert sum(d.num_rows for d in ds.values()) == card["records"]
    assert {row["task"] for row in ds["train"]} <= set(card["tasks"])


def test_rerun_of_a_finished_build_changes_nothing(built, tmp_path):
    out, card = built
    before = {p.name: p.read_bytes() for p in (out / "data").glob("*.parquet")}
    again = build(load_config(write_config(tmp_path / "tiny.yaml", TINY)), out)
    assert again["records"] == card["records"] and again["counts"] == card["counts"]
    assert {p.name: p.read_bytes() for p in (out / "data").glob("*.parquet")} == before


def test_workers_and_dask_give_the_same_records(built, tmp_path):
    from distributed import LocalCluster

    out, card = built
    config = load_config(write_config(tmp_path / "tiny.yaml", TINY))
    build(config, tmp_path / "pool", workers=2)
    assert all_ids(tmp_path / "pool") == all_ids(out)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        dask_card = build(config, tmp_path / "dask", scheduler=cluster.scheduler_address)
    assert all_ids(tmp_path / "dask") == all_ids(out) and dask_card["counts"] == card["counts"]
    assert dask_card["runner"].startswith("dask scheduler")


def test_kill_9_mid_build_then_rerun_gives_every_record_exactly_once(built, tmp_path):
    out, card = built
    config = write_config(tmp_path / "tiny.yaml", {**TINY, "chunk_size": 3})
    target = tmp_path / "killed"
    command = [sys.executable, "-m", "molbridge", "data", "build", str(config), "--out", str(target)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list((target / "state").glob("s*-c*.json"))) < 4:
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    committed = len(list((target / "state").glob("s*-c*.json")))
    assert committed >= 4 and not (target / "card.json").exists()  # killed mid-build
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    ids = all_ids(target)
    assert len(ids) == len(set(ids)) and sorted(ids) == sorted(all_ids(out))
    assert json.loads((target / "card.json").read_text())["counts"] == card["counts"]


def test_an_output_directory_of_another_config_is_refused(built, tmp_path):
    out, _ = built
    other = load_config(write_config(tmp_path / "other.yaml", {**TINY, "chunk_size": 7}))
    with pytest.raises(BuildError, match="another config"):
        build(other, out)


@pytest.mark.parametrize("change, message", [
    ({"colour": "blue"}, "colour"),
    ({"sources": [{"kind": "qm9", "tasks": ["retrosynthesis"]}]}, "retrosynthesis"),
    ({"sources": [{"kind": "pubchem", "tasks": ["x"]}]}, "kind"),
    ({"sources": [{"kind": "swissprot", "tasks": ["protein_design"]}]}, "sources.0.path: Field required"),
    ({"sources": [{"kind": "swissprot", "path": "/no/sprot.dat", "tasks": ["protein_design"]}]}, "does not exist"),
    ({"sources": [{"kind": "qm9", "path": "/no/qm9", "tasks": ["computed_property"]}]}, "/no/qm9 does not exist"),
    ({"sources": [{"kind": "qm9", "tasks": ["protein_design"]}]}, "cannot feed task 'protein_design'"),
    ({"split": {"method": "scaffold", "fractions": [0.5, 0.5, 0.5]}}, "fractions"),
    ({"sources": []}, "sources"),
])
def test_bad_configs_are_refused_naming_the_key(tmp_path, change, message):
    with pytest.raises(ConfigError) as err:
        load_config(write_config(tmp_path / "bad.yaml", {**TINY, **change}))
    assert message in str(err.value) and "bad.yaml" in str(err.value)


def test_chebi20_without_a_path_reads_the_fetched_split_or_says_how_to_fetch_it(tmp_path, monkeypatch):
    monkeypatch.setenv("MOLBRIDGE_CACHE", str(tmp_path / "cache"))
    entry = {"kind": "chebi20", "tasks": ["mol2text"], "split": "validation"}
    with pytest.raises(ConfigError, match="molbridge data fetch chebi20"):
        load_config(write_config(tmp_path / "c.yaml", {"name": "c", "sources": [entry]}))
    fetched = tmp_path / "cache" / "datasets" / "chebi20"
    (fetched / "ChEBI-20_data").mkdir(parents=True)
    (fetched / "ChEBI-20_data" / "validation.txt").write_text("CID\tSMILES\tdescription\n1\tCCO\tEthanol.\n")
    (fetched / ".molbridge-complete").write_text("{}")
    card = build(load_config(write_config(tmp_path / "c.yaml", {"name": "c", "sources": [entry]})), tmp_path / "o")
    assert card["tasks"] == {"mol2text": 1}


def test_cli_build_with_overrides_and_a_missing_config(tmp_path):
    config = write_config(tmp_path / "tiny.yaml", TINY)
    result = runner.invoke(app, ["data", "build", str(config), "--out", str(tmp_path / "o"),
                                 "--set", "sources.0.limit=5", "--set", "sources.1.limit=3", "--set", "sources.2.limit=2"])
    assert result.exit_code == 0, result.output
    assert "built" in result.stdout and json.loads((tmp_path / "o" / "card.json").read_text())["sources"][0]["limit"] == 5
    missing = runner.invoke(app, ["data", "build", str(tmp_path / "nope.yaml"), "--out", str(tmp_path / "x")])
    assert missing.exit_code == 2 and "no such config file" in missing.output


def test_chebi20_source_from_a_table(tmp_path):
    table = tmp_path / "val.txt"
    table.write_text("CID\tSMILES\tdescription\n1\tCCO\tThe molecule is ethanol, a primary alcohol used widely.\n"
                     "2\tC1CC\tA broken ring that RDKit refuses to read at all.\n")
    config = load_config(write_config(tmp_path / "c.yaml", {
        "name": "c20", "sources": [{"kind": "chebi20", "path": str(table), "tasks": ["molecule_description"]}]}))
    card = build(config, tmp_path / "out")
    assert card["records"] == 1 and card["problems"]["0"]["build"] == 1
    assert "CID 2" in card["problems"]["0"]["examples"][0][0]


def test_import_source_passes_records_through_qc_and_split(tmp_path):
    items = [{"instruction": "Predict the product.", "input": "[C][C][O].[O]", "output": "[C][C][=O]",
              "metadata": {"task": "forward_reaction_prediction", "split": "train"}},
             {"instruction": "Describe.", "input": "[C][C][O]", "output": "Ethanol, a primary alcohol used as fuel.",
              "metadata": {"task": "molecular_description_generation", "split": "train"}},
             {"instruction": "broken", "input": "x"}]
    (tmp_path / "mi.json").write_text(json.dumps(items))
    config = load_config(write_config(tmp_path / "i.yaml", {"name": "imp", "sources": [
        {"kind": "mol_instructions", "path": str(tmp_path / "mi.json"),
         "tasks": ["forward_reaction_prediction", "molecular_description_generation"]}]}))
    card = build(config, tmp_path / "out")
    assert card["records"] == 2 and card["problems"]["0"]["reading"] == 1
    assert set(card["tasks"]) == {"forward_reaction_prediction", "molecular_description_generation"}
    with pytest.raises(ConfigError, match="path"):
        load_config(write_config(tmp_path / "j.yaml", {"name": "x", "sources": [{"kind": "moit3d", "tasks": ["*"]}]}))


def test_card_ring_counts_are_the_sssr_size():
    from molbridge.chem.parse import to_mol
    from molbridge.data.build.units import sssr_size

    gamma_cyclodextrin = ("OC[C@H]1O[C@@H]2O[C@H]3[C@H](O)[C@@H](O)[C@@H](O[C@H]4[C@H](O)[C@@H](O)[C@@H](O[C@H]5[C@H](O)"
                         "[C@@H](O)[C@@H](O[C@H]6[C@H](O)[C@@H](O)[C@@H](O[C@H]7[C@H](O)[C@@H](O)[C@@H](O[C@H]8[C@H](O)"
                         "[C@@H](O)[C@@H](O[C@H]9[C@H](O)[C@@H](O)[C@@H](O[C@H]1[C@H](O)[C@H]2O)O[C@@H]9CO)O[C@@H]8CO)"
                         "O[C@@H]7CO)O[C@@H]6CO)O[C@@H]5CO)O[C@@H]4CO)O[C@@H]3CO")
    assert sssr_size(to_mol(gamma_cyclodextrin)) == 9 and sssr_size(to_mol("c1ccccc1.C1CC1")) == 2


def test_conformers_are_added_and_a_failed_one_keeps_its_records(tmp_path):
    from molbridge.data.parquet_io import read_shard

    source = {"kind": "b3db", "limit": 3, "tasks": ["smiles2selfies"], "conformers": True}
    config = load_config(write_config(tmp_path / "c.yaml", {"name": "c", "sources": [source]}))
    card = build(config, tmp_path / "out")
    records = [r for s in (tmp_path / "out" / "data").glob("*.parquet") for r in read_shard(s)]
    assert len(records) == card["records"] == 3
    assert all(r.modalities.conformer and "MMFF94" in r.modalities.conformer.method for r in records)
    assert all("H" in r.modalities.conformer.atoms for r in records)
    rushed = load_config(write_config(tmp_path / "d.yaml", {"name": "d", "sources": [
        {**source, "conformer_deadline_s": 0.0001}]}))
    card = build(rushed, tmp_path / "rushed")
    assert card["records"] == 3 and card["problems"]["0"]["build"] == 3
    assert "timeout" in card["problems"]["0"]["examples"][0][1]
    with pytest.raises(ConfigError, match="conformers"):
        load_config(write_config(tmp_path / "e.yaml", {"name": "e", "sources": [
            {"kind": "qm9", "tasks": ["computed_property"], "conformers": True}]}))
