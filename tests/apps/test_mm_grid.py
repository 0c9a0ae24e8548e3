"""`molbridge bench mm` on tiny grids over real ChEBI-20-MM rows (read in place from ../shared) with a tiny Llama
and a tiny T5: cells run in processes and on Dask, a killed grid resumes with only its missing cells, a failing
cell (OSRA not installed) is recorded while the others finish, and the results, matrices and report are written."""

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

from molbridge.apps.mm_cells import caption_retrieval, molecule_retrieval, presented
from molbridge.apps.mm_config import GridConfigError, load_grid_config
from molbridge.apps.mm_grid import run_grid
from molbridge.apps.mm_routes import ROUTES, GridSpecError, cells
from molbridge.apps.predict import Prediction
from molbridge.cli.main import app
from molbridge.records import make_record
from tests.conftest import SHARED_DATA, require


@pytest.fixture(scope="module")
def grid_config(tmp_path_factory, tiny_llama) -> callable:
    """A writer of tiny grid configs (real rows, tiny models, 2 training steps, 3 test molecules)."""
    root = tmp_path_factory.mktemp("grids")
    train = require(SHARED_DATA / "chebi20-mm" / "validation.csv")
    test = require(SHARED_DATA / "chebi20-mm" / "test.csv")

    def write(name: str, outputs: list[str], inputs: list[str], models: list[str]) -> Path:
        path = root / f"{name}.yaml"
        path.write_text(yaml.safe_dump({
            "name": name, "outputs": outputs, "inputs": inputs, "models": models,
            "data": {"train": str(train), "test": str(test), "train_rows": 24, "test_rows": 16, "test_molecules": 3},
            "budget_minutes": 5, "max_steps": 2, "max_length": 256, "generation_batch": 4,
            "max_new_tokens": {"caption": 6, "smiles": 8, "property": 4, "iupac": 6},
            "llm": {"model": str(tiny_llama), "batch_size": 4, "lora": {"r": 2, "alpha": 4,
                                                                      "target_modules": ["q_proj"]}},
            "t5": {"scratch": {"d_model": 32, "d_kv": 8, "d_ff": 64, "layers": 1, "heads": 4}, "batch_size": 4},
            "encoders": {"graph": {"encoder": "gin", "settings": {"hidden": 16, "layers": 2}},
                         "image": {"encoder": "vit", "settings": {"hidden": 32, "layers": 1, "ffn": 64}}}}))
        return path

    return write


def test_routes_expand_to_the_cells_a_model_can_read() -> None:
    grid = cells(["caption", "smiles"], ["smiles", "graph", "image", "caption"], ["llm", "t5", "osra"])
    assert ("caption", "graph", "llm") in grid and ("caption", "graph", "t5") not in grid  # T5 reads strings only
    assert ("smiles", "image", "osra") in grid and ("caption", "image", "osra") not in grid
    assert ("caption", "caption", "llm") not in grid and ("smiles", "caption", "t5") in grid
    with pytest.raises(GridSpecError, match="unknown input"):
        cells(["caption"], ["pdf"], ["llm"])


def test_a_structure_input_leaves_no_molecule_text_in_the_prompt() -> None:
    record = make_record(id="r", task="pubchem_property", instruction="What is its XLogP3?", input="CCO", output="1",
                         modalities={"smiles": "CCO", "selfies": "[C][C][O]", "iupac": "ethanol"},
                         meta={"source": "t", "source_id": "1", "license": "x"})
    assert presented(record, ROUTES[("graph", "property")]).input == ""
    assert presented(record, ROUTES[("selfies", "property")]).input == "[C][C][O]"
    assert presented(record, ROUTES[("smiles", "property")]).input == "CCO"


def test_generated_answers_rank_the_test_references() -> None:
    def rows(pairs, kind="text"):
        return [Prediction(str(i), "t", kind, "t", ref, answer, answer, bool(answer)) for i, (ref, answer)
                in enumerate(pairs)]

    exact = caption_retrieval(rows([("a red acid", "a red acid"), ("blue base", "blue base"), ("green salt", "salt")]))
    assert exact.values()["mrr"] == pytest.approx(1.0)
    found = molecule_retrieval(rows([("CCO", "CCO"), ("c1ccccc1", "CCO"), ("CC(=O)O", "")], "smiles"))
    # row 1 finds itself first; row 2's answer (ethanol) scores its own benzene 0, below ethanol and acetic acid;
    # the invalid answer scores every candidate 0 and ranks its own last among the ties (pessimistic)
    assert found.values()["mrr"] == pytest.approx((1 + 1 / 3 + 1 / 3) / 3)


def test_config_errors_name_the_key(grid_config, tmp_path) -> None:
    path = grid_config("bad", ["caption"], ["smiles"], ["llm"])
    with pytest.raises(GridConfigError, match="unknown output"):
        load_grid_config(path, ["outputs=[poem]"])
    with pytest.raises(GridConfigError, match="encoders.graph: 'vit' does not read graph"):
        load_grid_config(path, ["encoders.graph.encoder=vit"])
    with pytest.raises(GridConfigError, match="data.train"):
        load_grid_config(path, [f"data.train={tmp_path / 'none.csv'}"])
    with pytest.raises(GridConfigError, match="no cell"):
        load_grid_config(path, ["inputs=[graph]", "models=[t5]"])


def test_two_by_two_grid_end_to_end_then_a_rerun_is_a_no_op(grid_config, tmp_path) -> None:
    config = grid_config("two", ["caption", "property"], ["smiles", "selfies"], ["llm"])
    out = tmp_path / "grid"
    result = CliRunner().invoke(app, ["bench", "mm", str(config), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "results.json").read_text())
    assert summary["cells"] == {"done": 4, "failed": 0, "missing": 0}
    columns = {(r["input"], r["column"]) for r in summary["table"]}
    assert {("smiles", "caption"), ("selfies", "caption"), ("smiles", "polararea"), ("selfies", "xlogp"),
            ("smiles", "mol2text_retrieval")} <= columns
    row = next(r for r in summary["table"] if (r["input"], r["column"]) == ("selfies", "caption"))
    assert row["n"] == 3 and row["steps"] == 2 and row["tokens_seen"] > 0 and row["copy_score"]["value"] is not None
    matrix = summary["matrices"]["copy"]
    assert matrix["inputs"] == ["smiles", "selfies"] and "caption" in matrix["tasks"]
    assert (out / "report.html").read_text().count("data:image/png;base64") == len(summary["matrices"])
    # the selfies → property cell shows SELFIES as its input
    shown = (out / "cells" / "selfies-to-property.llm" / "predictions.jsonl").read_text()
    assert shown.count('"task": "pubchem_property"') >= 3
    stamps = {p: p.stat().st_mtime_ns for p in out.glob("cells/*/result.json")}
    again = CliRunner().invoke(app, ["bench", "mm", str(config), "--out", str(out), "--quiet"])
    assert again.exit_code == 0 and {p: p.stat().st_mtime_ns for p in stamps} == stamps
    other = CliRunner().invoke(app, ["bench", "mm", str(config), "--out", str(out), "--set", "seed=3", "--quiet"])
    assert other.exit_code != 0 and "another grid config" in other.output


def test_a_killed_grid_reruns_only_its_missing_cells(grid_config, tmp_path) -> None:
    config = grid_config("killed", ["caption", "iupac", "property"], ["smiles"], ["llm", "t5"])
    out = tmp_path / "grid"
    command = [sys.executable, "-m", "molbridge", "bench", "mm", str(config), "--out", str(out), "--quiet"]
    running = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while not list(out.glob("cells/*/result.json")) and time.monotonic() < deadline and running.poll() is None:
        time.sleep(0.5)
    os.killpg(running.pid, signal.SIGKILL)
    running.wait()
    finished = {p: p.stat().st_mtime_ns for p in out.glob("cells/*/result.json")}
    assert 1 <= len(finished) < 6
    result = CliRunner().invoke(app, ["bench", "mm", str(config), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    assert {p: p.stat().st_mtime_ns for p in finished} == finished  # the finished cells were not run again
    assert json.loads((out / "results.json").read_text())["cells"]["done"] == 6


def test_a_failing_cell_is_recorded_and_the_grid_goes_on(grid_config, tmp_path, monkeypatch) -> None:
    config = load_grid_config(grid_config("osra", ["smiles"], ["iupac", "image"], ["llm", "osra"]))
    out = tmp_path / "grid"
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent))  # no osra on the path
    results = run_grid(config, out)
    assert results["cells"] == {"done": 2, "failed": 1, "missing": 0}
    error = json.loads((out / "cells" / "image-to-smiles.osra" / "error.json").read_text())
    assert error["error"] == "MissingResourceError" and "OSRA is not installed" in error["message"]
    row = next(r for r in results["table"] if r["model"] == "osra")
    assert row["status"] == "failed" and "OSRA is not installed" in row["error"]
    monkeypatch.undo()
    if not Path("/usr/bin/osra").exists():
        pytest.skip("OSRA is not installed here (scripts/setup.sh installs it)")
    results = run_grid(config, out)  # a rerun retries the failed cell
    assert results["cells"]["done"] == 3 and not (out / "cells" / "image-to-smiles.osra" / "error.json").exists()
    osra = next(r for r in results["table"] if r["model"] == "osra")
    assert osra["n"] == 3 and osra["score"]["value"] is not None  # OSRA reads RDKit's depictions


def test_cells_run_as_tasks_on_a_dask_cluster(grid_config, tmp_path) -> None:
    from distributed import LocalCluster

    config = load_grid_config(grid_config("dask", ["property"], ["graph"], ["llm"]))
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        results = run_grid(config, tmp_path / "grid", scheduler=cluster.scheduler_address)
    assert results["cells"]["done"] == 1
    assert {r["column"] for r in results["table"]} == {"polararea", "xlogp"}
