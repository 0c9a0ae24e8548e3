"""The quickstart end to end on a tiny real build and a tiny model: every stage runs, every task is scored next
to the copy baseline, and the report shows the table, the loss curve and depicted examples."""

from __future__ import annotations

import json

import yaml

from molbridge.apps.quickstart import quickstart


def test_quickstart_end_to_end(tmp_path, tiny_llama) -> None:
    build = tmp_path / "build.yaml"
    build.write_text(yaml.safe_dump({
        "name": "tiny", "chunk_size": 50,
        "sources": [{"kind": "qm9", "limit": 120, "tasks": ["property_prediction"]},
                    {"kind": "b3db", "limit": 120, "tasks": ["iupac2smiles", "smiles2selfies"]}],
        "split": {"method": "random", "fractions": [0.6, 0.2, 0.2]}}))
    out = tmp_path / "qs"
    metrics = quickstart(out, budget_minutes=0.05, per_task=3, model=str(tiny_llama), workers=1,
                         build_config=build)
    groups = set(metrics["tasks"])
    assert groups == {"property_prediction:homo", "property_prediction:lumo", "property_prediction:gap",
                      "iupac2smiles", "smiles2selfies"}
    for scores in metrics["tasks"].values():
        assert scores["model"]["n"] == 3  # every answered record is scored, valid or not
        assert scores["copy_baseline"] is not None and scores["copy_baseline"]["n"] == 3
    # the copy baseline copies real SELFIES, so it is valid; the random-weight model is not
    assert metrics["tasks"]["smiles2selfies"]["copy_baseline"]["validity"] == 1.0
    # the 3-second budget either stopped training or (after 3 timed steps) fitted the schedule inside it
    training = metrics["training"]
    assert training["stopped"] == "budget" or training["planned_steps"] < 2000
    assert 1 <= training["steps"] < 2000
    assert json.loads((out / "metrics.json").read_text())["tasks"].keys() == metrics["tasks"].keys()
    page = (out / "report.html").read_text()
    assert "iupac2smiles" in page and "data:image/png;base64," in page and "<svg" in page
    assert len((out / "predictions.jsonl").read_text().splitlines()) == 15
    again = quickstart(out, budget_minutes=0.05, per_task=3, model=str(tiny_llama), workers=1, build_config=build)
    assert again["training"] == metrics["training"]  # a rerun reuses the build and the trained model
