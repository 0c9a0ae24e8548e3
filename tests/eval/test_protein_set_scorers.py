"""The `ec` and `set` scorer families on hand-checked answers: EC levels, name sets, invalid answers counted."""

from __future__ import annotations

import pytest

from molbridge.eval.scorers import Answers, score_answers
from molbridge.protein.ec import agree, ec_numbers, is_ec
from molbridge.tasks import TASKS
from molbridge.tasks.answers import EC, NAMES


def rows(task: str, references: list[str], replies: list[str], meta: list[dict] | None = None) -> Answers:
    kind = TASKS.get(task).answer
    answers = [kind.extract(r) for r in replies]
    return Answers(TASKS.get(task), task, references, answers, [kind.valid(a) for a in answers],
                   meta or [{} for _ in references])


@pytest.mark.parametrize("text,found", [
    ("EC 3.1.1.4. The catalysed reaction is: a + H2O = b.", ["3.1.1.4"]),
    ("EC3.1.1.4 and EC=2.7.10.2; again 3.1.1.4", ["3.1.1.4", "2.7.10.2"]),
    ("an incomplete 3.1.-.- and a preliminary 3.5.1.n3.", ["3.1.-.-", "3.5.1.n3"]),
    ("version 1.2.3.4.5, 3.1.1 or 10.1038/x.y.z.w", []),
])
def test_ec_numbers_are_read_from_text(text, found) -> None:
    assert ec_numbers(text) == found


def test_ec_validity_and_agreement_by_level() -> None:
    assert is_ec("3.1.1.4") and is_ec("3.1.-.-") and is_ec("3.5.1.n3") and not is_ec("3.1.1") and not is_ec("3.-.1")
    assert [agree("3.1.1.5", "3.1.1.4", k) for k in (1, 2, 3, 4)] == [True, True, True, False]
    assert [agree("3.1.-.-", "3.1.-.-", k) for k in (1, 2, 3, 4)] == [True, True, False, False]


def test_ec_scores_every_level_and_counts_answers_without_an_ec_as_wrong() -> None:
    references = ["EC 3.1.1.4. The catalysed reaction is: x.", "EC 2.7.10.2. The catalysed reaction is: y.",
                  "EC 1.1.1.3. r. EC 2.7.2.4. s.", "EC 3.1.-.-. t.", "EC 4.2.1.1. u."]
    replies = ["EC 3.1.1.4", "EC 2.7.11.1 (a kinase)", "EC 2.7.2.4", "3.1.-.-", "It is a lyase."]
    report = score_answers(rows("protein_catalytic_activity", references, replies,
                                [{}, {"ec": ["2.7.10.2"]}, {}, {}, {}]))
    # exact: rows 1 and 4 (the same set of ECs); levels 1 and 2: rows 1-4; levels 3 and 4: rows 1 and 3
    # (row 4's third field is unknown); row 5 names no EC number
    assert report.values() == pytest.approx({"exact_match": 2 / 5, "level_1": 4 / 5, "level_2": 4 / 5,
                                             "level_3": 2 / 5, "level_4": 2 / 5, "validity": 4 / 5})
    assert report.counts == {"valid": 4, "invalid": 1} and report.n == 5
    assert report.convention["name"] == "ec" and report.metrics["level_4"].n == 5


def test_an_ec_answer_listing_extra_numbers_does_not_match_at_their_level() -> None:
    report = score_answers(rows("protein_catalytic_activity", ["EC 3.1.1.4. x."], ["EC 3.1.1.4, EC 2.7.1.1"]))
    assert report.values() == pytest.approx({"exact_match": 0.0, "level_1": 0.0, "level_2": 0.0, "level_3": 0.0,
                                             "level_4": 0.0, "validity": 1.0})


def test_set_scores_precision_recall_f1_and_exact_match_with_invalid_answers_zero() -> None:
    references = ["SH3; SH2; Protein kinase", "Nuclear export signal", "PDZ 1; PDZ 2", "Kringle 1"]
    replies = ["Domains: none. sh3 ;  Protein   Kinase", "nuclear export signal.", "1. PDZ 1\n2. PDZ 2\n3. SH3", ""]
    report = score_answers(rows("protein_domain", references, replies))
    # row 1's answer is {"domains: none. sh3", "protein kinase"}: 1 of 2 right, 1 of 3 found
    precision, recall = (1 / 2 + 1 + 2 / 3 + 0) / 4, (1 / 3 + 1 + 1 + 0) / 4
    f1 = (2 * 0.5 * (1 / 3) / (0.5 + 1 / 3) + 1 + 0.8 + 0) / 4
    assert report.values() == pytest.approx({"precision": precision, "recall": recall, "f1": f1,
                                             "exact_match": 1 / 4, "validity": 3 / 4})
    assert report.counts == {"valid": 3, "invalid": 1}


def test_answer_kinds_read_ec_and_name_answers() -> None:
    assert EC.extract("Answer:  EC 3.1.1.4.\n The reaction ...") == "EC 3.1.1.4. The reaction ..."
    assert EC.valid("EC 3.1.1.4") and not EC.valid("a hydrolase")
    assert NAMES.extract("- SH3\n- SH2;SH3\n\n") == "SH3; SH2" and not NAMES.valid(NAMES.extract(" ; \n"))
    assert TASKS.get("protein_catalytic_activity").family == "ec" and TASKS.get("protein_domain").family == "set"
