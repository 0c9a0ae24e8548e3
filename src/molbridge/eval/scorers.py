"""The engine's scorer families: a task's answers scored by the family its spec declares, with intervals.

- `text` → BLEU, ROUGE, METEOR under the task's text convention (`score_mol2text`);
- `molecule` → `score_text2mol` under `molt5-strict` (SELFIES and InChI answers read as SMILES by
  their answer kind first; an unreadable answer stays invalid);
- `number` → MAE / RMSE over valid answers and the valid ratio (`numeric_report`), units converted
  to the reference's, the property's 3D-MoLM plausibility window where the task declares one; the
  reference value is the record's `value` (or, for imported records, the number in the reference);
- `classification` → accuracy and macro-F1 with invalid answers wrong (`classification_report`) over
  the task's labels (`Scorer.labels`; yes and no when it declares none), matched without case;
- `choice` → the same for option letters and yes/no/maybe answers (an answer outside the task's
  labels is invalid and wrong; the reference is read by the task's answer kind too, so "The answer is
  B." is B); macro-F1 over the declared labels that the references or answers hold;
- `extraction` → exact items (mentions, relations) against the record's gold items
  (`meta.extra["items"]`, else read from the reference): micro precision, recall and F1 over
  (record, item) pairs and per-record macro F1 (`eval.extraction`); an invalid answer predicts nothing
  and scores 0 for its record (even where nothing was wanted);
- `sequence` → identity (normalised Levenshtein similarity) and exact match, invalid sequences 0;
- `ec` → EC numbers read from the answer against the reference's (`meta.extra["ec"]`, else read from
  the reference): accuracy at each level 1-4 (the set of the answer's first-k-field prefixes is the
  reference's; fields compared as written, so `3.1.-.-` matches `3.1.-.-` at every level), exact
  match (the same set of EC numbers: level 4), and per-record precision, recall and F1 of the EC
  numbers (level 4), averaged, so a partial answer gets partial credit; an answer without an EC
  number invalid and 0 on all;
- `set` → the answer and reference as sets of names (`tasks.list_answers.names`: `;`- or line-separated,
  or comma-separated in a reply without `;`; `name_key`: case, whitespace and UniProt's repeat numbers
  ignored): per-answer precision, recall, F1 and exact set match, averaged; an empty answer invalid, 0.
Every family counts invalid answers; none drops a row.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from rapidfuzz.distance import Levenshtein

from molbridge.eval.bootstrap import mean_metric
from molbridge.eval.conventions import get_convention
from molbridge.eval.results import MetricReport
from molbridge.protein.ec import ec_numbers, prefixes
from molbridge.tasks import Task
from molbridge.tasks.list_answers import name_key, names, parse_items
from molbridge.tasks.numbers import parse_number

_UNITS = {"Ha": "hartree", "eV": "eV", "g/mol": "g/mol", "A^2": "Å²"}  # the unit symbols records store


@dataclass(frozen=True)
class Answers:
    """One scored group: references, extracted answers, their validity and each record's meta, aligned."""

    task: Task
    group: str
    references: Sequence[str]
    answers: Sequence[str]
    valid: Sequence[bool]
    meta: Sequence[Mapping]


@dataclass(frozen=True)
class TextScoring:
    """What a user changes about scoring text answers for one run: the convention, its tokenizer, a BERTScore
    model. A molecule's validity rules never change with them."""

    convention: str | None = None
    tokenizer: str | None = None
    bertscore_model: str | None = None


def score_answers(rows: Answers, text: TextScoring = TextScoring()) -> MetricReport:
    """The report of one group by its task's scorer family under the task's convention (for text answers,
    `text`'s convention when it names one)."""
    family = rows.task.family
    name = text.convention if text.convention and family == "text" else rows.task.convention
    report = FAMILIES[family](rows, name, text)
    report.task = rows.group
    return report


def _text(rows: Answers, convention: str | None, text: TextScoring) -> MetricReport:
    from molbridge.eval.text_metrics import score_mol2text

    assert convention is not None  # Task.convention falls back to FAMILY_CONVENTIONS["text"]
    return score_mol2text(rows.references, rows.answers, get_convention(
        convention, text_tokenizer=text.tokenizer, bertscore_model=text.bertscore_model), workers=1)


def _molecule(rows: Answers, convention: str | None, text: TextScoring) -> MetricReport:
    from molbridge.eval.mol_metrics import score_text2mol

    assert convention is not None  # Task.convention falls back to FAMILY_CONVENTIONS["molecule"]
    read = rows.task.answer.as_smiles
    references = [read(r) or r for r in rows.references] if read else list(rows.references)
    answers = [(read(a) or "") if read and a else a for a in rows.answers]
    return score_text2mol(references, answers, get_convention(convention), workers=1)


def _reference_value(reference: str, meta: Mapping) -> float:
    if "value" in meta:
        return float(meta["value"])
    parsed = parse_number(reference)
    return parsed.value if parsed is not None else float("nan")


def _number(rows: Answers, convention: str | None, text: TextScoring) -> MetricReport:
    from molbridge.eval.numeric import numeric_report

    first = rows.meta[0] if rows.meta else {}
    window = rows.task.scorer.windows.get(str(first.get("property")))
    unit = _UNITS.get(str(first.get("unit"))) if first.get("unit") else None
    values = [_reference_value(r, m) for r, m in zip(rows.references, rows.meta, strict=True)]
    return numeric_report(list(rows.answers), values, window=window, expected_unit=unit, task=rows.group)


def _classification(rows: Answers, convention: str | None, text: TextScoring) -> MetricReport:
    from molbridge.eval.classification import classification_report

    declared = rows.task.scorer.labels or ("no", "yes")
    named = {label.lower(): label for label in declared}  # matched without case, reported as declared
    references = rows.references
    if rows.task.family == "choice":  # a reference read as a reply is ("The answer is B." → B)
        references = [rows.task.answer.extract(r) or r for r in references]
    truth = [named.get(key, key) for key in (r.strip().rstrip(".").lower() for r in references)]
    answers = [named.get(a.strip().lower(), a) if a and v else None
               for a, v in zip(rows.answers, rows.valid, strict=True)]
    if rows.task.scorer.labels:  # a declared set: the labels that occur count, so an unused letter is no zero
        present = set(truth) | set(answers)
        labels = [label for label in declared if label in present] + sorted(set(truth) - set(declared))
    else:
        labels = sorted(set(truth) | set(declared))
    return classification_report(truth, answers, labels=labels, task=rows.group)


def _extraction(rows: Answers, convention: str | None, text: TextScoring) -> MetricReport:
    from molbridge.eval.extraction import extraction_report, gold_items

    gold = [gold_items(r, m) for r, m in zip(rows.references, rows.meta, strict=True)]
    given = [parse_items(a) if v else frozenset() for a, v in zip(rows.answers, rows.valid, strict=True)]
    return extraction_report(gold, given, valid=rows.valid, task=rows.group)


def _sequence(rows: Answers, convention: str | None, text: TextScoring) -> MetricReport:
    identity = np.array([Levenshtein.normalized_similarity(a, r) if v else 0.0
                         for a, r, v in zip(rows.answers, rows.references, rows.valid, strict=True)])
    exact = np.array([float(a == r) for a, r in zip(rows.answers, rows.references, strict=True)])
    n_valid = sum(rows.valid)
    return MetricReport(task=rows.group, convention={"name": "sequence-identity", "invalid": "scored 0"},
                        n=len(rows.answers), counts={"valid": n_valid, "invalid": len(rows.answers) - n_valid},
                        metrics={"identity": mean_metric(identity), "exact_match": mean_metric(exact),
                                 "validity": mean_metric(np.array([float(v) for v in rows.valid]))})


def _ec(rows: Answers, convention: str | None, text: TextScoring) -> MetricReport:
    given = [ec_numbers(a) if v else [] for a, v in zip(rows.answers, rows.valid, strict=True)]
    wanted = [list(m.get("ec") or ec_numbers(r)) for r, m in zip(rows.references, rows.meta, strict=True)]
    metrics = {f"level_{level}": mean_metric(np.array([float(bool(g) and prefixes(g, level) == prefixes(w, level))
                                                       for g, w in zip(given, wanted, strict=True)]))
               for level in range(1, 5)}
    scores = np.array([_set_scores(set(g), set(w)) for g, w in zip(given, wanted, strict=True)]).reshape(-1, 4)
    metrics = {"exact_match": mean_metric(scores[:, 3]), **metrics,
               **{name: mean_metric(scores[:, i]) for i, name in enumerate(("precision", "recall", "f1"))}}
    return _with_validity(rows.group, {"name": "ec", "invalid": "scored 0 (no EC number)"}, metrics,
                          [bool(g) for g in given])


def _set(rows: Answers, convention: str | None, text: TextScoring) -> MetricReport:
    scores = np.array([_set_scores({name_key(n) for n in names(a)} if v else set(),
                                   {name_key(n) for n in names(r, commas=False)})  # references: `; `-joined
                       for a, r, v in zip(rows.answers, rows.references, rows.valid, strict=True)]).reshape(-1, 4)
    metrics = {name: mean_metric(scores[:, i]) for i, name in enumerate(("precision", "recall", "f1", "exact_match"))}
    valid = [v and bool(names(a)) for a, v in zip(rows.answers, rows.valid, strict=True)]
    return _with_validity(rows.group, {"name": "name-set", "invalid": "scored 0 (no name)"}, metrics, valid)


def _set_scores(given: set[str], wanted: set[str]) -> tuple[float, float, float, float]:
    """Precision, recall, F1 and exact match of one answer's names (all 0 for an answer without any)."""
    hits = len(given & wanted)
    precision = hits / len(given) if given else 0.0
    recall = hits / len(wanted) if wanted else 0.0
    f1 = 2 * precision * recall / (precision + recall) if hits else 0.0
    return precision, recall, f1, float(bool(given) and given == wanted)


def _with_validity(group: str, convention: dict, metrics: dict, valid: list[bool]) -> MetricReport:
    """A report with the valid / invalid counts and the validity rate beside `metrics`."""
    n_valid = sum(valid)
    return MetricReport(task=group, convention=convention, n=len(valid),
                        counts={"valid": n_valid, "invalid": len(valid) - n_valid},
                        metrics={**metrics, "validity": mean_metric(np.array([float(v) for v in valid]))})


FAMILIES: dict[str, Callable[[Answers, str | None, TextScoring], MetricReport]] = {
    "text": _text, "molecule": _molecule, "number": _number, "classification": _classification,
    "sequence": _sequence, "ec": _ec, "set": _set, "choice": _classification, "extraction": _extraction,
}
