"""The engine's scorer families: a task's answers scored by the family its spec declares, with intervals.

- `text` → BLEU, ROUGE, METEOR under the task's text convention (`score_mol2text`);
- `molecule` → `score_text2mol` under `molt5-strict` (SELFIES and InChI answers read as SMILES by
  their answer kind first; an unreadable answer stays invalid);
- `number` → MAE / RMSE over valid answers and the valid ratio (`numeric_report`), units converted
  to the reference's, the property's 3D-MoLM plausibility window where the task declares one; the
  reference value is the record's `value` (or, for imported records, the number in the reference);
- `classification` → accuracy and macro-F1 with invalid answers wrong (`classification_report`);
- `sequence` → identity (normalised Levenshtein similarity) and exact match, invalid sequences 0.
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
from molbridge.tasks import Task
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

    truth = [r.strip().lower().rstrip(".") for r in rows.references]
    return classification_report(truth, [a or None for a in rows.answers], labels=sorted(set(truth) | {"no", "yes"}),
                                 task=rows.group)


def _sequence(rows: Answers, convention: str | None, text: TextScoring) -> MetricReport:
    identity = np.array([Levenshtein.normalized_similarity(a, r) if v else 0.0
                         for a, r, v in zip(rows.answers, rows.references, rows.valid, strict=True)])
    exact = np.array([float(a == r) for a, r in zip(rows.answers, rows.references, strict=True)])
    n_valid = sum(rows.valid)
    return MetricReport(task=rows.group, convention={"name": "sequence-identity", "invalid": "scored 0"},
                        n=len(rows.answers), counts={"valid": n_valid, "invalid": len(rows.answers) - n_valid},
                        metrics={"identity": mean_metric(identity), "exact_match": mean_metric(exact),
                                 "validity": mean_metric(np.array([float(v) for v in rows.valid]))})


FAMILIES: dict[str, Callable[[Answers, str | None, TextScoring], MetricReport]] = {
    "text": _text, "molecule": _molecule, "number": _number, "classification": _classification,
    "sequence": _sequence,
}
