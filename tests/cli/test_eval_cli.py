"""The `molbridge eval` contract that scripts and later issues rely on."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from molbridge.cli.main import app
from tests.conftest import EXAMPLES, SHARED_DATA, require

runner = CliRunner()
TEXT_KEYS = {"bleu2", "bleu4", "rouge1", "rouge2", "rougeL", "meteor", "n"}
MOL_KEYS = {"bleu", "exact_match", "levenshtein", "validity", "maccs_fts", "rdk_fts", "morgan_fts", "n"}


def test_text2mol_json_contract() -> None:
    result = runner.invoke(app, ["eval", "text2mol", str(EXAMPLES / "text2mol.tsv"), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out.keys() >= MOL_KEYS and out["n"] == 12
    assert out["convention"]["name"] == "molt5" and out["counts"]["invalid_missing"] == 1
    assert out["details"]["maccs_fts"]["n_valid"] == 9 and "ci_low" in out["details"]["bleu"]
    assert any("ragged" in issue for issue in out["issues"])


def test_mol2text_json_with_tokenizer_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOLBRIDGE_TEXT_TOKENIZER", str(require(SHARED_DATA / "tokenizers" / "scibert_scivocab_uncased")))
    result = runner.invoke(app, ["eval", "mol2text", str(EXAMPLES / "mol2text.tsv"), "--json", "--bootstrap", "0"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out.keys() >= TEXT_KEYS and out["n"] == 8 and 0 < out["bleu4"] < 1
    assert out["convention"]["text_tokenizer"].endswith("scibert_scivocab_uncased")


def test_readable_table_by_default() -> None:
    result = runner.invoke(app, ["eval", "mol2text", str(EXAMPLES / "mol2text.tsv"), "-c", "whitespace"])
    assert result.exit_code == 0, result.output
    assert "meteor" in result.stdout and "95% CI" in result.stdout and "convention whitespace" in result.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["eval", "text2mol", "/no/such.tsv"], "file not found"),
    (["eval", "mol2text", str(EXAMPLES / "text2mol.tsv")], "looks like a text2mol file"),
    (["eval", "mol2text", str(EXAMPLES / "mol2text.tsv"), "--text-tokenizer", "/no/tokenizer"], "does not exist"),
    (["eval", "text2mol", str(EXAMPLES / "text2mol.tsv"), "-c", "nope"], "unknown convention"),
    (["eval", "text2mol", str(EXAMPLES / "text2mol.tsv"), "-f", "molregpt"], "--reference"),
])
def test_errors_exit_2_with_one_line(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.output


def test_conventions_and_version() -> None:
    out = json.loads(runner.invoke(app, ["eval", "conventions", "--json"]).stdout)
    assert {"molt5", "molt5-strict", "icma", "3dmolm", "sepit"} <= out.keys()
    assert runner.invoke(app, ["--version"]).stdout.startswith("molbridge ")


def test_text2mol_with_fcd() -> None:
    result = runner.invoke(app, ["eval", "text2mol", str(EXAMPLES / "text2mol.tsv"), "--fcd", "--json", "--bootstrap", "0"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["fcd"] > 0 and out["convention"]["versions"]["fcd"] != "absent"
    assert out["details"]["fcd"]["n"] == 8  # canonical valid outputs (the empty one is dropped)


def test_uncached_hub_tokenizer_fails_fast_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    result = runner.invoke(app, ["eval", "mol2text", str(EXAMPLES / "mol2text.tsv"),
                                 "--text-tokenizer", "nobody/no-such-tokenizer"])
    assert result.exit_code == 2
    assert "not in the Hugging Face cache and the hub cannot be reached" in result.stderr
