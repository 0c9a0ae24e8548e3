"""Answer extraction and validity by kind, re-sampling of invalid molecules, and per-kind engine scores."""

from __future__ import annotations

import json

import pytest

from molbridge.train.examples import Example, answer_kind
from molbridge.train.extract import as_smiles, extract, is_valid
from molbridge.train.modeling import load_trained
from molbridge.train.predict import (
    Prediction,
    predict,
    read_predictions_file,
    write_predictions,
)
from molbridge.train.scoring import score_predictions


@pytest.mark.parametrize("kind,reply,answer,valid", [
    ("smiles", "Molecule: `CCO`. It is ethanol.", "CCO", True),
    ("smiles", "C1CC", "C1CC", False),
    ("selfies", "SELFIES: [C][C][O] is it", "[C][C][O]", True),
    ("inchi", "InChI=1S/C2H6O/c1-2-3/h3H,2H2,1H3.", "InChI=1S/C2H6O/c1-2-3/h3H,2H2,1H3", True),
    ("protein", "Sequence: MKTAYIAK", "MKTAYIAK", True),
    ("protein", "mkt4", "mkt4", False),
    ("number", "The HOMO is -5.2 eV", "The HOMO is -5.2 eV", True),
    ("number", "no idea", "no idea", False),
    ("yes_no", "Is it toxic? Yes.", "yes", True),
    ("text", "  A   primary\nalcohol. ", "A primary alcohol.", True),
    ("smiles", "", "", False),
])
def test_extract_and_validity(kind, reply, answer, valid) -> None:
    assert extract(kind, reply) == answer
    assert is_valid(kind, answer) is valid


def test_selfies_and_inchi_read_as_smiles() -> None:
    assert as_smiles("selfies", "[C][C][O]") == "CCO"
    assert as_smiles("inchi", "InChI=1S/C2H6O/c1-2-3/h3H,2H2,1H3") == "CCO"
    assert as_smiles("inchi", "InChI=garbage") is None


def test_undeclared_tasks_with_yes_no_answers_are_classification() -> None:
    assert answer_kind("bbbp", ["Yes", "no.", "NO"]) == "yes_no"
    assert answer_kind("reaction", ["CCO", "no"]) == "text"
    assert answer_kind("smiles2selfies", ["yes"]) == "selfies"


def p(kind, reference, prediction, group=None, **meta) -> Prediction:
    from molbridge.train.extract import is_valid as valid

    return Prediction("id", group or kind, kind, group or kind, reference, prediction, prediction,
                      valid(kind, prediction), 1, meta)


def test_scores_by_kind_count_invalid_answers() -> None:
    rows = [p("smiles", "CCO", "OCC"), p("smiles", "c1ccccc1", "C1CC"),
            p("selfies", "[C][C][O]", "[C][C][O]"),
            p("number", "x", "It is 46.07 g/mol", group="computed_property:mol_weight", property="mol_weight",
              unit="g/mol", value=46.07),
            p("number", "x", "about 40 g/mol", group="computed_property:mol_weight", property="mol_weight",
              unit="g/mol", value=46.07),
            p("yes_no", "yes", "yes"), p("yes_no", "no", ""),
            p("protein", "MKTAY", "MKTAY"), p("protein", "MKTAY", "mk4")]
    reports = score_predictions(rows)
    smiles = reports["smiles"]
    assert smiles.values()["exact_match"] == 0.5 and smiles.values()["validity"] == 0.5
    assert reports["selfies"].values()["exact_match"] == 1.0
    numeric = reports["computed_property:mol_weight"].values()
    assert numeric["mae"] == pytest.approx(3.035)
    assert reports["yes_no"].values()["accuracy"] == 0.5
    protein = reports["protein"].values()
    assert protein["identity"] == 0.5 and protein["validity"] == 0.5
    assert reports["protein"].metrics["identity"].ci_low is not None


def test_predict_writes_every_example_and_resamples_invalid_molecules(tmp_path, tiny_llama) -> None:
    model, tokenizer, info = load_trained(tiny_llama)  # a plain model directory loads as is
    assert info["method"] == "none"
    examples = [Example(f"chebi20:{i}:text2mol", "text2mol", "smiles", f"Generate a molecule for: acid {i}", "CCO",
                        {"cid": str(i), "source": f"acid {i}", "smiles_raw": "CCO"}, "text2mol") for i in range(3)]
    predictions = predict(model, tokenizer, examples, max_new_tokens=6, batch_size=2, resample=2)
    assert [x.id for x in predictions] == [e.id for e in examples]
    # random weights: no valid molecule, so each was re-sampled twice and is still reported (invalid)
    assert all(not x.valid and x.attempts == 3 for x in predictions)
    written = write_predictions(tmp_path / "preds.jsonl", predictions)
    assert [w.name for w in written] == ["preds.jsonl", "preds.text2mol.tsv"]
    assert read_predictions_file(written[0]) == predictions
    lines = written[1].read_text().splitlines()
    assert lines[0] == "description\tground truth\toutput" and len(lines) == 4
    assert json.loads(written[0].read_text().splitlines()[0])["reference"] == "CCO"


def test_an_example_whose_prompt_could_not_fit_is_answered_empty_and_scored_invalid(tiny_llama) -> None:
    from molbridge.data.sources.chebi20 import ChEBI20Record
    from molbridge.train.config import TrainConfig
    from molbridge.train.examples import chebi20_examples
    from molbridge.train.modeling import load_tokenizer

    tokenizer = load_tokenizer(TrainConfig(model=str(tiny_llama), task="sft", data={"train": "x"}))
    pool = [ChEBI20Record(str(i), "CCO", "CCO", f"an alcohol number {i}", i) for i in range(3)]
    long = ChEBI20Record("99", "C" * 400, "C" * 400, "a very long alkane", 9)
    training, problems = chebi20_examples([long], ["mol2text"], tokenizer, pool=pool, k=1, max_length=128)
    assert training == [] and "left out" in problems[0]
    held, _ = chebi20_examples([long], ["mol2text"], tokenizer, pool=pool, k=1, max_length=128, answer_budget=32,
                               exclude_self=False)
    assert len(held) == 1 and held[0].prompt == ""
    model, tokenizer, _ = load_trained(tiny_llama)
    (prediction,) = predict(model, tokenizer, held, max_new_tokens=4)
    assert prediction.prediction == "" and prediction.raw == ""
    assert score_predictions([prediction])["mol2text"].n == 1
