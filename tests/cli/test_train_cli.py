"""`molbridge train` → `molbridge predict` → `molbridge eval`, the documented chain, through the CLI."""

from __future__ import annotations

import json

import yaml
from typer.testing import CliRunner

from molbridge.cli.main import app
from tests.tiny_models import chebi20_tiny

runner = CliRunner()


def test_train_predict_eval_chain(tmp_path, tiny_llama) -> None:
    config = tmp_path / "icma.yaml"
    config.write_text(yaml.safe_dump({
        "model": str(tiny_llama), "task": "icma", "max_steps": 3, "batch_size": 4, "save_every": 3, "eval_every": 0,
        "data": {"train": str(chebi20_tiny(tmp_path, 16)), "eval": str(chebi20_tiny(tmp_path, 6, "test.txt")),
                 "eval_examples": 4}}))
    run = tmp_path / "run"
    trained = runner.invoke(app, ["train", str(config), "--out", str(run), "--quiet"])
    assert trained.exit_code == 0, trained.output
    assert "max_steps: 3/3 steps" in trained.output and (run / "final" / "adapter_config.json").is_file()

    preds = tmp_path / "preds.jsonl"
    predicted = runner.invoke(app, ["predict", str(run), "--out", str(preds), "--per-task", "3", "--max-new-tokens",
                                    "8", "--resample", "1"])
    assert predicted.exit_code == 0, predicted.output
    rows = [json.loads(line) for line in preds.read_text().splitlines()]
    assert sorted({r["task"] for r in rows}) == ["mol2text", "text2mol"] and len(rows) == 6
    assert "mol2text: {" in predicted.output and "text2mol: {" in predicted.output

    scored = runner.invoke(app, ["eval", "text2mol", str(tmp_path / "preds.text2mol.tsv"), "--json",
                                 "--convention", "molt5-strict"])
    assert scored.exit_code == 0, scored.output
    assert json.loads(scored.output)["n"] == 3


def test_bad_config_is_one_line_exit_2(tmp_path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("task: sft\ndata: {train: nowhere.txt}\nmax_stepz: 3\n")
    result = runner.invoke(app, ["train", str(config)])
    assert result.exit_code == 2
    assert "error:" in result.output and "max_stepz" in result.output


def test_predict_needs_a_run_directory(tmp_path) -> None:
    result = runner.invoke(app, ["predict", str(tmp_path), "--out", str(tmp_path / "p.jsonl")])
    assert result.exit_code == 2 and "not a training run directory" in result.output
