import math
from itertools import permutations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from molbridge.errors import ConventionError, MolbridgeError
from molbridge.eval.numeric import (
    HARTREE_EV,
    PLAUSIBILITY_WINDOWS,
    NumericInputError,
    UnitError,
    Window,
    convert,
    normalise_unit,
    numeric_report,
)
from molbridge.tasks.numbers import parse_number


@pytest.mark.parametrize(
    ("text", "value", "unit"),
    [
        ("The HOMO-LUMO gap is 5.2 eV.", 5.2, "eV"),
        ("LUMO: −1.25 eV", -1.25, "eV"),
        ("E = +3 kcal/mol", 3.0, "kcal/mol"),
        ("about 1.2e-3 Hartree", 1.2e-3, "hartree"),
        ("about 1.2E+3 Ha", 1200.0, "hartree"),
        ("roughly 1.2 × 10^-3 eV", 1.2e-3, "eV"),
        ("roughly 1.2 x 10^(−3) eV", 1.2e-3, "eV"),
        ("roughly 1.2 × 10⁻³ eV", 1.2e-3, "eV"),
        ("it is 10^4 eV", 1e4, "eV"),
        ("weight 1,234.5 g/mol", 1234.5, "g/mol"),
        ("weight 12,345 Da", 12345.0, "Da"),
        ("TPSA 40.5 Å²", 40.5, "Å²"),
        ("TPSA 40.5 A^2", 40.5, "Å²"),
        ("dG 12 kJ mol-1", 12.0, "kJ/mol"),
        ("dG 12 kJ·mol⁻¹", 12.0, "kJ/mol"),
        ("yield 95%", 95.0, "%"),
        ("glued 5.2eV", 5.2, "eV"),
        ("LogP is 3", 3.0, None),
        ("value .5 only", 0.5, None),
        ("C6H6 weighs 78.11 g/mol", 78.11, "g/mol"),
        ("3D-MoLM says 2nd guess 7.5", 7.5, None),
        ("list 1,2,3", 1.0, None),
        ("5 Hamiltonians", 5.0, None),
        ("5 Ehrlich flasks", 5.0, None),
        ("5 amusing days", 5.0, None),
    ],
)
def test_parse_number_cases(text, value, unit):
    parsed = parse_number(text)
    assert parsed is not None
    assert parsed.value == pytest.approx(value, rel=1e-12)
    assert parsed.unit == unit


@pytest.mark.parametrize("text", ["", "no idea", "3D-MoLM", "C6H6", "- ."])
def test_parse_number_none(text):
    assert parse_number(text) is None


def test_parsed_number_span_raw_unit_and_frozen():
    text = "I predict −1.2e-3 kcal mol-1 here"
    parsed = parse_number(text)
    assert text[slice(*parsed.span)] == "−1.2e-3"
    assert parsed.raw_unit == "kcal mol-1" and parsed.unit == "kcal/mol"
    with pytest.raises(AttributeError):
        parsed.value = 0.0


def _formats(x: float) -> list[str]:
    mantissa, exponent = f"{x:.15e}".split("e")
    times = f"{mantissa} × 10^{int(exponent)}"
    return [repr(x), f"{x:,}", f"{x:.15e}", f"{x:.17g}", times, times.replace("-", "−"), repr(x).replace("-", "−")]


@settings(max_examples=150, deadline=None)
@given(st.floats(min_value=-1e300, max_value=1e300))  # 16-digit rounding of ~1.8e308 overflows
def test_parse_number_round_trips_formatted_floats(x):
    for shown in _formats(x):
        parsed = parse_number(f"My answer: {shown} eV, I think.")
        assert parsed is not None, shown
        assert parsed.unit == "eV", shown
        assert math.isclose(parsed.value, x, rel_tol=1e-9), (shown, parsed.value)


def test_convert_codata_constants():
    assert convert(1.0, "hartree", "eV") == pytest.approx(27.211386245988, rel=1e-15)
    assert convert(1.0, "eV", "kcal/mol") == pytest.approx(23.060547830619, rel=1e-15)
    assert convert(1.0, "kcal/mol", "kJ/mol") == pytest.approx(4.184, rel=1e-15)
    assert convert(1.0, "Ha", "kcal/mol") == pytest.approx(627.5094740631, rel=1e-12)
    assert convert(2.5, "eV", "eV") == 2.5


def test_convert_round_trips_all_energy_pairs():
    values = np.array([-3.5, 0.0, 1e-6, 42.0])
    for a, b in permutations(["eV", "hartree", "kcal/mol", "kJ/mol"], 2):
        back = convert(convert(values, a, b), b, a)
        np.testing.assert_allclose(back, values, rtol=1e-13, atol=0)


def test_convert_rejects_unknown_and_mismatched_units():
    with pytest.raises(UnitError) as info:
        convert(1.0, "furlong", "eV")
    assert isinstance(info.value, MolbridgeError) and isinstance(info.value, ValueError)
    with pytest.raises(UnitError):
        convert(1.0, "eV", "g/mol")
    assert convert(180.2, "Da", "g/mol") == 180.2
    assert normalise_unit(" kcal mol^-1 ") == "kcal/mol"


def test_windows_follow_3dmolm_bounds():
    assert PLAUSIBILITY_WINDOWS["homo"].contains([-20.0, -19.99, 19.99, 20.0]).tolist() == [False, True, True, False]
    assert PLAUSIBILITY_WINDOWS["tpsa"].contains([0.0, 1999.9, 2000.0]).tolist() == [True, True, False]
    assert PLAUSIBILITY_WINDOWS["molecular_weight"].contains([0.0, 1.0]).tolist() == [False, True]
    assert PLAUSIBILITY_WINDOWS["scf_energy"].unit == "10^4 eV"
    assert Window(0.0, 1.0).contains([np.nan, np.inf, 0.5]).tolist() == [False, False, True]


def test_numeric_report_by_hand():
    preds = ["The HOMO is -5.5 eV", "about −6 eV", "no idea", "-25 eV", "0.2 hartree", "5 g/mol"]
    refs = [-5.0, -6.5, -5.0, -5.0, 5.0, 1.0]
    rep = numeric_report(preds, refs, window="homo", expected_unit="eV")
    errors = np.array([-0.5, 0.5, 0.2 * HARTREE_EV - 5.0])
    assert rep.counts == {"valid": 3, "no_number": 1, "bad_unit": 1, "out_of_window": 1}
    assert sum(rep.counts.values()) == rep.n == 6
    assert rep.values()["mae"] == pytest.approx(np.abs(errors).mean())
    assert rep.values()["rmse"] == pytest.approx(np.sqrt((errors**2).mean()))
    assert rep.values()["valid_ratio"] == pytest.approx(0.5)
    mae = rep.metrics["mae"]
    assert mae.n == mae.n_valid == 3 and mae.valid_only == mae.value
    assert mae.ci_low <= mae.value <= mae.ci_high
    assert rep.metrics["valid_ratio"].n == 6


def test_custom_window_and_no_unit_check():
    rep = numeric_report(["1.0 eV", "50", "x"], [1.5, 2.0, 0.0], window=(0.0, 10.0))
    assert rep.counts == {"valid": 1, "no_number": 1, "bad_unit": 0, "out_of_window": 1}
    assert rep.values()["mae"] == pytest.approx(0.5)
    assert any("not checked" in note for note in rep.notes)


def test_no_window_keeps_every_finite_number():
    rep = numeric_report(["1e999", "-2", None], [0.0, 0.0, 0.0], window=None)
    assert rep.counts == {"valid": 1, "no_number": 1, "bad_unit": 0, "out_of_window": 1}
    assert rep.values()["mae"] == 2.0


def test_scf_window_uses_dataset_units():
    rep = numeric_report(["SCF energy: -2.5", "-6.1"], [-2.4, -2.0], window="scf_energy")
    assert rep.counts["valid"] == 1 and rep.counts["out_of_window"] == 1
    with pytest.raises(ConventionError):
        numeric_report(["-2.5"], [-2.4], window="scf_energy", expected_unit="eV")


def test_all_invalid_gives_nan_with_note():
    rep = numeric_report(["nothing", "-99 eV"], [1.0, 2.0], window="lumo")
    assert math.isnan(rep.values()["mae"]) and math.isnan(rep.values()["rmse"])
    assert rep.values()["valid_ratio"] == 0.0
    assert rep.metrics["mae"].n_valid == 0
    assert any("no valid answers" in note for note in rep.notes)


@pytest.mark.parametrize(
    ("preds", "refs", "kwargs", "error"),
    [
        ([], [], {"window": None}, NumericInputError),
        (["1"], [1.0, 2.0], {"window": None}, NumericInputError),
        (["1"], [float("nan")], {"window": None}, NumericInputError),
        (["1"], [1.0], {"window": "boiling_point"}, ConventionError),
        (["1"], [1.0], {"window": (2.0, 2.0)}, ConventionError),
        (["1"], [1.0], {"window": None, "expected_unit": "furlong"}, UnitError),
    ],
    ids=["empty", "length", "nan-ref", "window-name", "window-order", "unit"],
)
def test_numeric_report_errors(preds, refs, kwargs, error):
    with pytest.raises(error):
        numeric_report(preds, refs, **kwargs)


def test_zero_resamples_gives_no_interval():
    rep = numeric_report(["1 eV", "3 eV"], [1.5, 2.0], window="homo", n_resamples=0)
    assert all(m.ci_low is None and m.ci_high is None for m in rep.metrics.values())
    assert rep.values()["mae"] == pytest.approx(0.75)
