"""Numeric answers in free text: parsing, energy units, plausibility windows, MAE/RMSE.

Follows 3D-MoLM's property-QA evaluation (read_generalist_results.py): take the first number in
the answer, keep it only if it lies in the property's plausibility window, and report MAE over
the kept ("valid") answers together with the valid ratio. Answers are read by
`molbridge.tasks.numbers.parse_number`, the parser answer extraction uses too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from molbridge.errors import ConventionError, MolbridgeError
from molbridge.eval.bootstrap import DEFAULT_RESAMPLES, bootstrap_interval, mean_interval
from molbridge.eval.results import MetricReport, MetricValue
from molbridge.tasks.numbers import UNIT_PATTERNS, parse_number

HARTREE_EV = 27.211386245988  # CODATA 2018: eV per hartree
EV_KCAL_MOL = 23.060547830619  # kcal/mol per eV
KCAL_KJ = 4.184  # kJ per thermochemical kcal


class NumericInputError(MolbridgeError, ValueError):
    """Predictions and references that cannot be scored: empty, unequal lengths, non-finite refs."""


class UnitError(MolbridgeError, ValueError):
    """A unit name that is unknown, or a conversion between units of different quantities."""


@dataclass(frozen=True)
class Window:
    """A plausibility interval; open unless a bound is marked closed (as 3D-MoLM writes `0 <=`)."""

    low: float
    high: float
    low_closed: bool = False
    high_closed: bool = False
    unit: str | None = None  # informational: the unit the references are expressed in

    def contains(self, values: np.ndarray) -> np.ndarray:
        """Elementwise membership; NaN and ±inf are never inside."""
        v = np.asarray(values, dtype=np.float64)
        above = v >= self.low if self.low_closed else v > self.low
        below = v <= self.high if self.high_closed else v < self.high
        return np.isfinite(v) & above & below


# 3D-MoLM's windows, bounds exactly as in their evaluation script. SCF energies in their data are
# expressed in units of 10^4 eV, so (-5, 0) means -50,000 eV < E < 0.
PLAUSIBILITY_WINDOWS: Mapping[str, Window] = MappingProxyType(
    {
        "homo": Window(-20.0, 20.0, unit="eV"),
        "lumo": Window(-20.0, 20.0, unit="eV"),
        "homo_lumo_gap": Window(-20.0, 20.0, unit="eV"),
        "scf_energy": Window(-5.0, 0.0, unit="10^4 eV"),
        "molecular_weight": Window(0.0, 4000.0, unit="g/mol"),
        "logp": Window(-30.0, 50.0),
        "tpsa": Window(0.0, 2000.0, low_closed=True, unit="Å²"),
        "complexity": Window(0.0, 10000.0, low_closed=True),
    }
)

# canonical unit -> (quantity, factor to that quantity's base unit)
_SCALE: Mapping[str, tuple[str, float]] = MappingProxyType(
    {
        "eV": ("energy", 1.0),
        "hartree": ("energy", HARTREE_EV),
        "kcal/mol": ("energy", 1.0 / EV_KCAL_MOL),
        "kJ/mol": ("energy", 1.0 / (EV_KCAL_MOL * KCAL_KJ)),
        "g/mol": ("molar mass", 1.0),
        "Da": ("molar mass", 1.0),
        "Å²": ("area", 1.0),
        "Å": ("length", 1.0),
        "%": ("percent", 1.0),
    }
)



def normalise_unit(unit: str) -> str:
    """Canonical spelling of a unit ("Ha" → "hartree", "kcal mol-1" → "kcal/mol")."""
    text = unit.strip()
    for pattern, canon in UNIT_PATTERNS:
        if pattern.fullmatch(text):
            return canon
    raise UnitError(f"unknown unit {unit!r}; known: {', '.join(_SCALE)}")


def convert(value: float | np.ndarray, from_unit: str, to_unit: str) -> float | np.ndarray:
    """Convert between units of one quantity (energies: eV, hartree, kcal/mol, kJ/mol; CODATA)."""
    src, dst = normalise_unit(from_unit), normalise_unit(to_unit)
    (q_src, f_src), (q_dst, f_dst) = _SCALE[src], _SCALE[dst]
    if q_src != q_dst:
        raise UnitError(f"cannot convert {q_src} ({src}) to {q_dst} ({dst})")
    if src == dst:
        return value
    return value * (f_src / f_dst)


def _resolve_window(window: Window | tuple[float, float] | str | None) -> Window | None:
    if window is None or isinstance(window, Window):
        return window
    if isinstance(window, str):
        if window not in PLAUSIBILITY_WINDOWS:
            raise ConventionError(f"unknown window {window!r}; known: {', '.join(PLAUSIBILITY_WINDOWS)}")
        return PLAUSIBILITY_WINDOWS[window]
    low, high = (float(b) for b in window)
    if not low < high:
        raise ConventionError(f"window needs low < high, got ({low}, {high})")
    return Window(low, high)


def _check_window_unit(win: Window | None, expected: str | None) -> None:
    """Refuse a window stated in a different scale than the answers are converted to."""
    if win is None or win.unit is None or expected is None:
        return
    try:
        same = convert(1.0, win.unit, expected) == 1.0
    except UnitError:
        same = False
    if not same:
        raise ConventionError(f"window is in {win.unit} but answers are converted to {expected}")


def _error_metric(errors: np.ndarray, rms: bool, n_resamples: int, seed: int) -> MetricValue:
    nv = errors.shape[0]
    if nv == 0:
        return MetricValue(value=float("nan"), n=0, valid_only=float("nan"), n_valid=0)
    stats = errors**2 if rms else np.abs(errors)
    value = float(np.sqrt(stats.mean())) if rms else float(stats.mean())
    agg = (lambda s: np.sqrt(s / nv)) if rms else (lambda s: s / nv)
    low, high = bootstrap_interval(stats, agg, n_resamples=n_resamples, seed=seed)
    return MetricValue(value=value, n=nv, ci_low=low, ci_high=high, valid_only=value, n_valid=nv)


def numeric_report(
    predictions: Sequence[str | None],
    references: Sequence[float] | np.ndarray,
    *,
    window: Window | tuple[float, float] | str | None,
    expected_unit: str | None = None,
    seed: int = 0,
    n_resamples: int = DEFAULT_RESAMPLES,
    task: str = "numeric",
) -> MetricReport:
    """MAE and RMSE over valid answers (3D-MoLM's valid-only convention) plus the valid ratio.

    An answer is valid when a number parses, its unit (if written and `expected_unit` is given)
    converts to `expected_unit`, and the converted value lies in `window` (a tuple is an open
    interval; a name picks from PLAUSIBILITY_WINDOWS). Every item lands in exactly one of the
    counts valid / no_number / bad_unit / out_of_window, which add up to n.
    """
    refs = np.asarray(references, dtype=np.float64)
    n = len(predictions)
    if n == 0:
        raise NumericInputError("no predictions to score")
    if refs.shape != (n,):
        raise NumericInputError(f"{n} predictions but references have shape {refs.shape}")
    if not np.isfinite(refs).all():
        raise NumericInputError(f"references hold {int((~np.isfinite(refs)).sum())} non-finite value(s)")
    win = _resolve_window(window)
    expected = normalise_unit(expected_unit) if expected_unit is not None else None
    _check_window_unit(win, expected)

    values = np.full(n, np.nan)
    reason = np.full(n, "no_number", dtype=object)
    unchecked_units = 0
    for i, text in enumerate(predictions):
        parsed = parse_number(text) if isinstance(text, str) else None
        if parsed is None:
            continue
        value = parsed.value
        if parsed.unit is not None and expected is not None:
            try:
                value = float(convert(value, parsed.unit, expected))
            except UnitError:
                reason[i] = "bad_unit"
                continue
        elif parsed.unit is not None:
            unchecked_units += 1
        values[i] = value
        reason[i] = "parsed"
    parsed_mask = reason == "parsed"
    inside = win.contains(values) if win is not None else np.isfinite(values)
    reason[parsed_mask & ~inside] = "out_of_window"
    valid = parsed_mask & inside
    reason[valid] = "valid"

    errors = values[valid] - refs[valid]
    n_valid = int(valid.sum())
    ratio = valid.astype(np.float64)
    low, high = mean_interval(ratio, n_resamples=n_resamples, seed=seed)
    metrics = {
        "mae": _error_metric(errors, False, n_resamples, seed),
        "rmse": _error_metric(errors, True, n_resamples, seed),
        "valid_ratio": MetricValue(value=n_valid / n, n=n, ci_low=low, ci_high=high),
    }
    counts = {key: int((reason == key).sum()) for key in ("valid", "no_number", "bad_unit", "out_of_window")}
    notes: list[str] = []
    if n_valid == 0:
        notes.append("no valid answers: mae and rmse are NaN")
    if unchecked_units:
        notes.append(f"{unchecked_units} answer(s) carried a unit that was not checked (no expected_unit given)")
    convention = {
        "average": "valid-only (3D-MoLM)",
        "parse": "first number in the text",
        "window": None if win is None else [win.low, win.high, win.low_closed, win.high_closed],
        "window_unit": None if win is None else win.unit,
        "expected_unit": expected,
        "n_resamples": n_resamples,
        "seed": seed,
    }
    return MetricReport(task=task, convention=convention, n=n, metrics=metrics, counts=counts, notes=notes)
