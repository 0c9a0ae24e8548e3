"""Every group of predictions scored by the engine's metric for its answer kind, with intervals.

text → `score_mol2text` (BLEU, ROUGE, METEOR under the declared text convention);
smiles / selfies / inchi → `score_text2mol` under `molt5-strict` (SELFIES and InChI converted to
SMILES first; an unreadable answer stays invalid); number → `numeric_report` (MAE/RMSE over valid
answers and the valid ratio, units converted to the reference's, 3D-MoLM plausibility windows
where one applies); yes_no → `classification_report`; protein → identity (normalised
Levenshtein similarity) and exact match with bootstrap intervals, invalid sequences scored 0.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np
from rapidfuzz.distance import Levenshtein

from molbridge.eval.bootstrap import mean_metric
from molbridge.eval.conventions import get_convention
from molbridge.eval.results import MetricReport
from molbridge.train.extract import as_smiles
from molbridge.train.predict import Prediction

# the 3D-MoLM window of each computed property (meta "property" → PLAUSIBILITY_WINDOWS name)
_WINDOWS = {"homo": "homo", "lumo": "lumo", "gap": "homo_lumo_gap", "mol_weight": "molecular_weight",
            "logp": "logp", "tpsa": "tpsa", "bertz_complexity": "complexity"}
_UNITS = {"Ha": "hartree", "eV": "eV", "g/mol": "g/mol", "A^2": "Å²"}


def score_predictions(predictions: Sequence[Prediction], *, text_convention: str = "whitespace",
                      text_tokenizer: str | None = None) -> dict[str, MetricReport]:
    """group → report, groups in first-seen order."""
    groups: dict[str, list[Prediction]] = defaultdict(list)
    for p in predictions:
        groups[p.group].append(p)
    return {group: score_group(rows, text_convention=text_convention, text_tokenizer=text_tokenizer)
            for group, rows in groups.items()}


def score_group(rows: Sequence[Prediction], *, text_convention: str = "whitespace",
                text_tokenizer: str | None = None) -> MetricReport:
    kind, task = rows[0].kind, rows[0].group
    references, answers = [r.reference for r in rows], [r.prediction for r in rows]
    if kind == "text":
        from molbridge.eval.text_metrics import score_mol2text

        return score_mol2text(references, answers, get_convention(text_convention, text_tokenizer=text_tokenizer))
    if kind in ("smiles", "selfies", "inchi"):
        from molbridge.eval.mol_metrics import score_text2mol

        if kind != "smiles":
            references = [as_smiles(kind, r) or r for r in references]
            answers = [as_smiles(kind, a) or "" for a in answers]
        return score_text2mol(references, answers, get_convention("molt5-strict"), workers=1)
    if kind == "number":
        from molbridge.eval.numeric import numeric_report

        prop, unit = rows[0].meta.get("property"), rows[0].meta.get("unit")
        values = [float(r.meta["value"]) for r in rows]
        window = _WINDOWS.get(prop) if unit in ("eV", "g/mol", "A^2", "") else None
        return numeric_report(answers, values, window=window, expected_unit=_UNITS.get(unit), task=task)
    if kind == "yes_no":
        from molbridge.eval.classification import classification_report

        return classification_report([r.strip().lower().rstrip(".") for r in references],
                                     [a or None for a in answers], labels=["no", "yes"], task=task)
    identity = np.array([Levenshtein.normalized_similarity(a, r) if p.valid else 0.0
                         for a, r, p in zip(answers, references, rows, strict=True)])
    exact = np.array([float(a == r) for a, r in zip(answers, references, strict=True)])
    n_valid = sum(p.valid for p in rows)
    return MetricReport(task=task, convention={"name": "sequence-identity", "invalid": "scored 0"}, n=len(rows),
                        metrics={"identity": mean_metric(identity), "exact_match": mean_metric(exact),
                                 "validity": mean_metric(np.array([float(p.valid) for p in rows]))},
                        counts={"valid": n_valid, "invalid": len(rows) - n_valid})
