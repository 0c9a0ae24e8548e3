"""The checks the PubTator, BioC and ChemProt readers share for their items, annotated abstracts
(`tasks.documents.Document`).

A document is a PubMed title and abstract as one text (title, one separator character, abstract:
the layout both BC5CDR and ChemProt count their offsets in; molbridge writes the separator as a
space), the mentions annotated in it and its relations. Every mention is checked against the text
before it is kept: offsets inside the text, the mention's text equal to `text[start:end]`, a type the
source knows, and no overlap with an earlier mention of the same class (the later one, by start
offset and then file order, is reported and dropped; the document is kept). Overlaps across classes
are kept: ChemProt annotates a chemical inside a gene name ("dopamine" in "dopamine D2 receptor") on
purpose.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from molbridge.data.formats.common import Problem
from molbridge.tasks.documents import Mention


def checked_mentions(text: str, mentions: Iterable[tuple[str, Mention]], types: Iterable[str],
                     kind_of: Callable[[str], str], problems: list[Problem]) -> list[Mention]:
    """The mentions (each with where it was read) that fit `text`, in offset order; the others become problems.

    `types` are the mention types the source reads; `kind_of` maps a type to its class for the overlap rule.
    """
    known = set(types)
    fitting = []
    for where, m in mentions:
        if m.type not in known:
            problems.append(Problem(where, f"unknown entity type {m.type!r} (known: {', '.join(sorted(known))})"))
        elif not 0 <= m.start < m.end <= len(text):
            problems.append(Problem(where, f"span {m.start}-{m.end} is outside the text ({len(text)} characters)"))
        elif text[m.start:m.end] != m.text:
            problems.append(Problem(where, f"mention {m.text!r} differs from the text at {m.start}-{m.end}: "
                                           f"{text[m.start:m.end]!r}"))
        else:
            fitting.append((where, m))
    kept: list[Mention] = []
    for where, m in sorted(fitting, key=lambda pair: pair[1].start):  # stable: file order breaks ties
        clash = next((k for k in kept if kind_of(k.type) == kind_of(m.type) and k.start < m.end and m.start < k.end),
                     None)
        if clash is not None:
            problems.append(Problem(where, f"mention {m.text!r} at {m.start}-{m.end} overlaps {clash.text!r} at "
                                           f"{clash.start}-{clash.end}; the later one is dropped"))
        else:
            kept.append(m)
    return kept
