"""ChemProt (BioCreative VI, track 5) corpus directories: abstracts, entity mentions, chemical–protein relations.

One directory of the release (`chemprot_training/`, `chemprot_development/`, `chemprot_test_gs/`) holds
tab-separated files without headers:
- `*abstracts*.tsv`: PMID, title, abstract;
- `*entities*.tsv`: PMID, entity number (T1, T2, ...), type (CHEMICAL, GENE-Y, GENE-N), start, end
  (exclusive), text. Offsets index the title, the tab after it as one character, then the abstract, so
  the document text is title + " " + abstract and every mention is checked against it;
- `*relations*.tsv`: PMID, group (CPR:1 ... CPR:10), evaluated (Y/N), relation (INHIBITOR, ...),
  Arg1:Tn (the chemical), Arg2:Tm (the gene); where the directory has none, `*gold_standard*.tsv`:
  PMID, group, Arg1:Tn, Arg2:Tm.
Only the groups the shared task evaluated are read (`EVALUATED`: CPR:3 upregulator/activator, CPR:4
downregulator/inhibitor, CPR:5 agonist, CPR:6 antagonist, CPR:9 substrate/product of); relations of the
other groups are counted in the reading's counts, not reported.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path

from molbridge.data.formats.common import Problem
from molbridge.data.sources.biotext import checked_mentions
from molbridge.data.tables import read_text
from molbridge.errors import FileFormatError
from molbridge.tasks.documents import Document, Mention

SOURCE = "chemprot"
LICENSE = "public domain (BioCreative VI ChemProt annotations); PubMed abstracts under NLM's terms"
TYPES = ("CHEMICAL", "GENE-Y", "GENE-N")
EVALUATED = ("CPR:3", "CPR:4", "CPR:5", "CPR:6", "CPR:9")


def entity_class(kind: str) -> str:
    """CHEMICAL or GENE: GENE-Y (normalisable) and GENE-N mentions are both genes/proteins."""
    return "GENE" if kind.startswith("GENE") else kind


def read_chemprot(directory: str | Path, *, problems: list[Problem] | None = None,
                  counts: Counter | None = None) -> Iterator[Document]:
    """The documents of a ChemProt directory in abstracts-file order; a missing file raises here, at the call."""
    problems = problems if problems is not None else []
    counts = counts if counts is not None else Counter()
    abstracts, entities, relations = _files(Path(directory))
    texts = _abstracts(abstracts, problems)
    mentions = _grouped(_entities(entities, problems), texts, problems)
    links = _grouped(_relations(relations, problems, counts), texts, problems)
    return iter([_document(pmid, text, where, mentions.get(pmid, []), links.get(pmid, []), problems)
                 for pmid, (text, where) in texts.items()])


def _one(directory: Path, *patterns: str) -> Path:
    for pattern in patterns:
        found = sorted(directory.glob(pattern))
        if len(found) > 1:
            raise FileFormatError(str(directory), None, f"several {pattern} files: {', '.join(p.name for p in found)}")
        if found:
            return found[0]
    raise FileFormatError(str(directory), None, f"no {' or '.join(patterns)} file in this ChemProt directory")


def _files(directory: Path) -> tuple[Path, Path, Path]:
    if not directory.is_dir():
        raise FileFormatError(str(directory), None, "expected a ChemProt directory (abstracts, entities, relations)")
    return (_one(directory, "*abstracts*.tsv"), _one(directory, "*entities*.tsv"),
            _one(directory, "*relations*.tsv", "*gold_standard*.tsv"))


def _rows(path: Path) -> Iterator[tuple[str, list[str]]]:
    """Each non-blank line's tab-separated fields as written: only the line ending (`\n`, `\r\n`) is taken off.

    Offsets count every character of the title and abstract, so a title's leading or trailing space must stay
    (stripping it would shift every mention after it), and lines are split at `\n` only (`splitlines` would also
    split an abstract at a form feed or U+2028). The readers strip the id and number fields themselves.
    """
    for number, line in enumerate(read_text(path).split("\n"), start=1):
        line = line.removesuffix("\r")
        if line.strip():
            yield f"{path}:{number}", line.split("\t")


def _abstracts(path: Path, problems: list[Problem]) -> dict[str, tuple[str, str]]:
    """PMID → (title + " " + abstract, where)."""
    texts: dict[str, tuple[str, str]] = {}
    for where, fields in _rows(path):
        pmid = fields[0].strip()
        if len(fields) != 3 or not pmid:
            problems.append(Problem(where, f"expected PMID, title, abstract; got {len(fields)} fields"))
        elif pmid in texts:
            problems.append(Problem(where, f"PMID {pmid} again (first at {texts[pmid][1]})"))
        else:
            texts[pmid] = (f"{fields[1]} {fields[2]}", where)  # as written: the offsets count every character
    return texts


def _entities(path: Path, problems: list[Problem]) -> Iterator[tuple[str, str, Mention]]:
    for where, fields in _rows(path):
        if len(fields) != 6 or not (fields[3].strip().isdigit() and fields[4].strip().isdigit()):
            problems.append(Problem(where, "expected PMID, entity number, type, start, end, text"))
            continue
        pmid, number, kind, start, end = (field.strip() for field in fields[:5])
        text = fields[5]  # as written: it must equal the text at its span
        yield pmid, f"{where} PMID {pmid}", Mention(int(start), int(end), text, kind, number)


def _relations(path: Path, problems: list[Problem], counts: Counter
               ) -> Iterator[tuple[str, str, tuple[str, str, str]]]:
    for where, raw in _rows(path):
        fields = [field.strip() for field in raw]
        if len(fields) not in (4, 6):
            problems.append(Problem(where, "expected PMID, group, [evaluated, relation,] Arg1:Tn, Arg2:Tm"))
            continue
        pmid, group, first, second = fields[0], fields[1], fields[-2], fields[-1]
        if group not in EVALUATED:
            counts[f"relations of groups not evaluated ({group})"] += 1
        elif not (first.startswith("Arg1:") and second.startswith("Arg2:")):
            problems.append(Problem(f"{where} PMID {pmid}", f"arguments {first!r} {second!r} are not Arg1:Tn Arg2:Tm"))
        else:
            yield pmid, f"{where} PMID {pmid}", (group, first.removeprefix("Arg1:"), second.removeprefix("Arg2:"))


def _grouped(rows, texts: dict, problems: list[Problem]) -> dict[str, list]:
    """Rows by PMID; a row of a PMID the abstracts file lacks is a problem."""
    out: dict[str, list] = defaultdict(list)
    for pmid, where, value in rows:
        if pmid in texts:
            out[pmid].append((where, value))
        else:
            problems.append(Problem(where, "no abstract with this PMID"))
    return out


def _document(pmid: str, text: str, where: str, mentions: list[tuple[str, Mention]],
              relations: list[tuple[str, tuple[str, str, str]]], problems: list[Problem]) -> Document:
    kept = {m.identifier: m for m in checked_mentions(text, mentions, TYPES, entity_class, problems)}
    found = []
    for relation_where, (group, chemical, gene) in relations:
        reason = _argument_problem(kept, chemical, "CHEMICAL") or _argument_problem(kept, gene, "GENE")
        if reason:
            problems.append(Problem(relation_where, f"{group} relation: {reason}"))
        else:
            found.append((group, chemical, gene))
    return Document(pmid, text, tuple(kept.values()), tuple(found), f"{where} PMID {pmid}")


def _argument_problem(kept: dict[str, Mention], number: str, kind: str) -> str | None:
    if number not in kept:
        return f"names {number}, not a kept entity of the document"
    if entity_class(kept[number].type) != kind:
        return f"{number} is a {kept[number].type} mention, where a {kind} one belongs"
    return None
