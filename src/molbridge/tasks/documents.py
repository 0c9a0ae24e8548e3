"""What a text subject carries: an annotated abstract (PubTator, BioC, ChemProt) or a question.

They live with the tasks because the text tasks read them from a subject's facts, and the readers in
`data.sources` (a higher layer) build them, as a reaction subject carries a `chem.reactions.Reaction`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mention:
    start: int
    end: int  # exclusive
    text: str
    type: str  # as the corpus writes it: Chemical, Disease (BC5CDR); CHEMICAL, GENE-Y, GENE-N (ChemProt)
    identifier: str  # MeSH id(s) joined by "|" (BC5CDR; "-1": none), or the entity number T1, T2, ... (ChemProt)

    def ids(self) -> list[str]:
        """The concept ids of a BC5CDR mention (a composite mention names several)."""
        return [part for part in self.identifier.split("|") if part and part != "-1"]


@dataclass(frozen=True)
class Document:
    pmid: str
    text: str
    mentions: tuple[Mention, ...]
    relations: tuple[tuple[str, str, str], ...]  # (type, argument 1, argument 2): ("CID", chemical MeSH, disease
    # MeSH) in BC5CDR, ("CPR:4", chemical T-number, gene T-number) in ChemProt
    where: str


@dataclass(frozen=True)
class QAItem:
    id: str
    type: str  # one of TYPES
    question: str
    answer: str  # an option letter, yes/no/maybe, or free text
    options: tuple[str, ...]
    context: str
    pmid: str
    where: str
