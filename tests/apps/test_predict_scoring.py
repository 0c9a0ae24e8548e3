"""Answer extraction and validity by kind, re-sampling of invalid molecules, and per-kind engine scores."""

from __future__ import annotations

import json

import pytest

from molbridge.apps.predict import Prediction, predict, read_predictions_file, write_predictions
from molbridge.apps.scoring import score_predictions
from molbridge.eval.scorers import TextScoring
from molbridge.tasks import TASKS, task_for
from molbridge.tasks.answers import answer_kind, inchi_to_smiles, selfies_to_smiles
from molbridge.train.examples import Example
from molbridge.train.modeling import load_trained


def extract(kind: str, reply: str) -> str:
    return answer_kind(kind).extract(reply)


def is_valid(kind: str, answer: str) -> bool:
    return answer_kind(kind).valid(answer)


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
    assert selfies_to_smiles("[C][C][O]") == "CCO"
    assert inchi_to_smiles("InChI=1S/C2H6O/c1-2-3/h3H,2H2,1H3") == "CCO"
    assert inchi_to_smiles("InChI=garbage") is None


def test_undeclared_tasks_with_yes_no_answers_are_classification() -> None:
    assert task_for("bbbp", ["Yes", "no.", "NO"]).answer.name == "yes_no"
    assert task_for("reaction", ["CCO", "no"]).answer.name == "text"
    assert task_for("smiles2selfies", ["yes"]).answer.name == "selfies"


def p(task, reference, prediction, group=None, **meta) -> Prediction:
    kind = task_for(task, [reference]).answer.name
    return Prediction("id", task, kind, group or task, reference, prediction, prediction, is_valid(kind, prediction),
                      1, meta)


def test_scores_by_task_family_count_invalid_answers() -> None:
    rows = [p("molecule_design", "CCO", "OCC"), p("molecule_design", "c1ccccc1", "C1CC"),
            p("smiles2selfies", "[C][C][O]", "[C][C][O]"),
            p("computed_property", "x", "It is 46.07 g/mol", group="computed_property:mol_weight",
              property="mol_weight", unit="g/mol", value=46.07),
            p("computed_property", "x", "about 40 g/mol", group="computed_property:mol_weight",
              property="mol_weight", unit="g/mol", value=46.07),
            p("bbbp", "yes", "yes"), p("bbbp", "no", ""),
            p("protein_design", "MKTAY", "MKTAY"), p("protein_design", "MKTAY", "mk4")]
    reports = score_predictions(rows)
    smiles = reports["molecule_design"]
    assert smiles.values()["exact_match"] == 0.5 and smiles.values()["validity"] == 0.5
    assert reports["smiles2selfies"].values()["exact_match"] == 1.0
    numeric = reports["computed_property:mol_weight"].values()
    assert numeric["mae"] == pytest.approx(3.035)
    assert reports["bbbp"].values()["accuracy"] == 0.5
    protein = reports["protein_design"].values()
    assert protein["identity"] == 0.5 and protein["validity"] == 0.5
    assert reports["protein_design"].metrics["identity"].ci_low is not None


def test_imported_numeric_answers_are_scored_against_the_number_in_the_reference() -> None:
    rows = [p("property_prediction", "-0.2353", "-0.2300"), p("property_prediction", "0.0512", "no idea")]
    values = score_predictions(rows)["property_prediction"].values()
    assert values["mae"] == pytest.approx(0.0053) and values["valid_ratio"] == 0.5


def test_predict_writes_every_example_and_resamples_invalid_molecules(tmp_path, tiny_llama) -> None:
    model, tokenizer, info = load_trained(tiny_llama)  # a plain model directory loads as is
    assert info["method"] == "none"
    examples = [Example(f"chebi20:{i}:text2mol", "text2mol", "smiles", f"Generate a molecule for: acid {i}", "CCO",
                        {"source_stored": f"acid {i}", "target_stored": "CCO"}, "text2mol") for i in range(3)]
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
    from molbridge.train.config import TrainConfig
    from molbridge.train.examples import retrieval_examples
    from molbridge.train.modeling import load_tokenizer
    from tests.conftest import chebi_record

    tokenizer = load_tokenizer(TrainConfig(model=str(tiny_llama), task="sft", data={"train": "x"}))
    pool = [chebi_record(str(i), "CCO", f"an alcohol number {i}") for i in range(3)]
    long = chebi_record("99", "C" * 400, "a very long alkane")
    task = TASKS.get("mol2text")
    training, problems = retrieval_examples([long], task, pool, tokenizer, k=1, retriever="morgan", max_length=128)
    assert training == [] and "left out" in problems[0] and "chebi20:99" in problems[0]
    held, _ = retrieval_examples([long], task, pool, tokenizer, k=1, retriever="morgan", max_length=128,
                                 answer_budget=32, exclude_self=False)
    assert len(held) == 1 and held[0].prompt is None
    model, tokenizer, _ = load_trained(tiny_llama)
    (prediction,) = predict(model, tokenizer, held, max_new_tokens=4)
    assert prediction.prediction == "" and prediction.raw == "" and not prediction.valid
    assert score_predictions([prediction])["mol2text"].n == 1


def test_a_text_convention_never_changes_how_molecules_are_counted(scibert_dir) -> None:
    rows = [p("molecule_design", "CCO", ""), p("molecule_design", "CCO", "CCO"),
            p("molecule_description", "An alcohol.", "An alcohol.")]
    # molt5 counts an empty SMILES as valid; it scores the captions here, never the molecules
    reports = score_predictions(rows, TextScoring(convention="molt5", tokenizer=scibert_dir))
    assert reports["molecule_description"].convention["name"] == "molt5"
    assert reports["molecule_design"].values()["validity"] == 0.5  # molecules keep molt5-strict: empty is invalid
    assert reports["molecule_design"].convention["name"] == "molt5-strict"
    assert score_predictions(rows)["molecule_description"].convention["name"] == "whitespace"
