"""The modality transition matrix on fixed scores, checked by hand: min–max per task with MAE flipped, equal
columns, cells not run, the row-stochastic form and its undefined rows."""

from __future__ import annotations

import math

import numpy as np
import pytest

from molbridge.eval.modality_matrix import transition_matrix


def test_hand_checked_matrix() -> None:
    scores = {("smiles", "caption"): 0.5, ("selfies", "caption"): 0.3, ("iupac", "caption"): 0.4,
              ("smiles", "xlogp"): 2.0, ("selfies", "xlogp"): 4.0,  # iupac → xlogp was not run
              ("smiles", "same"): 0.7, ("selfies", "same"): 0.7, ("iupac", "same"): 0.7}
    matrix = transition_matrix(scores, {"caption": True, "xlogp": False, "same": True})
    assert matrix.inputs == ["smiles", "selfies", "iupac"] and matrix.tasks == ["caption", "xlogp", "same"]
    assert math.isnan(matrix.raw[2, 1]) and matrix.raw[1, 1] == 4.0
    np.testing.assert_allclose(matrix.normalised, [[1.0, 1.0, 1.0], [0.0, 0.0, 1.0], [0.5, np.nan, 1.0]])
    np.testing.assert_allclose(matrix.stochastic, [[1 / 3, 1 / 3, 1 / 3], [0.0, 0.0, 1.0], [1 / 3, np.nan, 2 / 3]])
    as_json = matrix.to_dict()
    assert as_json["normalised"][2][1] is None and as_json["higher_better"] == [True, False, True]


def test_a_row_worst_everywhere_has_no_distribution_and_order_can_be_given() -> None:
    matrix = transition_matrix({("a", "t"): 1.0, ("b", "t"): 0.0}, {"t": True}, inputs=["b", "a"], tasks=["t"])
    assert matrix.inputs == ["b", "a"] and math.isnan(matrix.stochastic[0, 0]) and matrix.stochastic[1, 0] == 1.0


def test_a_task_without_a_direction_is_refused() -> None:
    with pytest.raises(ValueError, match="higher score is better for: mae_task"):
        transition_matrix({("a", "mae_task"): 1.0}, {})
