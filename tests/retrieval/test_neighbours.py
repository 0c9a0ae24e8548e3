"""ICMA neighbour files: round trip and malformed input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from molbridge.errors import FileFormatError
from molbridge.retrieval.neighbours import from_search, read_neighbours, write_neighbours


def test_round_trip_keeps_order_and_exact_scores(tmp_path: Path) -> None:
    scores = np.array([[0.9, 1 / 3, np.nan], [0.5, 0.25, 0.125]])
    indices = np.array([[2, 0, -1], [1, 2, 0]])
    neighbours = from_search(["q1", "q2"], ["a", "b", "c"], indices, scores)
    assert neighbours.ids("q1") == ["c", "a"]  # the padded slot is left out
    path = tmp_path / "test_10_shot_mol2cap_morgan.txt"
    write_neighbours(path, neighbours)
    assert path.read_text().splitlines()[0] == "q1\tc\t0.9"
    assert read_neighbours(path) == neighbours


@pytest.mark.parametrize(("text", "match"), [
    ("", "no neighbour rows"),
    ("q1\ta\n", "expected 3"),
    ("q1\ta\thigh\n", "not a number"),
    ("q1\ta\t0.5\nq2\tb\t0.4\nq1\tc\t0.3\n", "not contiguous"),
    ("q1\t\t0.5\n", "empty id"),
])
def test_malformed_files(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "n.txt"
    path.write_text(text)
    with pytest.raises(FileFormatError, match=match):
        read_neighbours(path)
