"""Leakage audit: REFERENCE.md §D on ChEBI-20 validation vs test, and each key on hand-made records."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from molbridge.cli.main import app
from molbridge.data.audit import AuditItem, audit
from tests.conftest import SHARED_DATA, require

runner = CliRunner()


def test_chebi20_validation_vs_test_reports_reference_section_d() -> None:
    val, test = require(SHARED_DATA / "chebi20" / "validation.txt"), require(SHARED_DATA / "chebi20" / "test.txt")
    result = runner.invoke(app, ["data", "audit", str(val), str(test), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert (out["identical_inchikey"], out["identical_caption"], out["shared_connectivity"]) == (5, 4, 266)
    assert out["distinct_shared_blocks"] == 232 and out["n_a"] == 3301 and out["n_b"] == 3300
    assert len(out["shared"]["shared_connectivity"]) == 266
    assert all(len(s["key"]) == 14 and s["in_a"] for s in out["shared"]["shared_connectivity"])


A = [AuditItem("a1", "C[C@H](N)C(=O)O", "L-alanine, an amino acid."),
     AuditItem("a2", "CC(=O)[O-]", "acetate, a carboxylic acid anion."),
     AuditItem("a3", "c1ccccc1", "benzene."),
     AuditItem("a4", "not a molecule", "")]
B = [AuditItem("b1", "C[C@@H](N)C(=O)O", "D-alanine."),  # stereoisomer: same block, other InChIKey
     AuditItem("b2", "CC(=O)O", "acetic acid."),  # charge state: same block
     AuditItem("b3", "C1=CC=CC=C1", "  benzene.  "),  # same molecule written otherwise, same caption trimmed
     AuditItem("b4", "CCO", "ethanol."),
     AuditItem("b5", "C1CC", "a broken ring"),  # invalid: counted, in no molecule key
     AuditItem("b6", "", "benzene.")]  # no molecule, caption still compared


def test_each_key_counts_the_records_of_b_that_occur_in_a() -> None:
    report = audit(A, B)
    assert [s.id for s in report.shared["identical_inchikey"]] == ["b3"]
    assert [s.id for s in report.shared["shared_connectivity"]] == ["b1", "b2", "b3"]
    assert [s.id for s in report.shared["identical_caption"]] == ["b3", "b6"]
    assert report.shared["identical_caption"][0].in_a == ["a3"]
    assert (report.invalid_molecules_a, report.invalid_molecules_b) == (1, 1)
    assert report.distinct_shared_blocks == 3 and (report.n_a, report.n_b) == (4, 6)


def test_audit_of_a_split_against_itself_and_against_nothing() -> None:
    valid = A[:3]
    assert audit(valid, valid).identical_inchikey == 3
    empty = audit([], B)
    assert (empty.identical_inchikey, empty.shared_connectivity, empty.identical_caption) == (0, 0, 0)


def test_readable_output_and_bad_inputs(tmp_path: Path) -> None:
    a = tmp_path / "a.txt"
    a.write_text("CID\tSMILES\tdescription\n1\tCCO\tethanol.\n2\tC1CC\tbroken.\n")
    b = tmp_path / "b.txt"
    b.write_text("CID\tSMILES\tdescription\n9\tOCC\tethanol.\n")
    result = runner.invoke(app, ["data", "audit", str(a), str(b)])
    assert result.exit_code == 0, result.output
    assert "identical_inchikey: 1 of 1" in result.stdout and "(1 invalid molecules)" in result.stdout
    wrong = tmp_path / "b.json"
    wrong.write_text("{}")
    result = runner.invoke(app, ["data", "audit", str(a), str(wrong)])
    assert result.exit_code == 2 and "b.json" in result.output and "expected a ChEBI-20 table" in result.output
    ragged = tmp_path / "r.txt"
    ragged.write_text("CID\tSMILES\tdescription\n1\tCCO\n")
    result = runner.invoke(app, ["data", "audit", str(a), str(ragged)])
    assert result.exit_code == 2 and "r.txt:2" in result.output


def test_audit_of_build_splits(tmp_path: Path) -> None:
    import yaml

    from molbridge.data.build.config import load_config
    from molbridge.data.build.pipeline import build

    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"name": "a", "split": {"method": "random", "fractions": [0.5, 0.25, 0.25]},
                                      "sources": [{"kind": "qm9", "limit": 200, "tasks": ["computed_property"]}]}))
    build(load_config(config), tmp_path / "out")
    result = runner.invoke(app, ["data", "audit", f"{tmp_path / 'out'}:train", f"{tmp_path / 'out'}:test", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["n_a"] > 50 and out["n_b"] > 20
    assert out["identical_inchikey"] == 0 and out["shared_connectivity"] == 0  # the split is by skeleton
    missing = runner.invoke(app, ["data", "audit", f"{tmp_path / 'out'}:train", str(tmp_path / "none.parquet")])
    assert missing.exit_code == 2
