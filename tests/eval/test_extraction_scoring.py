"""Extraction and closed-set answers scored through the engine (`score_predictions`), values checked by hand.

The gold items are those of BC5CDR document 227508 and of its ChemProt-layout annotation (see
tests/data/test_biotext.py), as the built records keep them in `meta.extra["items"]`.
"""

from __future__ import annotations

import pytest

from molbridge.apps.predict import Prediction
from molbridge.apps.scoring import score_predictions
from molbridge.eval.extraction import extraction_report
from molbridge.tasks import TASKS
from molbridge.tasks.answers import answer_kind

NER_227508 = [["Naloxone"], ["clonidine"], ["nalozone"], ["alpha-methyldopa"], ["naloxone"], ["[3H]-naloxone"],
              ["[3H]-dihydroergocryptine"]]
NER_354896 = [["Lidocaine"], ["lidocaine"]]


def predicted(task: str, reference: str, reply: str, **meta) -> Prediction:
    """A prediction as `predict` writes it: the reply read by the task's answer kind, the record's extra as meta."""
    kind = answer_kind(TASKS.get(task).answer.name)
    answer = kind.extract(reply)
    return Prediction("id", task, kind.name, task, reference, answer, reply, kind.valid(answer), 1, meta)


def test_micro_and_macro_values_by_hand() -> None:
    gold = [frozenset({("a",), ("b",), ("c",)}), frozenset({("d",)}), frozenset()]
    given = [frozenset({("a",), ("b",), ("x",)}), frozenset(), frozenset()]
    report = extraction_report(gold, given, n_resamples=200)
    # pooled: 2 true positives of 3 given and 4 wanted; per record F1 2·2/(3+3), 0, and 1 (nothing either side)
    assert report.values() == pytest.approx({"precision": 2 / 3, "recall": 2 / 4, "f1": 4 / 7,
                                             "macro_f1": (2 / 3 + 0 + 1) / 3})
    assert report.counts == {"valid": 3, "invalid": 0, "true_positives": 2, "predicted_items": 3, "gold_items": 4}
    low, high = report.metrics["f1"].ci_low, report.metrics["f1"].ci_high
    assert low is not None and high is not None and low <= 4 / 7 <= high


def test_entity_recognition_is_exact_and_case_sensitive_and_invalid_answers_predict_nothing() -> None:
    rows = [predicted("chemical_mentions", "...", "Naloxone; clonidine; naloxone;  hypertensive",
                      items=NER_227508),
            predicted("chemical_mentions", "Lidocaine; lidocaine", "LIDOCAINE", items=NER_354896),
            predicted("chemical_mentions", "Lidocaine; lidocaine", "", items=NER_354896)]
    report = score_predictions(rows)["chemical_mentions"]
    # 3 hits (Naloxone, clonidine, naloxone) of 4 + 1 + 0 given and 7 + 2 + 2 wanted
    assert report.values() == pytest.approx({"precision": 3 / 5, "recall": 3 / 11, "f1": 6 / 16,
                                             "macro_f1": (6 / 11 + 0 + 0) / 3})
    assert report.counts["invalid"] == 1 and report.counts["predicted_items"] == 5


def test_an_invalid_answer_scores_zero_even_with_nothing_wanted() -> None:
    report = extraction_report([frozenset(), frozenset()], [frozenset(), frozenset({("x",)})], valid=[True, False],
                               n_resamples=50)
    # record 1: valid "none" for none wanted: 1; record 2: invalid (its items ignored): 0; pooled: nothing on
    # either side, so the share of valid answers
    assert report.values() == pytest.approx({"precision": 0.5, "recall": 0.5, "f1": 0.5, "macro_f1": 0.5})
    assert report.counts["predicted_items"] == 0 and report.counts["invalid"] == 1
    rows = [predicted("chemical_protein_relation", "none", "", items=[]),
            predicted("chemical_protein_relation", "none", "   ", items=[])]
    assert score_predictions(rows)["chemical_protein_relation"].values() == pytest.approx(
        {"precision": 0.0, "recall": 0.0, "f1": 0.0, "macro_f1": 0.0})
    valid = [predicted("chemical_protein_relation", "none", "None.", items=[])]  # read as no items, valid
    assert score_predictions(valid)["chemical_protein_relation"].values()["f1"] == 1.0


def test_relations_are_scored_as_whole_tuples() -> None:
    cdr = [predicted("chemical_disease_relation", "alpha-methyldopa | hypotensive",
                     "alpha-methyldopa | hypotensive; clonidine | hypertensive",
                     items=[["alpha-methyldopa", "hypotensive"]]),
           predicted("chemical_disease_relation", "none", "None", items=[])]
    cpr = [predicted("chemical_protein_relation", "...",
                     "clonidine | CPR:5 | alpha-adrenoceptor; Naloxone | CPR:4 | opiate receptors",
                     items=[["clonidine", "CPR:5", "alpha-adrenoceptor"], ["Naloxone", "CPR:6", "opiate receptors"]]),
           predicted("chemical_protein_relation", "none", "none")]  # an imported record: gold read off the reference
    reports = score_predictions(cdr + cpr)
    assert reports["chemical_disease_relation"].values() == pytest.approx(
        {"precision": 1 / 2, "recall": 1.0, "f1": 2 / 3, "macro_f1": (2 / 3 + 1) / 2})
    assert reports["chemical_protein_relation"].values() == pytest.approx(
        {"precision": 1 / 2, "recall": 1 / 2, "f1": 1 / 2, "macro_f1": (1 / 2 + 1) / 2})  # CPR:4 ≠ CPR:6


def test_multiple_choice_replies_without_a_letter_are_wrong() -> None:
    rows = [predicted("multiple_choice", ref, reply) for ref, reply in
            (("B", "B"), ("A", "(A) Cyclooxygenase"), ("C", "Yes"), ("B", "I cannot tell"))]
    report = score_predictions(rows)["multiple_choice"]
    # accuracy 2/4; macro-F1 over the letters that occur (A, B, C): A 1, B 2·1/(2·1+1) = 2/3, C 0
    assert report.values() == pytest.approx({"accuracy": 0.5, "macro_f1": (1 + 2 / 3 + 0) / 3})
    assert report.convention["labels"] == ["A", "B", "C"]
    assert report.counts == {"valid": 2, "missing": 2, "unknown_label": 0}  # "Yes" is no letter: no answer


def test_a_choice_reference_is_read_like_a_reply() -> None:
    rows = [predicted("multiple_choice", "The answer is B.", "**B**"), predicted("multiple_choice", "(c)", "C"),
            predicted("true_false", "Yes.", "yes"), predicted("true_false", "False", "no")]
    reports = score_predictions(rows)
    assert reports["multiple_choice"].values()["accuracy"] == 1.0
    assert reports["true_false"].values()["accuracy"] == 1.0


def test_true_false_answers_are_scored_as_pubmedqa_labels() -> None:
    rows = [predicted("true_false", ref, reply) for ref, reply in
            (("yes", "Yes."), ("no", "No, it does not."), ("maybe", "B"), ("yes", "maybe"))]
    report = score_predictions(rows)["true_false"]
    # yes: 1 hit, 1 miss → 2/3; no: 1; maybe: 1 false positive, 1 miss → 0
    assert report.values() == pytest.approx({"accuracy": 0.5, "macro_f1": (2 / 3 + 1 + 0) / 3})
    assert report.convention["labels"] == ["yes", "no", "maybe"]


def test_open_answers_get_the_text_metrics() -> None:
    reference = "It stimulates central alpha-2 adrenoceptors and so lowers sympathetic outflow."
    rows = [predicted("open_qa", reference, reference), predicted("open_qa", reference, "")]
    report = score_predictions(rows)["open_qa"]
    assert report.n == 2 and report.convention["name"] == "whitespace"
    assert report.values()["rougeL"] == pytest.approx(0.5)  # one answer identical, one empty
