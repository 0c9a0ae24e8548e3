"""Text → molecule scoring: validity, invalid handling and reasons, exact match by InChI."""

from __future__ import annotations

import pytest

from molbridge.eval.conventions import get_convention
from molbridge.eval.mol_metrics import score_text2mol

MOLT5 = get_convention("molt5")
STRICT = get_convention("molt5-strict")


def test_exact_match_is_inchi_equality_not_string_equality() -> None:
    refs = ["CN1C=NC2=C1C(=O)N(C(=O)N2C)C", "CCO"]
    outs = ["CN1C=NC2=C1C(=O)N(C)C(=O)N2C", "OCC"]  # same molecules, other SMILES
    report = score_text2mol(refs, outs, MOLT5, workers=1)
    assert report.metrics["exact_match"].value == 1.0
    assert report.metrics["levenshtein"].value > 0
    assert report.metrics["maccs_fts"].value == 1.0


def test_invalid_outputs_are_counted_by_reason_and_never_dropped() -> None:
    refs = ["CCO", "CCN", "c1ccccc1", "CC(=O)O", "CCC"]
    outs = ["CCO", "C1CC", "N(C)(C)(C)(C)C", None, "C(" + "é" * 60]
    report = score_text2mol(refs, outs, STRICT, workers=1)
    assert report.n == 5
    assert report.counts["valid_outputs"] == 1
    assert report.counts["invalid_syntax"] == 2  # unclosed ring; non-ASCII garbage (RDKit raises)
    assert report.counts["invalid_valence"] == 1
    assert report.counts["invalid_missing"] == 1
    assert report.metrics["validity"].value == pytest.approx(0.2)
    maccs = report.metrics["maccs_fts"]
    assert maccs.value == 1.0 and maccs.n_valid == 1  # valid-only headline (MolT5)
    assert maccs.all_n == pytest.approx(0.2)  # invalid scored 0 over all N


def test_empty_output_quirk_is_explicit() -> None:
    quirk = score_text2mol(["CCO", "CCN"], ["", "CCN"], MOLT5, workers=1)
    strict = score_text2mol(["CCO", "CCN"], ["", "CCN"], STRICT, workers=1)
    assert quirk.metrics["validity"].value == 1.0 and strict.metrics["validity"].value == 0.5
    assert any("empty outputs count as valid" in n for n in quirk.notes)
    assert quirk.metrics["maccs_fts"].value == 0.5 and strict.metrics["maccs_fts"].value == 1.0


def test_escaped_backslashes_in_references_parse() -> None:
    report = score_text2mol([r"C/C=C\\C"], [r"C/C=C\C"], MOLT5, workers=1)
    assert report.counts["invalid_references"] == 0
    assert report.metrics["exact_match"].value == 1.0


def test_all_n_headline_convention() -> None:
    conv = STRICT.model_copy(update={"headline_fingerprints": "all"})
    report = score_text2mol(["CCO", "CCN"], ["CCO", "X"], conv, workers=1)
    assert report.metrics["morgan_fts"].value == 0.5 and report.metrics["morgan_fts"].valid_only == 1.0


def test_parallel_equals_serial() -> None:
    refs = ["CCO", "CCN", "c1ccccc1O", "CC(=O)O", "CCC", "CCCl"] * 70
    outs = ["CCO", "CCC", "c1ccccc1N", "CC(=O", "CCCC", "CCBr"] * 70
    serial = score_text2mol(refs, outs, MOLT5, workers=1)
    parallel = score_text2mol(refs, outs, MOLT5, workers=2)
    assert serial.values() == parallel.values()
    assert serial.counts == parallel.counts


def test_length_mismatch() -> None:
    with pytest.raises(ValueError, match="references but"):
        score_text2mol(["CCO"], [], MOLT5)


def test_fcd_follows_molt5_protocol() -> None:
    """Canonical valid SMILES of each side, empty/invalid outputs dropped, value = fcd.get_fcd."""
    from fcd import get_fcd, load_ref_model

    from molbridge.chem import canonical_smiles

    refs = ["CCO", "c1ccccc1O", "CC(=O)Nc1ccc(O)cc1", "CCN(CC)CC", "OC(=O)CCC(=O)O", "CC(C)Cc1ccc(cc1)C(C)C(=O)O"]
    outs = ["OCC", "c1ccccc1N", "", "CCN(CC)C", "C1CC", "CC(C)Cc1ccc(cc1)C(C)C(=O)O"]
    report = score_text2mol(refs, outs, MOLT5, fcd=True, workers=1)
    want = get_fcd([canonical_smiles(s) for s in refs], [canonical_smiles(s) for s in outs if s and s != "C1CC"],
                   load_ref_model())
    assert report.metrics["fcd"].value == pytest.approx(want, abs=1e-6)
    assert report.metrics["fcd"].n == 4
    assert any("fcd package" in note for note in report.notes)


def test_failure_kinds_do_not_depend_on_rdkit_logging() -> None:
    """An application that silenced RDKit still gets the reasons (they come from RDKit's structures)."""
    from rdkit import RDLogger

    RDLogger.DisableLog("rdApp.*")
    try:
        report = score_text2mol(["CCO", "CCN", "CCC"], ["C1CC", "N(C)(C)(C)(C)C", "c1cccc1"], STRICT, workers=1)
    finally:
        RDLogger.EnableLog("rdApp.*")
    assert (report.counts["invalid_syntax"], report.counts["invalid_valence"], report.counts["invalid_kekulize"]) == (1, 1, 1)
