"""`molbridge serve` refuses to start, with the reason, when it would be unsafe or could not answer."""

from __future__ import annotations

from typer.testing import CliRunner

from molbridge.cli.main import app


def refused(*args: str) -> str:
    result = CliRunner().invoke(app, ["serve", *args])
    assert result.exit_code == 2, result.output
    return result.output


def test_a_public_address_needs_a_token(tmp_path) -> None:
    assert "--token-file" in refused("--host", "0.0.0.0")
    short = tmp_path / "token"
    short.write_text("abc\n")
    assert "at least 16 characters" in refused("--host", "0.0.0.0", "--token-file", str(short))
    assert "No such file" in refused("--token-file", str(tmp_path / "missing"))


def test_runs_and_indexes_must_exist_and_load(tmp_path) -> None:
    assert "does not exist" in refused("--run", f"x={tmp_path / 'nope'}")
    assert "no config.yaml" in refused("--run", str(tmp_path))
    assert "given twice" in refused("--index", f"a={tmp_path}", "--index", f"a={tmp_path}")
    assert "not an index" in refused("--index", f"a={tmp_path}")
