"""BERTScore with a user's model: torchmetrics' values pair by pair, in the input's order, empty texts 0, SEPIT's
truncation, and through the engine and both CLIs as three more text metrics with intervals."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from molbridge.cli.main import app
from molbridge.errors import MissingResourceError
from molbridge.eval.bertscore import bertscore_values
from molbridge.eval.conventions import get_convention
from molbridge.eval.text_metrics import score_mol2text
from molbridge.retrieval.text_encoder import packaged_model_dir
from tests.conftest import EXAMPLES

REFERENCES = ["The protein binds ATP and hydrolyses it to ADP.", "Kinase activity.",
              "Catalysis of the transfer of a phosphate group to a serine residue.", "A transporter of zinc ions."]
CANDIDATES = ["A protein that binds ATP.", "kinase", "It transfers phosphate groups to serine residues.", ""]


@pytest.fixture(scope="module")
def model() -> str:
    return str(packaged_model_dir())  # MiniLM-L6: a BERT with its tokenizer, offline


def test_values_are_torchmetrics_bertscore_pair_by_pair_in_input_order(model) -> None:
    from torchmetrics.functional.text.bert import bert_score

    ours = bertscore_values(REFERENCES, CANDIDATES, model, truncation=None)
    for row, (reference, candidate) in enumerate(zip(REFERENCES, CANDIDATES, strict=True)):
        if not candidate:
            assert ours[row].tolist() == [0.0, 0.0, 0.0]  # an empty answer scores 0, as bert-score does
            continue
        theirs = bert_score([candidate], [reference], model_name_or_path=model, num_layers=6)
        np.testing.assert_allclose(ours[row], [float(theirs[k]) for k in ("precision", "recall", "f1")], atol=1e-5)
    reversed_order = bertscore_values(REFERENCES[::-1], CANDIDATES[::-1], model, truncation=None)
    np.testing.assert_allclose(reversed_order, ours[::-1], atol=1e-6)
    same = bertscore_values(REFERENCES[:1], REFERENCES[:1], model)
    np.testing.assert_allclose(same, [[1.0, 1.0, 1.0]], atol=1e-5)


def test_texts_are_cut_to_the_truncation_first_as_sepit_does(model) -> None:
    long = "zinc " * 40 + "kinase activity"
    cut = bertscore_values([long], ["zinc zinc zinc"], model, truncation=3)
    assert cut[0].tolist() == pytest.approx([1.0, 1.0, 1.0], abs=1e-5)  # "kinase activity" fell beyond 3 tokens
    assert bertscore_values([long], ["zinc zinc zinc"], model, truncation=None)[0, 1] < 0.99


def test_the_engine_reports_bertscore_with_intervals_only_when_a_model_is_named(model) -> None:
    plain = score_mol2text(REFERENCES, CANDIDATES, get_convention("whitespace"), workers=1)
    assert "bertscore_f1" not in plain.metrics
    report = score_mol2text(REFERENCES, CANDIDATES, get_convention("whitespace", bertscore_model=model), workers=1)
    f1 = report.metrics["bertscore_f1"]
    expected = bertscore_values(REFERENCES, CANDIDATES, model)[:, 2].mean()
    assert f1.value == pytest.approx(expected) and f1.n == 4 and f1.ci_low <= f1.value <= f1.ci_high
    assert report.convention["bertscore_model"] == model and report.metrics["meteor"] == plain.metrics["meteor"]


def test_a_model_that_is_not_a_directory_is_named() -> None:
    with pytest.raises(MissingResourceError, match="not a directory"):
        bertscore_values(["a"], ["b"], "/no/such/model")


def test_eval_cli_takes_a_bertscore_model_for_text_and_refuses_it_for_molecules(model) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["eval", "mol2text", str(EXAMPLES / "mol2text.tsv"), "-c", "whitespace", "--json",
                                 "--bootstrap", "0", "--bertscore-model", model])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert 0 < out["bertscore_f1"] <= 1 and {"bertscore_p", "bertscore_r"} <= out.keys()
    refused = runner.invoke(app, ["eval", "text2mol", str(EXAMPLES / "text2mol.tsv"), "--bertscore-model", model])
    assert refused.exit_code == 2 and "BERTScore scores text" in refused.stderr
