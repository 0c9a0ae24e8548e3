"""REFERENCE.md §A: the engine reproduces MolT5's reference evaluation to 1e-6 on the shared files."""

from __future__ import annotations

import pytest

from molbridge.eval.engine import score_file
from tests.conftest import SHARED_DATA, require

PRED = SHARED_DATA / "molt5-predictions"

TEXT = {
    "molt5-small-smiles2caption": (0.5315019, 0.4448880, 0.6210149, 0.4698783, 0.5638845, 0.5574693),
    "t5-v1_1-small-smiles2caption": (0.5152165, 0.4242548, 0.5999827, 0.4450349, 0.5423381, 0.5381385),
}
MOL = {
    "molt5-small-caption2smiles": (0.7490187, 0.0815152, 28.816061, 0.7245455, 0.7801160, 0.6525585, 0.6011939),
    "t5-v1_1-small-caption2smiles": (0.7403636, 0.0612121, 30.054242, 0.5963636, 0.7985466, 0.6811858, 0.6236311),
}
# REFERENCE.md prints 7 decimals (Levenshtein 6): agreement to 1e-6 means within half a unit of the last digit.
TOL = 0.51e-7
TOL_LEV = 0.51e-6


@pytest.mark.parametrize("name", sorted(TEXT))
def test_mol2text_reference_values(name: str, scibert_dir: str) -> None:
    report, _ = score_file(require(PRED / f"{name}.txt"), "mol2text", text_tokenizer=scibert_dir, bootstrap=0)
    got = report.values()
    for key, want in zip(("bleu2", "bleu4", "rouge1", "rouge2", "rougeL", "meteor"), TEXT[name]):
        assert got[key] == pytest.approx(want, abs=TOL), key
    assert report.n == 3300


@pytest.mark.parametrize("name", sorted(MOL))
def test_text2mol_reference_values(name: str) -> None:
    report, _ = score_file(require(PRED / f"{name}.txt"), "text2mol", bootstrap=0)
    got = report.values()
    keys = ("bleu", "exact_match", "levenshtein", "validity", "maccs_fts", "rdk_fts", "morgan_fts")
    for key, want in zip(keys, MOL[name]):
        assert got[key] == pytest.approx(want, abs=TOL_LEV if key == "levenshtein" else TOL), key


def test_strict_convention_counts_the_empty_output_invalid() -> None:
    """The t5 file has one empty output: MolT5's scripts count it valid, molt5-strict does not."""
    path = require(PRED / "t5-v1_1-small-caption2smiles.txt")
    quirk, _ = score_file(path, "text2mol", bootstrap=0)
    strict, _ = score_file(path, "text2mol", convention="molt5-strict", bootstrap=0)
    assert quirk.counts["empty_outputs"] == strict.counts["empty_outputs"] == 1
    assert quirk.metrics["validity"].value * 3300 == pytest.approx(1968)
    assert strict.metrics["validity"].value * 3300 == pytest.approx(1967)
    assert strict.counts["invalid_empty"] == 1
    # the empty molecule's similarity 0 no longer drags the valid-only mean down
    assert strict.metrics["maccs_fts"].value > quirk.metrics["maccs_fts"].value


def test_icma_convention_compares_against_the_raw_test_table_as_the_molregpt_scripts_do(tmp_path) -> None:
    """MolReGPT/ICMA read test.txt raw: their references keep ChEBI-20's doubled backslashes. An output that is the
    real SMILES then scores BLEU < 1 under `icma` (as in their scripts) and exactly 1 under `molt5`."""
    import json

    from Levenshtein import distance
    from nltk.translate.bleu_score import corpus_bleu
    from typer.testing import CliRunner

    from molbridge.chem.parse import unescape_chebi
    from molbridge.cli.main import app

    lines = require(SHARED_DATA / "chebi20" / "test.txt").read_text().splitlines()
    rows = [line.split("\t") for line in lines[1:]][:400]
    assert sum("\\\\" in smiles for _, smiles, _ in rows) > 40  # enough escaped SMILES to matter
    reference = tmp_path / "test.txt"
    reference.write_text("\n".join(lines[:401]) + "\n")
    outputs = tmp_path / "molregpt.txt"
    outputs.write_text("CID\tmolecule2caption\tcaption2molecule\n"
                       + "".join(f"{cid}\t-\t{unescape_chebi(smiles)}\n" for cid, smiles, _ in rows))

    def scored(convention: str) -> dict:
        result = CliRunner().invoke(app, ["eval", "text2mol", str(outputs), "-f", "molregpt", "-r", str(reference),
                                          "--convention", convention, "--json", "--bootstrap", "0"])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    icma = scored("icma")
    raw = [[list(smiles)] for _, smiles, _ in rows]
    real = [list(unescape_chebi(smiles)) for _, smiles, _ in rows]
    assert icma["bleu"] == pytest.approx(corpus_bleu(raw, real), abs=1e-12) and icma["bleu"] < 0.999
    assert icma["levenshtein"] == pytest.approx(
        sum(distance(s, unescape_chebi(s)) for _, s, _ in rows) / len(rows), abs=1e-12)
    assert icma["convention"]["reference_strings"] == "raw" and icma["exact_match"] == 1.0
    molt5 = scored("molt5")
    assert molt5["bleu"] == pytest.approx(1.0) and molt5["levenshtein"] == 0.0
    assert molt5["convention"]["reference_strings"] == "unescaped"
