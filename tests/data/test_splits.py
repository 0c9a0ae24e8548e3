"""Splits: a molecule (or scaffold) never spans two splits; fractions hold; assignment is per record."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest

from molbridge.data.sources.qm9 import read_qm9
from molbridge.data.splits import SplitError, assign_splits, group_key, split_of
from molbridge.records import make_record


def rec(rid, smiles=None, protein=None):
    return make_record(id=rid, task="t", modalities={"smiles": smiles, "protein_sequence": protein},
                       meta={"source": "test"})


@pytest.fixture(scope="module")
def qm9_records():
    return [rec(f"{m.index}-{task}", m.smiles) for m in itertools.islice(read_qm9(), 3000) for task in ("a", "b")]


def test_random_split_keeps_each_molecule_and_its_stereoisomers_together(qm9_records):
    split = assign_splits(qm9_records, "random", (0.8, 0.1, 0.1), seed=1)
    by_molecule = {}
    for r in split:
        by_molecule.setdefault(r.id.split("-")[0], set()).add(r.meta.split)
    assert all(len(s) == 1 for s in by_molecule.values())
    counts = Counter(r.meta.split for r in split)
    assert abs(counts["train"] / len(split) - 0.8) < 0.03 and counts["test"] > 0 and counts["validation"] > 0
    assert group_key(rec("l", "C[C@H](N)C(=O)O"), "random") == group_key(rec("d", "C[C@@H](N)C(=O)O"), "random")


def test_scaffold_split_puts_each_scaffold_in_one_split(qm9_records):
    split = assign_splits(qm9_records, "scaffold", (0.8, 0.1, 0.1))
    by_scaffold = {}
    for r in split:
        by_scaffold.setdefault(group_key(r, "scaffold"), set()).add(r.meta.split)
    assert all(len(s) == 1 for s in by_scaffold.values())
    ring_groups = [k for k in by_scaffold if k.startswith("scaffold:")]
    assert len(ring_groups) > 100 and len({next(iter(by_scaffold[k])) for k in ring_groups}) == 3


def test_assignment_does_not_depend_on_chunks_or_order(qm9_records):
    whole = {r.id: r.meta.split for r in assign_splits(qm9_records, seed=3)}
    parts = assign_splits(qm9_records[::-1][:100], seed=3) + assign_splits(qm9_records[::-1][100:], seed=3)
    assert {r.id: r.meta.split for r in parts} == whole
    assert split_of("mol:X", (1, 0, 0)) == "train" and split_of("mol:X", (0, 0, 1)) == "test"


def test_records_without_molecules_and_bad_settings():
    assert group_key(rec("p", protein="MKV"), "scaffold") == group_key(rec("q", protein="MKV"), "random")
    assert group_key(rec("p", protein="MKV"), "scaffold").startswith("protein:")
    assert group_key(rec("bad", "C1CC"), "random") == "record:bad"
    with pytest.raises(SplitError):
        assign_splits([], "butina")
    with pytest.raises(SplitError):
        assign_splits([], fractions=(0.5, 0.6, 0.1))


def test_cluster_split_groups_proteins_by_cluster():
    a = make_record(id="a", task="t", modalities={"protein_sequence": "MKV"},
                    meta={"source": "u", "source_id": "A", "extra": {"cluster": "REP"}})
    b = make_record(id="b", task="t", modalities={"protein_sequence": "MKI"},
                    meta={"source": "u", "source_id": "B", "extra": {"cluster": "REP"}})
    assert group_key(a, "cluster") == group_key(b, "cluster") == "cluster:REP"
    assert group_key(a, "random") == group_key(rec("x", protein="MKV"), "random") != group_key(b, "random")
