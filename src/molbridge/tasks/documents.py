"""What a text subject carries: an annotated abstract (PubTator, BioC, ChemProt) or a question.

They live with the tasks because the text tasks read them from a subject's facts, and the readers in
`data.sources` (a higher layer) build them, as a reaction subject carries a `chem.reactions.Reaction`.

Every text record names what it is about in `meta.extra[DOCUMENT]`: `pmid:<PMID>` for an abstract and
for a question about one, `question:<content hash>` for a question without a PMID. The `document` split
group (`data.splits`) keeps each such value on one side of every split, whichever source it came from.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

DOCUMENT = "document"  # the meta.extra key a text record's split group is read from


def pmid_document(pmid: str) -> str:
    """The `meta.extra[DOCUMENT]` value of a text about PubMed article `pmid`."""
    return f"pmid:{pmid}"


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
    file: str = ""  # a short hash of the file it was read from: ids are unique within a file only

    def content_key(self) -> str:
        """A hash of the question, options and context (whitespace collapsed, case ignored): two rows asking the
        same thing share it whatever their ids, so deduplication and splits go by it."""
        parts = (self.question, *self.options, "\x1e", self.context)
        normalised = "\x1f".join(" ".join(part.casefold().split()) for part in parts)
        return hashlib.sha256(normalised.encode()).hexdigest()[:16]

    def document(self) -> str:
        """The `meta.extra[DOCUMENT]` value of this question: its abstract's PMID, else its content hash."""
        return pmid_document(self.pmid) if self.pmid else f"question:{self.content_key()}"
