"""Gene Ontology term names, namespaces, definitions and the molecular-function hierarchy from Bioconductor's
GO.db SQLite file.

Debian's `r-bioc-go.db` ships `GO.sqlite` with the table `go_term(go_id, term, ontology,
definition)` (43,559 terms; GO is CC BY 4.0). Reading it needs only the standard library.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from molbridge.errors import FileFormatError

NAMESPACES = {"MF": "molecular function", "BP": "biological process", "CC": "cellular component"}
ROOTS = {"GO:0003674", "GO:0008150", "GO:0005575"}  # the three namespace roots say nothing about a protein


@dataclass(frozen=True)
class GOTerm:
    go_id: str
    name: str
    namespace: str  # MF, BP or CC
    definition: str


def read_go_terms(path: str | Path) -> dict[str, GOTerm]:
    """Every GO term by id; a file that is not GO.db's SQLite raises FileFormatError."""
    path = Path(path)
    if not path.is_file():
        raise FileFormatError(str(path), None, "GO.sqlite not found")
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
            rows = connection.execute("SELECT go_id, term, ontology, definition FROM go_term").fetchall()
    except sqlite3.DatabaseError as err:
        raise FileFormatError(str(path), None, f"not GO.db's SQLite file: {err}") from None
    return {go_id: GOTerm(go_id, name, namespace, (definition or "").strip()) for go_id, name, namespace, definition
            in rows if go_id not in ROOTS}


@dataclass(frozen=True)
class MFRelations:
    """The molecular-function terms of GO.db and, for each, the terms above or below it (transitively)."""

    names: dict[str, str]  # MF term id → name, in id order
    related: dict[str, frozenset[str]]  # MF term id → its ancestors and descendants


@lru_cache(maxsize=2)
def mf_relations(path: str) -> MFRelations:
    """Read once per process (a build worker asks for every protein): GO.db's `go_mf_offspring` closure."""
    terms = {go_id: t.name for go_id, t in sorted(read_go_terms(path).items()) if t.namespace == "MF"}
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
            pairs = connection.execute(
                "SELECT a.go_id, b.go_id FROM go_mf_offspring o JOIN go_term a ON a._id = o._id "
                "JOIN go_term b ON b._id = o._offspring_id").fetchall()
    except sqlite3.DatabaseError as err:
        raise FileFormatError(str(path), None, f"no GO molecular-function hierarchy: {err}") from None
    related: dict[str, set[str]] = {go_id: set() for go_id in terms}
    for ancestor, descendant in pairs:
        related.setdefault(ancestor, set()).add(descendant)
        related.setdefault(descendant, set()).add(ancestor)
    return MFRelations(terms, {go_id: frozenset(found) for go_id, found in related.items()})
