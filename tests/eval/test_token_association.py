"""The IUPAC → caption token association on fixed inputs, checked by hand: token lists by frequency, counts
with multiplicity, SLM4Mol's ordering and scale, neighbourhood statistics, and a planted association found
by the seeded Z-score sweep."""

from __future__ import annotations

import math

import numpy as np

from molbridge.eval.token_association import (
    T_GRID,
    associate,
    cooccurrence,
    neighbourhood_stats,
    ordered,
    select_tokens,
    specific,
    z_scores,
)


def words(text: str) -> list[str]:
    return text.split()


def test_tokens_by_document_frequency_with_letters_and_no_stop_words() -> None:
    texts = ["2-methyl propanoic acid 1", "methyl acid a", "acid of acid"]
    assert select_tokens(texts, words, 2) == ["acid", "2-methyl"]  # "1" and "a" lack two letters; ties by token
    assert select_tokens(texts, words, 9, stop=frozenset({"of"})) == ["acid", "2-methyl", "methyl", "propanoic"]


def test_counts_multiply_occurrences_and_order_then_scale_as_slm4mol() -> None:
    counts = cooccurrence(["a b a", "c"], ["x y", "x"], ["a", "b", "c"], ["x", "y"], words)
    np.testing.assert_array_equal(counts, [[2, 2], [1, 1], [1, 0]])
    matrix, rows, columns = ordered(counts, ["a", "b", "c"], ["x", "y"])
    assert rows == ["c", "b", "a"] and columns == ["x", "y"]  # rows by ascending sum, columns by descending sum
    np.testing.assert_array_equal(matrix, [[1, 0], [1, 1], [2, 2]])


def test_neighbourhoods_exclude_the_centre_and_stop_at_the_border() -> None:
    peak = np.zeros((3, 3))
    peak[1, 1] = 1.0
    means, stds = neighbourhood_stats(peak)
    assert means[1, 1] == 0 and stds[1, 1] == 0
    assert means[0, 0] == 1 / 3 and math.isclose(stds[0, 0], math.sqrt(2) / 3)  # neighbours 0, 0, 1
    assert means[0, 1] == 1 / 5  # five neighbours at an edge
    assert specific(peak, 3.0).sum() == 1 and specific(peak, 3.0)[1, 1]


def test_a_planted_association_is_found_and_the_sweep_is_seeded() -> None:
    rng = np.random.default_rng(1)
    rows = ["methyl", "ethyl", "propyl", "oxo", "hydroxy", "amino", "chloro", "phenyl"]
    columns = ["ester", "ketone", "alcohol", "amine", "acid", "aromatic", "halide", "ether"]
    sources, outputs = [], []
    for _ in range(400):  # every token pair co-occurs by chance; hydroxy → alcohol is planted
        sources.append(" ".join(rng.choice(rows, size=2)))
        outputs.append(" ".join(rng.choice(columns, size=2)))
    sources += ["hydroxy"] * 60
    outputs += ["alcohol"] * 60
    found = associate(sources, outputs, words, k=8, seed=0)
    assert found.pairs[0][:2] == ("hydroxy", "alcohol") and found.pairs[0][2] == 1.0
    assert found.threshold == T_GRID[int(np.argmax(found.z_scores))] and found.z_scores.max() > 0
    again = z_scores(found.normalised, seed=0)
    np.testing.assert_array_equal(again, found.z_scores)
    assert not np.array_equal(z_scores(found.normalised, seed=1), found.z_scores)


def test_a_token_paired_with_itself_is_not_reported() -> None:
    found = associate(["acid"] * 5 + ["ester"], ["acid"] * 5 + ["ester"], words, k=2)
    assert all(iupac != caption for iupac, caption, _ in found.pairs)


def test_texts_without_usable_tokens_are_refused() -> None:
    import pytest

    with pytest.raises(ValueError, match="no IUPAC token"):
        associate(["1 2", "a"], ["acid"], words)
