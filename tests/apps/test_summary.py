"""The report's verdict per group: headline metric, direction, units, ties and the valid-answer rule."""

from __future__ import annotations

import math

from molbridge.apps.predict import Prediction
from molbridge.apps.report import ReportPage, write_report
from molbridge.apps.scoring import score_predictions
from molbridge.apps.summary import metric_unit, tally, verdict, verdicts


def numbers(answers: list[str], values: list[float], group: str = "property_prediction:homo") -> list[Prediction]:
    return [Prediction(f"r{i}", "property_prediction", "number", group, str(v), a, a, True, 1,
                       {"property": "homo", "unit": "Ha", "value": v})
            for i, (a, v) in enumerate(zip(answers, values, strict=True))]


def molecules(answers: list[str], references: list[str]) -> list[Prediction]:
    return [Prediction(f"m{i}", "molecule_design", "smiles", "molecule_design", r, a, a, bool(a), 1, {})
            for i, (a, r) in enumerate(zip(answers, references, strict=True))]


def scored(predictions: list[Prediction]):
    return next(iter(score_predictions(predictions).values()))


def test_lower_mae_wins_and_is_normalised_copy_over_model() -> None:
    values = [-0.30, -0.25, -0.20]
    model = scored(numbers(["-0.31", "-0.25", "-0.21"], values))
    copy = scored(numbers(["-0.34", "-0.29", "-0.16"], values))
    found = verdict("property_prediction:homo", "property_prediction", model, copy)
    assert found.metric == "mae" and not found.higher_is_better and found.unit == "hartree"
    assert found.winner == "model"
    assert math.isclose(found.normalised, copy.metrics["mae"].value / model.metrics["mae"].value)
    assert found.normalised > 1


def test_a_smaller_mae_over_fewer_valid_answers_is_no_win() -> None:
    values = [-0.30, -0.25, -0.20]
    model = scored(numbers(["-0.30", "no idea", "none"], values))  # one valid, exact
    copy = scored(numbers(["-0.34", "-0.29", "-0.16"], values))
    assert model.metrics["mae"].value < copy.metrics["mae"].value
    assert verdict("g", "property_prediction", model, copy).winner == "copy"


def test_equal_answers_tie_and_higher_similarity_wins() -> None:
    references = ["CCO", "c1ccccc1O", "CC(=O)O"]
    same = scored(molecules(["CCO", "c1ccccc1", "CC(=O)OC"], references))
    tie = verdict("molecule_design", "molecule_design", same, same)
    assert tie.winner == "tie" and tie.normalised == 1.0 and tie.unit == "Tanimoto, 0–1"
    worse = scored(molecules(["CCCCCCCC", "", "N"], references))
    assert verdict("molecule_design", "molecule_design", same, worse).winner == "model"
    assert verdict("molecule_design", "molecule_design", worse, same).winner == "copy"


def test_units_name_every_metric() -> None:
    report = scored(numbers(["-0.31"], [-0.3]))
    assert metric_unit("mae", report) == "hartree" and metric_unit("valid_ratio", report) == "fraction, 0–1"
    unitless = scored([Prediction("a", "computed_property", "number", "computed_property:logp", "1.2", "1.0", "1.0",
                                  True, 1, {"property": "logp", "value": 1.2})])
    assert metric_unit("mae", unitless) == "unitless"


def test_the_report_opens_with_the_verdict_and_units(tmp_path) -> None:
    values = [-0.30, -0.25, -0.20]
    predictions = numbers(["-0.31", "-0.25", "-0.21"], values)
    baseline = numbers(["-0.34", "-0.29", "-0.16"], values)
    reports, copies = score_predictions(predictions), score_predictions(baseline)
    found = verdicts(reports, copies, {p.group: p.task for p in predictions})
    assert tally(found) == {"model": 1, "copy": 0, "tie": 0, "none": 0}
    write_report(tmp_path / "r.html", ReportPage("t", "s", "n", reports, copies, predictions,
                                                 timings={"build": 12.0, "train": 30.0}))
    page = (tmp_path / "r.html").read_text()
    assert page.index("<h2>Summary</h2>") < page.index("<h2>Metrics</h2>")
    assert "the model wins 1, ties 0 and loses 0 of 1 groups" in page and "hartree" in page
    assert "build 12 s, train 30 s (total 42 s)" in page and page.count("data:image/png;base64,") == 1


def test_a_similarity_over_fewer_valid_molecules_is_compared_over_every_answer() -> None:
    references = ["CCO", "c1ccccc1O", "CC(=O)O"]
    few = scored(molecules(["CCO", "", ""], references))  # one valid answer, exact: valid-only similarity 1.0
    copy = scored(molecules(["CCN", "c1ccccc1", "CC(=O)OC"], references))
    assert few.metrics["morgan_fts"].value > copy.metrics["morgan_fts"].value
    found = verdict("molecule_design", "molecule_design", few, copy)
    assert found.winner == "copy" and found.normalised < 1
