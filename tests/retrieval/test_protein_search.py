"""Nearest proteins by MMseqs2 and the copy baseline of protein tasks on real UniProt/GO proteins: a mutated
protein finds its original, identical pool sequences tie to the first, a query can exclude itself, an empty or
unrelated sequence finds nothing, and a yes/no question is answered by whether the neighbour has the term."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from molbridge.apps.copy_baseline import copy_answers
from molbridge.data.fetch import uniprot_go_paths
from molbridge.data.sources.uniprot_go import read_uniprot_go
from molbridge.protein.search import nearest_sequences
from molbridge.records import make_record
from tests.conftest import records_of

AMINO = "ACDEFGHIKLMNPQRSTVWY"


@pytest.fixture(scope="module")
def proteins():
    found = itertools.islice(read_uniprot_go(*uniprot_go_paths(), problems=[]), 400)
    return [p for p in found if 120 <= len(p.sequence) <= 400][:12]


def mutated(sequence: str, rate: float, seed: int) -> str:
    rng = np.random.default_rng(seed)
    return "".join(rng.choice(list(AMINO)) if rng.random() < rate else a for a in sequence)


def test_a_mutated_protein_finds_its_original_and_ties_go_to_the_first(proteins) -> None:
    pool = [p.sequence for p in proteins[:8]] + [proteins[2].sequence]  # position 8 repeats position 2
    rng = np.random.default_rng(1)
    unrelated = "".join(rng.choice(list(AMINO), size=200))
    queries = [mutated(pool[5], 0.1, 0), pool[2], "", unrelated]
    hits = nearest_sequences(pool, queries, k=2, exclude=[[], [2], [], []])
    assert hits.indices[0, 0] == 5 and 0.8 < hits.identity[0, 0] < 0.97
    assert hits.indices[1].tolist()[0] == 8 and hits.identity[1, 0] == 1.0  # itself excluded: its twin
    assert hits.indices[2].tolist() == [-1, -1] and np.isnan(hits.bits[2]).all()
    assert hits.indices[3, 0] == -1  # random residues align to nothing
    twins = nearest_sequences(pool, [pool[2]], k=2)
    assert twins.indices[0].tolist() == [2, 8] and twins.bits[0, 0] == twins.bits[0, 1]


def test_copy_baseline_of_protein_tasks_reads_the_nearest_proteins_answers(proteins) -> None:
    train = [r for p in proteins[:8] for r in records_of("uniprot_go", p, ("protein_description",
                                                                           "protein_go_yes_no"))]
    source = next(p for p in proteins[:8] if len(p.terms) > 1)
    query = mutated(source.sequence, 0.1, 2)
    its_yes = next(r.meta.extra["go_id"] for r in train if r.input == source.sequence and r.output == "Yes")
    asked = next(t.go_id for t in source.terms if t.go_id != its_yes)  # a term its own question did not ask
    other = next(t.go_id for p in proteins[:8] if p is not source for t in p.terms
                 if t.go_id not in {s.go_id for s in source.terms})
    test = [make_record(id=f"q-{label}", task="protein_go_yes_no", instruction=f"Has it {go_id}?", input=query,
                        output="", modalities={"protein_sequence": query},
                        meta={"source": "test", "extra": {"go_id": go_id, "label": label}})
            for label, go_id in (("yes", asked), ("no", other))]
    test.append(make_record(id="q-text", task="protein_description", instruction="Describe it.", input=query,
                            output="", modalities={"protein_sequence": query}, meta={"source": "test"}))
    copied = copy_answers(train, test)
    described = next(r.output for r in train if r.task == "protein_description" and r.input == source.sequence)
    assert copied == {"q-yes": "Yes", "q-no": "No", "q-text": described}
