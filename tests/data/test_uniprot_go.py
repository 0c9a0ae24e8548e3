"""UniProt/GO proteins on the real Debian data: GO ids obsolete since 2014 are dropped and counted, not silently."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest

from molbridge.data.fetch import uniprot_go_paths
from molbridge.data.sources.uniprot_go import (
    OBSOLETE_TERMS,
    OTHER_NAMESPACE_TERMS,
    PROTEINS_WITH_OBSOLETE,
    read_uniprot_go,
)
from molbridge.errors import MissingResourceError


@pytest.fixture(scope="module")
def paths():
    try:
        return uniprot_go_paths(fetch=False)
    except MissingResourceError:
        pytest.skip("UniProt/GO data not fetched (molbridge data fetch uniprot-go)")


def test_obsolete_terms_are_dropped_and_counted_per_kept_protein(paths):
    counts, problems, kept = Counter(), [], {}
    for protein in read_uniprot_go(*paths, problems=problems, counts=counts):
        kept[protein.accession] = [t.go_id for t in protein.terms]
        if protein.where.endswith("[#57]"):
            break
    # the obsolete ids of #15 B1YNJ6 (GO:0016876), #16 Q1C286 (GO:0036439, GO:0050662), #24 Q6BJX6
    # (GO:0008026) and #57 O69460 (GO:0004003, GO:0008026); #43 Q75D58 has only GO:0001104, so it is a problem
    assert counts == {OBSOLETE_TERMS: 6, PROTEINS_WITH_OBSOLETE: 4, OTHER_NAMESPACE_TERMS: 0}
    assert "GO:0016876" not in kept["B1YNJ6"] and "GO:0016874" in kept["B1YNJ6"]
    assert "Q75D58" not in kept
    assert [(p.where, p.reason) for p in problems if p.where.endswith("Q75D58")] == [  # named by Debian package
        ("metastudent-data:usr/share/metastudent-data/dataset_201401/MFO/goasp.fasta[#43] Q75D58",
         "no GO term known to GO.db")]


def test_counts_over_the_first_two_thousand_proteins(paths):
    counts, problems = Counter(), []
    found = list(itertools.islice(read_uniprot_go(*paths, problems=problems, counts=counts), 2000))
    assert len(found) == 2000 and len(problems) == 61
    assert counts[OBSOLETE_TERMS] == 165 and counts[PROTEINS_WITH_OBSOLETE] == 138
