"""UniProt proteins with Gene Ontology molecular-function annotations (Debian metastudent-data) joined with GO terms.

Each protein of the MF database comes with its accession and GO ids in its FASTA title
(`B0RED7|GO:0046933,GO:0046933`); the ids are joined with GO.db's names and definitions. Terms
missing from GO.db (obsolete since 2014) are dropped from the protein and counted in `counts`
(one `Problem` per such protein would bury the real problems: 29,797 of the 447,022 proteins
kept lose 33,804 ids); a protein left with no known term (12,481), or whose sequence holds
letters outside the amino-acid alphabet, is a problem.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from molbridge.data.formats.common import Problem
from molbridge.data.sources.paths import display_path
from molbridge.protein.blastdb import BlastDB
from molbridge.protein.go import GOTerm, read_go_terms
from molbridge.records import AMINO_ACIDS

SOURCE = "uniprot-go"
LICENSE = "CC BY 4.0 (UniProtKB via metastudent-data 2014; Gene Ontology via GO.db)"


@dataclass(frozen=True)
class AnnotatedProtein:
    accession: str
    sequence: str
    terms: list[GOTerm]
    where: str
    cluster: str | None = None  # accession of its cluster's representative, when clustered


# the keys `read_uniprot_go` increments in its `counts`
OBSOLETE_TERMS = "obsolete_go_terms"  # GO ids absent from GO.db, dropped from the proteins kept
PROTEINS_WITH_OBSOLETE = "proteins_with_obsolete_terms"  # proteins kept that lost at least one such id
OTHER_NAMESPACE_TERMS = "non_mf_go_terms"  # ids GO.db now files outside molecular function (5 ids)


def read_uniprot_go(proteins: str | Path, go_sqlite: str | Path, *, problems: list[Problem] | None = None,
                    counts: Counter[str] | None = None) -> Iterator[AnnotatedProtein]:
    """Proteins with their known MF terms, in database order.

    `counts` (when given) is incremented as the proteins are yielded, under `OBSOLETE_TERMS`,
    `PROTEINS_WITH_OBSOLETE` and `OTHER_NAMESPACE_TERMS`, for the proteins kept only: a protein
    dropped because no term is left is a `Problem` instead.
    """
    terms = read_go_terms(go_sqlite)
    database = BlastDB(proteins)
    shown = display_path(proteins)  # metastudent-data:usr/share/..., the same on every machine
    for i in range(len(database)):
        where = f"{shown}[#{i}]"
        title = database.title(i)
        accession, _, ids = title.partition("|")
        sequence = database.sequence(i)
        unique = list(dict.fromkeys(ids.split(",")))
        known = [terms[g] for g in unique if g in terms and terms[g].namespace == "MF"]
        bad = sorted(set(sequence) - AMINO_ACIDS)
        reason = (f"letters outside the amino-acid alphabet: {''.join(bad)}" if bad else
                  "no GO term known to GO.db" if not known else None)
        if reason:
            if problems is not None:
                problems.append(Problem(f"{where} {accession}", reason))
            continue
        if counts is not None:
            _count_dropped(unique, terms, counts)
        yield AnnotatedProtein(accession, sequence, known, where)


def _count_dropped(ids: list[str], terms: dict[str, GOTerm], counts: Counter[str]) -> None:
    """Count a kept protein's ids that were dropped: absent from GO.db (obsolete) or outside MF."""
    obsolete = sum(1 for g in ids if g not in terms)
    counts[OBSOLETE_TERMS] += obsolete
    counts[PROTEINS_WITH_OBSOLETE] += int(obsolete > 0)
    counts[OTHER_NAMESPACE_TERMS] += sum(1 for g in ids if g in terms and terms[g].namespace != "MF")


def clustered(proteins: list[AnnotatedProtein], *, min_seq_id: float, coverage: float, method: str = "auto",
              threads: int = 1) -> tuple[list[AnnotatedProtein], str]:
    """The proteins with their cluster representative set, and the clustering method that ran."""
    from dataclasses import replace

    from molbridge.protein.cluster import cluster_sequences

    clusters, used = cluster_sequences({p.accession: p.sequence for p in proteins}, min_seq_id=min_seq_id,
                                       coverage=coverage, method=method, threads=threads)
    return [replace(p, cluster=clusters[p.accession]) for p in proteins], used
