"""The copy baseline answers every row the model answered: rows it cannot answer are scored invalid, not dropped."""

from __future__ import annotations

from molbridge.apps.copy_baseline import baseline_predictions, copy_answers
from molbridge.apps.predict import Prediction
from molbridge.apps.scoring import score_predictions
from molbridge.records import make_record


def rec(rid: str, task: str, smiles: str | None, output: str, **extra):
    return make_record(id=rid, task=task, input=smiles or "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEV", output=output,
                       modalities={"smiles": smiles} if smiles else {"protein_sequence": "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEV"},
                       meta={"source": "test", "extra": extra})


def predicted(record, kind: str) -> Prediction:
    group = f"{record.task}:{record.meta.extra['property']}" if "property" in record.meta.extra else record.task
    return Prediction(record.id, record.task, kind, group, record.output, "", "", False)


def test_rows_without_a_retriever_pool_or_neighbour_are_kept_and_scored_invalid() -> None:
    train = [rec("t1", "computed_property", "CCO", "The molecular weight is 46.07 g/mol.", property="mol_weight",
                 unit="g/mol", value=46.07),
             rec("t2", "molecule_description", "CCCO", "Propanol.")]
    test = [rec("q1", "computed_property", "CCCO", "The molecular weight is 60.10 g/mol.", property="mol_weight",
                unit="g/mol", value=60.10),
            rec("q2", "computed_property", "CCCO", "The LogP is 0.39.", property="logp", unit="", value=0.39),
            rec("q3", "protein_function", None, "The protein's molecular functions are: kinase."),
            rec("q4", "molecule_description", "C1CC", "A broken ring.")]
    copied = copy_answers(train, test)
    assert copied == {"q1": "The molecular weight is 46.07 g/mol.",  # nearest molecule, same property
                      "q2": "",  # no training record asks for LogP
                      "q3": "",  # no training protein asked for its functions
                      "q4": ""}  # the query molecule cannot be read: no neighbour
    kinds = ["number", "number", "text", "text"]
    predictions = [predicted(r, kind) for r, kind in zip(test, kinds, strict=True)]
    baseline = baseline_predictions(predictions, train, test)
    assert [b.id for b in baseline] == ["q1", "q2", "q3", "q4"]
    assert [b.valid for b in baseline] == [True, False, False, False]
    reports = score_predictions(baseline)
    assert {group: report.n for group, report in reports.items()} == {
        "computed_property:mol_weight": 1, "computed_property:logp": 1, "protein_function": 1,
        "molecule_description": 1}
