"""The `ec` and `set` scorer families on hand-checked answers: EC levels, name sets, invalid answers counted."""

from __future__ import annotations

import pytest

from molbridge.eval.scorers import Answers, score_answers
from molbridge.protein.ec import agree, ec_numbers, is_ec, prefixes
from molbridge.tasks import TASKS
from molbridge.tasks.answers import EC, NAMES
from molbridge.tasks.list_answers import name_key, names
from molbridge.tasks.phrasing import load_phrasings


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
    # the scorer compares prefixes as written instead: `-` is a field like any other
    assert prefixes(["3.1.-.-", "3.1.1.4"], 3) == {"3.1.-", "3.1.1"} and prefixes(["3.1.-.-"], 4) == {"3.1.-.-"}


def test_ec_scores_every_level_and_counts_answers_without_an_ec_as_wrong() -> None:
    references = ["EC 3.1.1.4. The catalysed reaction is: x.", "EC 2.7.10.2. The catalysed reaction is: y.",
                  "EC 1.1.1.3. r. EC 2.7.2.4. s.", "EC 3.1.-.-. t.", "EC 4.2.1.1. u."]
    replies = ["EC 3.1.1.4", "EC 2.7.11.1 (a kinase)", "EC 2.7.2.4", "3.1.-.-", "It is a lyase."]
    report = score_answers(rows("protein_catalytic_activity", references, replies,
                                [{}, {"ec": ["2.7.10.2"]}, {}, {}, {}]))
    # level k: the answer's set of k-field prefixes is the reference's. Row 1 and row 4 (`3.1.-.-` both: `-`
    # matches `-`) at every level; row 2 at levels 1 and 2 ({2}, {2.7}); row 3 at none (its {2} is not {1, 2});
    # row 5 names no EC number. Precision, recall, F1 of the EC numbers: row 3 gives 1 of the 2 (1, 1/2, 2/3)
    assert report.values() == pytest.approx({"exact_match": 2 / 5, "level_1": 3 / 5, "level_2": 3 / 5,
                                             "level_3": 2 / 5, "level_4": 2 / 5, "precision": 3 / 5,
                                             "recall": 2.5 / 5, "f1": (2 + 2 / 3) / 5, "validity": 4 / 5})
    assert report.counts == {"valid": 4, "invalid": 1} and report.n == 5
    assert report.convention["name"] == "ec" and report.metrics["level_4"].n == 5


def test_an_ec_answer_listing_extra_numbers_does_not_match_at_their_level() -> None:
    report = score_answers(rows("protein_catalytic_activity", ["EC 3.1.1.4. x."], ["EC 3.1.1.4, EC 2.7.1.1"]))
    assert report.values() == pytest.approx({"exact_match": 0.0, "level_1": 0.0, "level_2": 0.0, "level_3": 0.0,
                                             "level_4": 0.0, "precision": 0.5, "recall": 1.0, "f1": 2 / 3,
                                             "validity": 1.0})


def test_an_ec_answer_missing_a_number_gets_recall_not_level_credit() -> None:
    # the review's case: {3.1.1.4, 2.7.1.1} answered by 3.1.1.4 alone; level 1 is {3} against {2, 3}
    report = score_answers(rows("protein_catalytic_activity", ["EC 3.1.1.4. x. EC 2.7.1.1. y."], ["EC 3.1.1.4"]))
    assert report.values() == pytest.approx({"exact_match": 0.0, "level_1": 0.0, "level_2": 0.0, "level_3": 0.0,
                                             "level_4": 0.0, "precision": 1.0, "recall": 0.5, "f1": 2 / 3,
                                             "validity": 1.0})


def test_an_incomplete_ec_answered_as_written_matches_at_every_level() -> None:
    # the review's other case: exact match 1 must not go with level 3 at 0
    report = score_answers(rows("protein_catalytic_activity", ["EC 3.1.-.-. x."], ["EC 3.1.-.-"]))
    assert report.values() == pytest.approx({"exact_match": 1.0, "level_1": 1.0, "level_2": 1.0, "level_3": 1.0,
                                             "level_4": 1.0, "precision": 1.0, "recall": 1.0, "f1": 1.0,
                                             "validity": 1.0})
    # a guess more specific than the reference's unknown field is wrong from that field on
    report = score_answers(rows("protein_catalytic_activity", ["EC 3.1.-.-. x."], ["EC 3.1.1.4"]))
    assert [report.values()[f"level_{k}"] for k in (1, 2, 3, 4)] == [1.0, 1.0, 0.0, 0.0]


def test_set_scores_precision_recall_f1_and_exact_match_with_invalid_answers_zero() -> None:
    references = ["SH3; SH2; Protein kinase", "Nuclear export signal", "PDZ 1; PDZ 2", "Kringle 1"]
    replies = ["Domains: none. sh3 ;  Protein   Kinase", "nuclear export signal.", "1. PDZ 1\n2. PDZ 2\n3. SH3", ""]
    report = score_answers(rows("protein_domain", references, replies))
    # row 1's answer is {"none. sh3", "protein kinase"}: 1 of 2 right, 1 of 3 found; row 3's repeat numbers
    # do not count, so its reference is {pdz} and its answer {pdz, sh3}: precision 1/2, recall 1, F1 2/3
    precision, recall = (1 / 2 + 1 + 1 / 2 + 0) / 4, (1 / 3 + 1 + 1 + 0) / 4
    f1 = (2 * 0.5 * (1 / 3) / (0.5 + 1 / 3) + 1 + 2 / 3 + 0) / 4
    assert report.values() == pytest.approx({"precision": precision, "recall": recall, "f1": f1,
                                             "exact_match": 1 / 4, "validity": 3 / 4})
    assert report.counts == {"valid": 3, "invalid": 1}


def test_answer_kinds_read_ec_and_name_answers() -> None:
    assert EC.extract("Answer:  EC 3.1.1.4.\n The reaction ...") == "EC 3.1.1.4. The reaction ..."
    assert EC.valid("EC 3.1.1.4") and not EC.valid("a hydrolase")
    assert NAMES.extract("- SH3\n- SH2;SH3\n\n") == "SH3; SH2" and not NAMES.valid(NAMES.extract(" ; \n"))
    assert TASKS.get("protein_catalytic_activity").family == "ec" and TASKS.get("protein_domain").family == "set"


@pytest.mark.parametrize("reply,found", [
    ("SH3; SH2", ["SH3", "SH2"]),
    ("SH3, SH2", ["SH3", "SH2"]),  # no `;`: commas separate
    ("Domains: SH3, SH2, and Protein kinase.", ["SH3", "SH2", "Protein kinase"]),
    ("Domains and motifs: SH3; SH2.", ["SH3", "SH2"]),
    ("Domains: SH3; SH2\nMotifs: Nuclear export signal", ["SH3", "SH2", "Nuclear export signal"]),
    ("- SH3\n- SH2", ["SH3", "SH2"]),
    ("Zinc finger, C2H2-type; SH3", ["Zinc finger, C2H2-type", "SH3"]),  # with `;`, a comma stays in its name
    ("The protein has an SH3 domain and an SH2 domain.", ["The protein has an SH3 domain and an SH2 domain"]),
])
def test_names_are_read_from_lists_separated_by_semicolons_lines_or_commas(reply, found) -> None:
    assert names(NAMES.extract(reply)) == found


def test_a_reference_is_read_without_comma_splitting_and_repeat_numbers_do_not_count() -> None:
    assert names("Zinc finger, C2H2-type", commas=False) == ["Zinc finger, C2H2-type"]
    assert names("Zinc finger, C2H2-type") == ["Zinc finger", "C2H2-type"]
    assert [name_key(n) for n in ("SH3 1", "SH3  2", "sh3", "Ig-like C2-type 3", "PDZ")] == [
        "sh3", "sh3", "sh3", "ig-like c2-type", "pdz"]


def test_comma_and_labelled_domain_answers_score_and_sentences_do_not() -> None:
    references = ["SH3; SH2", "SH3; SH2", "SH3 1; SH3 2; SH2", "SH3; SH2", "Zinc finger, C2H2-type"]
    replies = ["SH3, SH2", "Domains: SH3; SH2.", "SH2; SH3", "The protein has an SH3 domain and an SH2 domain.",
               "Zinc finger, C2H2-type"]
    report = score_answers(rows("protein_domain", references, replies))
    # rows 1-3 exact; row 4 is one name matching nothing; row 5's reply, without `;`, is two names, neither
    # the reference's one (a name holding a comma needs the `; ` format the phrasings ask for)
    assert report.values() == pytest.approx({"precision": 3 / 5, "recall": 3 / 5, "f1": 3 / 5,
                                             "exact_match": 3 / 5, "validity": 1.0})


def test_every_phrasing_asks_for_the_answer_format() -> None:
    phrasings = load_phrasings("protein")
    assert all('"; "' in q for q in phrasings["domain_question"]) and len(phrasings["domain_question"]) == 14
    assert all("EC " in q or "Enzyme Commission" in q for q in phrasings["catalytic_activity_question"])


@pytest.mark.parametrize("reply,answer", [
    ("**Domains:** SH3; SH2", "SH3; SH2"),
    ("The domains are:\n- SH3\n- SH2\n\nThese domains mediate binding, and signalling.", "SH3; SH2"),
    ("SH3, SH2, and Protein kinase", "SH3; SH2; Protein kinase"),
])
def test_names_answers_are_read_from_labels_and_bullet_runs(reply, answer):
    assert NAMES.extract(reply) == answer
