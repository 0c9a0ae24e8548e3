"""UniProt proteins with Gene Ontology molecular-function annotations (Debian metastudent-data) joined with GO terms.

Each protein of the MF database comes with its accession and GO ids in its FASTA title
(`B0RED7|GO:0046933,GO:0046933`); the ids are joined with GO.db's names and definitions. Terms
missing from GO.db (obsolete since 2014) are dropped from the protein and counted; a protein left
with no known term, or whose sequence holds letters outside the amino-acid alphabet, is a problem.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from molbridge.data.formats.common import Problem
from molbridge.data.records import AMINO_ACIDS
from molbridge.protein.blastdb import BlastDB
from molbridge.protein.go import GOTerm, read_go_terms

SOURCE = "uniprot-go"
LICENSE = "CC BY 4.0 (UniProtKB via metastudent-data 2014; Gene Ontology via GO.db)"


@dataclass(frozen=True)
class AnnotatedProtein:
    accession: str
    sequence: str
    terms: list[GOTerm]
    where: str
    cluster: str | None = None  # accession of its cluster's representative, when clustered


def read_uniprot_go(proteins: str | Path, go_sqlite: str | Path, *,
                    problems: list[Problem] | None = None) -> Iterator[AnnotatedProtein]:
    """Proteins with their known MF terms, in database order."""
    terms = read_go_terms(go_sqlite)
    database = BlastDB(proteins)
    for i in range(len(database)):
        where = f"{proteins}[#{i}]"
        title = database.title(i)
        accession, _, ids = title.partition("|")
        sequence = database.sequence(i)
        known = [terms[g] for g in dict.fromkeys(ids.split(",")) if g in terms and terms[g].namespace == "MF"]
        bad = sorted(set(sequence) - AMINO_ACIDS)
        reason = (f"letters outside the amino-acid alphabet: {''.join(bad)}" if bad else
                  "no GO term known to GO.db" if not known else None)
        if reason:
            if problems is not None:
                problems.append(Problem(f"{where} {accession}", reason))
            continue
        yield AnnotatedProtein(accession, sequence, known, where)


def clustered(proteins: list[AnnotatedProtein], *, min_seq_id: float, coverage: float, method: str = "auto",
              threads: int = 1) -> tuple[list[AnnotatedProtein], str]:
    """The proteins with their cluster representative set, and the clustering method that ran."""
    from dataclasses import replace

    from molbridge.protein.cluster import cluster_sequences

    clusters, used = cluster_sequences({p.accession: p.sequence for p in proteins}, min_seq_id=min_seq_id,
                                       coverage=coverage, method=method, threads=threads)
    return [replace(p, cluster=clusters[p.accession]) for p in proteins], used
