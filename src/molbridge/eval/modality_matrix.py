"""The modality transition matrix of ChEBI-20-MM: which input modality suits which task.

SLM4Mol's paper draws one but its code never computes it, so molbridge defines it:
- **raw**: rows are input modalities, columns tasks (or output modalities); a cell is the task's
  primary metric for a model reading that input (NaN: the cell was not run or failed).
- **normalised**: each column min–max scaled over the inputs it was run on, so the best input of a
  task scores 1 and the worst 0; a lower-is-better metric (MAE) is flipped first. A column whose
  inputs all score the same gives each of them 1 (none is worse).
- **row-stochastic**: each row of the normalised matrix divided by its sum over the tasks it was
  run on — how one input modality's relative strength spreads over the tasks. A row that is the
  worst on every task it ran (sum 0) has no distribution: NaN.
Raw scores always travel with both, so a reader never sees a normalised value without its metric.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TransitionMatrix:
    inputs: list[str]
    tasks: list[str]
    higher_better: list[bool]
    raw: np.ndarray
    normalised: np.ndarray
    stochastic: np.ndarray

    def to_dict(self) -> dict:
        def table(values: np.ndarray) -> list[list[float | None]]:
            return [[None if np.isnan(v) else float(v) for v in row] for row in values]

        return {"inputs": self.inputs, "tasks": self.tasks, "higher_better": self.higher_better,
                "raw": table(self.raw), "normalised": table(self.normalised), "stochastic": table(self.stochastic)}


def transition_matrix(scores: Mapping[tuple[str, str], float], higher_better: Mapping[str, bool], *,
                      inputs: Sequence[str] | None = None, tasks: Sequence[str] | None = None) -> TransitionMatrix:
    """The matrix of (input, task) → primary metric scores; `higher_better[task]` says which way the metric goes.
    Row and column order: as given, else first seen."""
    inputs = list(inputs) if inputs is not None else list(dict.fromkeys(i for i, _ in scores))
    tasks = list(tasks) if tasks is not None else list(dict.fromkeys(t for _, t in scores))
    missing = [t for t in tasks if t not in higher_better]
    if missing:
        raise ValueError(f"say whether a higher score is better for: {', '.join(missing)}")
    raw = np.array([[scores.get((i, t), np.nan) for t in tasks] for i in inputs], dtype=float).reshape(
        len(inputs), len(tasks))
    oriented = np.where([higher_better[t] for t in tasks], raw, -raw)
    normalised = np.full_like(raw, np.nan)
    for column in range(len(tasks)):
        values = oriented[:, column]
        present = ~np.isnan(values)
        if not present.any():
            continue
        low, high = values[present].min(), values[present].max()
        normalised[present, column] = 1.0 if high == low else (values[present] - low) / (high - low)
    totals = np.nansum(normalised, axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        stochastic = np.where(totals > 0, normalised / totals, np.nan)
    return TransitionMatrix(inputs, tasks, [higher_better[t] for t in tasks], raw, normalised, stochastic)
