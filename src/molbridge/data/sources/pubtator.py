"""BC5CDR-style annotated abstracts in their two published formats: PubTator text and BioC XML.

PubTator: `PMID|t|title`, `PMID|a|abstract`, one tab-separated line per mention (`PMID start end
mention type identifier`, an optional seventh field naming the parts of a composite mention; end
exclusive; offsets into title + " " + abstract) and per relation (`PMID CID chemical-MeSH
disease-MeSH`), a blank line between documents. BioC XML: `collection/document` with an `id`, its
`passage`s placed at their `offset`s, `annotation`s (a `type` and a `MESH` or `identifier` infon,
one `location`, the `text`) and `relation`s that name the chemical and disease MeSH ids as infons
(BC5CDR's BioC) or two annotations as nodes. The XML is parsed with defusedxml: a corpus file is
input from outside, and entity expansion must not be able to blow it up.

A relation must name ids that a kept mention of its document has; one that does not is reported.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path

from molbridge.data.formats.common import Problem
from molbridge.data.sources.biotext import checked_mentions
from molbridge.data.tables import read_text
from molbridge.errors import FileFormatError
from molbridge.tasks.documents import Document, Mention

SOURCE = "pubtator"
LICENSE = "public domain (BioCreative V CDR annotations, NCBI); PubMed abstracts under NLM's terms"
TYPES = ("Chemical", "Disease")
_HEADER = re.compile(r"^([^|\t]+)\|([ta])\|(.*)$")

Located = tuple[str, Mention]  # (where it was read, the mention)
LocatedRelation = tuple[str, tuple[str, str, str]]


def read_pubtator(path: str | Path, *, types: Sequence[str] = TYPES,
                  problems: list[Problem] | None = None) -> Iterator[Document]:
    """The documents of a PubTator file in file order; a file with no `PMID|t|title` line at all raises."""
    problems = problems if problems is not None else []
    blocks = list(_blocks(read_text(path)))
    if not any(_HEADER.match(line) for _, lines in blocks for _, line in lines):
        raise FileFormatError(str(path), None, "not a PubTator file: no 'PMID|t|title' line")
    return (doc for first, lines in blocks if (doc := _pubtator_document(str(path), first, lines, types, problems)))


def _blocks(text: str) -> Iterator[tuple[int, list[tuple[int, str]]]]:
    """Runs of non-blank lines (one document each) with their 1-based line numbers. Lines end at `\n` only: an
    abstract holding U+2028 or a form feed must stay whole, or every offset after it would shift."""
    block: list[tuple[int, str]] = []
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.removesuffix("\r")
        if line.strip():
            block.append((number, line.rstrip("\r")))
        elif block:
            yield block[0][0], block
            block = []
    if block:
        yield block[0][0], block


def _pubtator_document(path: str, first: int, lines: list[tuple[int, str]], types: Sequence[str],
                       problems: list[Problem]) -> Document | None:
    parts: dict[str, str] = {}
    pmid = ""
    mentions: list[Located] = []
    relations: list[LocatedRelation] = []
    for number, line in lines:
        header, fields = _HEADER.match(line), line.split("\t")
        where = f"{path}:{number}"
        if header:
            pmid = pmid or header[1]
            parts[header[2]] = header[3]
            continue
        if fields[0] != pmid:
            problems.append(Problem(where, f"PMID {fields[0]!r} differs from the document's {pmid!r}"))
        elif len(fields) >= 6 and fields[1].isdigit() and fields[2].isdigit():
            m = Mention(int(fields[1]), int(fields[2]), fields[3], fields[4], fields[5])
            mentions.append((f"{where} PMID {pmid}", m))
        elif len(fields) == 4:
            relations.append((f"{where} PMID {pmid}", (fields[1], fields[2], fields[3])))
        else:
            problems.append(Problem(where, "neither a mention (PMID, start, end, text, type, id) nor a relation "
                                           "(PMID, type, id, id)"))
    if "t" not in parts:
        problems.append(Problem(f"{path}:{first}", "a document without a 'PMID|t|title' line"))
        return None
    text = parts["t"] + " " + parts.get("a", "")
    return finished(pmid, text, mentions, relations, f"{path}:{first} PMID {pmid}", types, problems)


def finished(pmid: str, text: str, mentions: list[Located], relations: list[LocatedRelation], where: str,
             types: Sequence[str], problems: list[Problem]) -> Document:
    """The document with its checked mentions and the relations whose ids a kept mention has."""
    kept = checked_mentions(text, mentions, types, str, problems)
    ids = {i for m in kept for i in m.ids()}
    found = []
    for relation_where, (kind, first, second) in relations:
        missing = [i for i in (first, second) if i not in ids]
        if missing:
            problems.append(Problem(relation_where, f"{kind} relation names {missing[0]}, an id no kept mention of "
                                                    "the document has"))
        else:
            found.append((kind, first, second))
    return Document(pmid, text, tuple(kept), tuple(found), where)


def read_bioc(path: str | Path, *, types: Sequence[str] = TYPES,
              problems: list[Problem] | None = None) -> Iterator[Document]:
    """The documents of a BioC XML collection in file order; a file that is not BioC XML raises."""
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import ParseError, parse

    problems = problems if problems is not None else []
    try:
        root = parse(str(path)).getroot()
    except ParseError as err:
        raise FileFormatError(str(path), err.position[0], f"not XML: {err}") from None
    except DefusedXmlException as err:
        raise FileFormatError(str(path), None, f"refused XML: {err}") from None
    except OSError as err:
        raise FileFormatError(str(path), None, f"cannot be read: {err.strerror}") from None
    if root.tag != "collection":
        raise FileFormatError(str(path), None, f"not BioC XML: the root element is <{root.tag}>, not <collection>")
    return (doc for n, element in enumerate(root.findall("document"))
            if (doc := _bioc_document(f"{path}[#{n}]", element, types, problems)))


def _infons(element) -> dict[str, str]:
    return {str(i.get("key")): (i.text or "").strip() for i in element.findall("infon")}


def _bioc_document(position: str, element, types: Sequence[str], problems: list[Problem]) -> Document | None:
    pmid = (element.findtext("id") or "").strip()
    where = f"{position} PMID {pmid}"
    text = ""
    for passage in element.findall("passage"):
        offset = (passage.findtext("offset") or "0").strip()
        if not offset.isdigit() or int(offset) < len(text):
            problems.append(Problem(where, f"a passage at offset {offset!r} overlaps the one before it"))
            return None
        text += " " * (int(offset) - len(text)) + (passage.findtext("text") or "")
    mentions, identifiers = [], {}
    for annotation in element.iter("annotation"):
        found = _bioc_mention(f"{where} annotation {annotation.get('id')}", annotation, problems)
        if found:
            mentions.append(found)
            identifiers[annotation.get("id")] = found[1].identifier
    relations = []
    for relation in element.iter("relation"):
        infons, nodes = _infons(relation), relation.findall("node")
        kind = infons.get("relation") or infons.get("type") or ""
        if "Chemical" in infons and "Disease" in infons:
            relations.append((f"{where} relation {relation.get('id')}", (kind, infons["Chemical"], infons["Disease"])))
        elif len(nodes) == 2:
            first, second = (identifiers.get(node.get("refid"), str(node.get("refid"))) for node in nodes)
            relations.append((f"{where} relation {relation.get('id')}", (kind, first, second)))
        else:
            problems.append(Problem(f"{where} relation {relation.get('id')}", "names neither Chemical and Disease "
                                                                              "infons nor two annotation nodes"))
    return finished(pmid, text, mentions, relations, where, types, problems)


def _bioc_mention(where: str, annotation, problems: list[Problem]) -> Located | None:
    infons, locations = _infons(annotation), annotation.findall("location")
    if len(locations) != 1:
        problems.append(Problem(where, f"a mention at {len(locations)} locations (only contiguous ones are read)"))
        return None
    offset, length = locations[0].get("offset", ""), locations[0].get("length", "")
    if not (offset.isdigit() and length.isdigit()):
        problems.append(Problem(where, f"location offset {offset!r} / length {length!r} are not numbers"))
        return None
    identifier = infons.get("MESH") or infons.get("identifier") or infons.get("Identifier") or ""
    start = int(offset)
    return where, Mention(start, start + int(length), annotation.findtext("text") or "", infons.get("type", ""),
                          identifier)
